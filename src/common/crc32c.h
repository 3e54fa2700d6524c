/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 and
 * RocksDB: stronger than zlib's CRC32 on short bursts and computed by one SSE4.2 instruction.
 *
 * Incremental like zlib's crc32: crc32c(0, ...) starts, and feeding the pieces of a buffer in
 * order, each call taking the previous result, gives the same value as one call on the whole.
 * Thread-safe; the tables are built on first use. */
#ifndef CATENA_COMMON_CRC32C_H
#define CATENA_COMMON_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Uses the hardware instruction when the CPU has it, the software tables otherwise. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The two implementations, for tests: crc32c_hw may be called only when
 * crc32c_hw_available() is true (x86-64 with SSE4.2). */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);
uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len);
bool crc32c_hw_available(void);

#endif
