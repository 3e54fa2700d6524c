/* CRC32C: the standard check value, incremental use, and hardware == software. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/crc32c.h"
#include "common/rng.h"

#include <stdio.h>
#include <string.h>

static void check_value_matches_the_standard(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    /* RFC 3720 (iSCSI) B.4: 32 bytes of zeroes, and of 0xff. */
    uint8_t zeros[32] = {0}, ones[32];
    memset(ones, 0xff, sizeof ones);
    assert_int_equal(crc32c(0, zeros, 32), 0x8A9136AAu);
    assert_int_equal(crc32c(0, ones, 32), 0x62A8AB43u);
}

static void empty_input_changes_nothing(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, NULL, 0), 0);
    assert_int_equal(crc32c(0x12345678u, "", 0), 0x12345678u);
    assert_int_equal(crc32c_sw(0xE3069283u, NULL, 0), 0xE3069283u);
}

static void fill_random(struct rng *r, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rng_next(r);
}

/* Random cut points, so pieces of every size and alignment meet the 8-byte loops. */
static void incremental_equals_one_shot(void **state)
{
    (void)state;
    struct rng r;
    rng_seed(&r, 42);
    uint8_t data[4096];
    fill_random(&r, data, sizeof data);
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)rng_below(&r, sizeof data + 1);
        uint32_t whole = crc32c(0, data, len), whole_sw = crc32c_sw(0, data, len);
        assert_int_equal(whole, whole_sw);
        uint32_t crc = 0;
        for (size_t pos = 0; pos < len;) {
            size_t piece = (size_t)rng_below(&r, rng_below(&r, 2) ? 17 : len - pos + 1);
            if (piece > len - pos)
                piece = len - pos;
            crc = round % 2 ? crc32c_sw(crc, data + pos, piece) : crc32c(crc, data + pos, piece);
            pos += piece;
        }
        assert_int_equal(crc, whole);
    }
}

static void hardware_equals_software(void **state)
{
    (void)state;
    if (!crc32c_hw_available()) {
        fprintf(stderr, "no SSE4.2 crc32 instruction here: software path only\n");
        return;
    }
    struct rng r;
    rng_seed(&r, 7);
    uint8_t data[1024 + 8];
    for (size_t len = 0; len <= 1024; len++) {
        size_t offset = len % 8; /* unaligned starts as well */
        fill_random(&r, data + offset, len);
        uint32_t seed = (uint32_t)rng_next(&r);
        assert_int_equal(crc32c_hw(0, data + offset, len), crc32c_sw(0, data + offset, len));
        assert_int_equal(crc32c_hw(seed, data + offset, len),
                         crc32c_sw(seed, data + offset, len));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_value_matches_the_standard),
        cmocka_unit_test(empty_input_changes_nothing),
        cmocka_unit_test(incremental_equals_one_shot),
        cmocka_unit_test(hardware_equals_software),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
