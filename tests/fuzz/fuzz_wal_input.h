/* How fuzz_wal turns its input bytes into a directory of segment files (gen_corpus.c writes
 * seeds in the same layout). Integers little-endian.
 *
 *   u8 control   bits 0-1: number of segment files - 1 (1 to 4)
 *                bit 2:    recompute every record's CRC before writing (so that mutations reach
 *                          the checks behind the checksum, as a buggy writer's log would)
 *                bit 3:    extend every file shorter than FUZZ_WAL_SEGMENT_BYTES with zeros, as
 *                          preallocation leaves it (so inputs need not carry the zeros)
 *                bits 4-7: type of the record appended once the log is open
 *   per segment: u8 name, u16 length, then `length` bytes of file content (cut short by the end
 *                of the input; a segment whose name or length is missing is not written)
 *                name 0: the first sequence number in the file's own header (bytes 8-15; 1 if
 *                the file is shorter); 1-127: that number; 128-255: the header's number plus
 *                (name - 192), so a neighbour of the right name. Files are named as the log
 *                names them, `<16 hex digits>.wal`; a later segment with the same name replaces
 *                an earlier one.
 *   the rest:    the payload of the record appended once the log is open. */
#ifndef CATENA_TESTS_FUZZ_WAL_INPUT_H
#define CATENA_TESTS_FUZZ_WAL_INPUT_H

#define FUZZ_WAL_SEGMENT_BYTES 4096 /* the segment size the log is opened with */
#define FUZZ_WAL_RESEAL 0x04
#define FUZZ_WAL_PAD 0x08
#define FUZZ_WAL_NAME_FROM_HEADER 0
#define FUZZ_WAL_NAME_OFFSET 192 /* name byte of the header's own number in the 128-255 range */

#endif
