/* Software: slice-by-8 (eight table lookups per 8 input bytes, ~1 byte/cycle). Hardware: the
 * SSE4.2 crc32 instruction, 8 bytes per instruction, chosen once at run time so one binary
 * runs on every x86-64 CPU; other architectures always use the tables. */
#include "common/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC32C_X86 1
#include <nmmintrin.h>
#endif

#define CRC32C_POLY 0x82F63B78u

/* table[0] is the classic byte-at-a-time table; table[k][b] is the CRC of byte b followed
 * by k zero bytes, which lets eight bytes be folded in with independent lookups. */
static uint32_t crc32c_table[8][256];
static bool crc32c_use_hw;
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++)
            c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc32c_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++) {
            uint32_t prev = crc32c_table[k - 1][b];
            crc32c_table[k][b] = (prev >> 8) ^ crc32c_table[0][prev & 0xff];
        }
#ifdef CRC32C_X86
    crc32c_use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t crc32c_sw_raw(uint32_t c, const uint8_t *p, size_t len)
{
    const uint32_t(*t)[256] = (const uint32_t(*)[256])crc32c_table;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t v = load_le64(p) ^ c;
        c = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^
            t[4][(v >> 24) & 0xff] ^ t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^
            t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
    }
    for (; len > 0; p++, len--)
        c = (c >> 8) ^ t[0][(c ^ *p) & 0xff];
    return c;
}

uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
    return ~crc32c_sw_raw(~crc, data, len);
}

#ifdef CRC32C_X86
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw_raw(uint32_t c, const uint8_t *p,
                                                                size_t len)
{
    uint64_t c64 = c;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t v;
        memcpy(&v, p, 8); /* x86 is little-endian; memcpy is an unaligned load */
        c64 = _mm_crc32_u64(c64, v);
    }
    c = (uint32_t)c64;
    for (; len > 0; p++, len--)
        c = _mm_crc32_u8(c, *p);
    return c;
}

uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len)
{
    return ~crc32c_hw_raw(~crc, data, len);
}
#else
uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len)
{
    return crc32c_sw(crc, data, len); /* never chosen: crc32c_hw_available() is false */
}
#endif

bool crc32c_hw_available(void)
{
    pthread_once(&crc32c_once, crc32c_init);
    return crc32c_use_hw;
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
    if (crc32c_use_hw)
        return crc32c_hw(crc, data, len);
    return ~crc32c_sw_raw(~crc, data, len);
}
