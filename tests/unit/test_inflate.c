/* Bounded decompression (common/inflate.h): gzip, zlib and raw deflate round trips, concatenated gzip
 * members, truncated input, garbage, trailing bytes, and a 1 GiB bomb stopped at the cap with the
 * buffer never larger than the cap. */
#include "inflate.h"
#include "ts_zlib.h"

#include "ts.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MIB (1024u * 1024u)

static unsigned char *sample(size_t n)
{
    unsigned char *p = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (i % 7 == 0) ? (unsigned char)(x >> 24) : (unsigned char)"spans and logs"[i % 14];
    }
    return p;
}

static void round_trip(inflate_format_t fmt, int wbits, size_t n)
{
    unsigned char *plain = sample(n);
    buf_t z, out;
    buf_init(&z, 64 * MIB);
    buf_init(&out, 64 * MIB);
    ts_deflate(wbits, plain, n, &z);
    char err[128] = "";
    ck_assert_msg(inflate_bounded(fmt, z.data, z.len, n, &out, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(out.len, n);
    ck_assert(memcmp(out.data, plain, n) == 0);
    /* one byte less room is a bomb, not a success */
    buf_reset(&out);
    if (n > 0) ck_assert_int_eq(inflate_bounded(fmt, z.data, z.len, n - 1, &out, err, sizeof(err)), -2);
    buf_dispose(&z);
    buf_dispose(&out);
    free(plain);
}

START_TEST(round_trips_in_every_wrapper)
{
    size_t sizes[] = {1, 100, 70000, 3 * MIB};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
        round_trip(INFLATE_GZIP, 16 + 15, sizes[i]);
        round_trip(INFLATE_DEFLATE, 15, sizes[i]);
        round_trip(INFLATE_DEFLATE, -15, sizes[i]);
    }
}
END_TEST

START_TEST(empty_payload_compresses_and_empty_input_does_not)
{
    buf_t z, out;
    buf_init(&z, MIB);
    buf_init(&out, MIB);
    ts_deflate(16 + 15, "", 0, &z);
    ck_assert_int_eq(inflate_bounded(INFLATE_GZIP, z.data, z.len, 10, &out, NULL, 0), 0);
    ck_assert_uint_eq(out.len, 0);
    char err[128] = "";
    ck_assert_int_eq(inflate_bounded(INFLATE_GZIP, "", 0, 10, &out, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "empty"));
    buf_dispose(&z);
    buf_dispose(&out);
}
END_TEST

START_TEST(concatenated_gzip_members)
{
    buf_t z, out;
    buf_init(&z, MIB);
    buf_init(&out, MIB);
    ts_deflate(16 + 15, "hello, ", 7, &z);
    ts_deflate(16 + 15, "world", 5, &z);
    char err[128] = "";
    ck_assert_msg(inflate_bounded(INFLATE_GZIP, z.data, z.len, 100, &out, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(out.data, "hello, world");
    buf_dispose(&z);
    buf_dispose(&out);
}
END_TEST

START_TEST(truncated_input_is_malformed)
{
    unsigned char *plain = sample(50000);
    inflate_format_t fmts[] = {INFLATE_GZIP, INFLATE_DEFLATE, INFLATE_DEFLATE};
    int wbits[] = {16 + 15, 15, -15};
    for (int f = 0; f < 3; f++) {
        buf_t z, out;
        buf_init(&z, MIB);
        buf_init(&out, MIB);
        ts_deflate(wbits[f], plain, 50000, &z);
        size_t cuts[] = {1, 2, 5, 10, z.len / 2, z.len - 4, z.len - 1};
        for (size_t i = 0; i < sizeof(cuts) / sizeof(*cuts); i++) {
            char err[128] = "";
            buf_reset(&out);
            int rc = inflate_bounded(fmts[f], z.data, cuts[i], MIB, &out, err, sizeof(err));
            ck_assert_msg(rc == -1, "format %d cut at %zu: rc %d", f, cuts[i], rc);
            ck_assert(err[0] != '\0');
        }
        buf_dispose(&z);
        buf_dispose(&out);
    }
    free(plain);
}
END_TEST

START_TEST(garbage_is_malformed)
{
    buf_t out;
    buf_init(&out, MIB);
    const char *junk[] = {"not compressed at all", "\x1f\x8b\x08\x00garbage!!garbage", "\x78\x9c\xff\xff\xff",
                          "\x1f"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(*junk); i++) {
        char err[128] = "";
        buf_reset(&out);
        ck_assert_int_eq(inflate_bounded(INFLATE_GZIP, junk[i], strlen(junk[i]), MIB, &out, err, sizeof(err)),
                         -1);
        ck_assert(err[0] != '\0');
    }
    /* a gzip header where deflate is expected, and a bad gzip CRC */
    buf_t z;
    buf_init(&z, MIB);
    ts_deflate(16 + 15, "payload", 7, &z);
    ck_assert_int_eq(inflate_bounded(INFLATE_DEFLATE, z.data, z.len, MIB, &out, NULL, 0), -1);
    z.data[z.len - 6] ^= 0x55;
    buf_reset(&out);
    ck_assert_int_eq(inflate_bounded(INFLATE_GZIP, z.data, z.len, MIB, &out, NULL, 0), -1);
    buf_dispose(&z);
    buf_dispose(&out);
}
END_TEST

START_TEST(trailing_garbage_is_malformed)
{
    int wbits[] = {16 + 15, 15, -15};
    inflate_format_t fmts[] = {INFLATE_GZIP, INFLATE_DEFLATE, INFLATE_DEFLATE};
    for (int f = 0; f < 3; f++) {
        buf_t z, out;
        buf_init(&z, MIB);
        buf_init(&out, MIB);
        ts_deflate(wbits[f], "payload", 7, &z);
        ck_assert_int_eq(buf_append(&z, "JUNK", 4), 0);
        char err[128] = "";
        ck_assert_int_eq(inflate_bounded(fmts[f], z.data, z.len, MIB, &out, err, sizeof(err)), -1);
        ck_assert_msg(strstr(err, "trailing") != NULL || f == 2, "%d: %s", f, err);
        buf_dispose(&z);
        buf_dispose(&out);
    }
}
END_TEST

/* A gzip header followed by the same sync-flushed deflate block of 1 MiB of zeros repeated 1024 times:
 * 1 GiB of output from about 1 MiB of input, no final block (the decoder never gets that far). */
static void build_bomb(buf_t *bomb)
{
    static const unsigned char gz_header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    unsigned char *zeros = calloc(1, MIB), *block = malloc(64 * 1024);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = zeros;
    zs.avail_in = MIB;
    zs.next_out = block;
    zs.avail_out = 64 * 1024;
    ck_assert_int_eq(deflate(&zs, Z_FULL_FLUSH), Z_OK);
    ck_assert_uint_eq(zs.avail_in, 0);
    size_t block_len = 64 * 1024 - zs.avail_out;
    deflateEnd(&zs);
    ck_assert_int_eq(buf_append(bomb, gz_header, sizeof(gz_header)), 0);
    for (int i = 0; i < 1024; i++)
        ck_assert_int_eq(buf_append(bomb, block, block_len), 0);
    free(zeros);
    free(block);
}

START_TEST(bomb_stops_at_the_cap)
{
    buf_t bomb, out;
    buf_init(&bomb, 16 * MIB);
    build_bomb(&bomb);
    ck_assert_uint_lt(bomb.len, 8 * MIB);
    size_t cap = 4 * MIB;
    buf_init(&out, 1024 * MIB); /* the buffer's own cap is far larger: max_out alone must stop it */
    char err[128] = "";
    ck_assert_int_eq(inflate_bounded(INFLATE_GZIP, bomb.data, bomb.len, cap, &out, err, sizeof(err)), -2);
    ck_assert_uint_le(out.len, cap);
    ck_assert_uint_le(out.cap, cap + 1);
    ck_assert_ptr_nonnull(strstr(err, "exceeds"));
    /* the buffer's cap stops it too */
    buf_t small;
    buf_init(&small, 1 * MIB);
    ck_assert_int_eq(inflate_bounded(INFLATE_GZIP, bomb.data, bomb.len, SIZE_MAX, &small, NULL, 0), -2);
    ck_assert_uint_le(small.cap, 1 * MIB + 1);
    /* the raw deflate reading of the same blocks is stopped as well */
    buf_reset(&out);
    ck_assert_int_eq(inflate_bounded(INFLATE_DEFLATE, bomb.data + 10, bomb.len - 10, cap, &out, NULL, 0), -2);
    ck_assert_uint_le(out.cap, cap + 1);
    buf_dispose(&small);
    buf_dispose(&bomb);
    buf_dispose(&out);
}
END_TEST

START_TEST(appends_after_existing_bytes)
{
    buf_t z, out;
    buf_init(&z, MIB);
    buf_init(&out, MIB);
    ts_deflate(15, "abc", 3, &z);
    ck_assert_int_eq(buf_append(&out, "xyz", 3), 0);
    ck_assert_int_eq(inflate_bounded(INFLATE_DEFLATE, z.data, z.len, 3, &out, NULL, 0), 0);
    ck_assert_str_eq(out.data, "xyzabc");
    buf_dispose(&z);
    buf_dispose(&out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inflate");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, round_trips_in_every_wrapper);
    tcase_add_test(tc, empty_payload_compresses_and_empty_input_does_not);
    tcase_add_test(tc, concatenated_gzip_members);
    tcase_add_test(tc, truncated_input_is_malformed);
    tcase_add_test(tc, garbage_is_malformed);
    tcase_add_test(tc, trailing_garbage_is_malformed);
    tcase_add_test(tc, bomb_stops_at_the_cap);
    tcase_add_test(tc, appends_after_existing_bytes);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
