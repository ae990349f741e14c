/* Compressed bodies for tests (see ts_zlib.h). */
#include "ts_zlib.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void ts_deflate(int window_bits, const void *in, size_t n, buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t bound = deflateBound(&zs, (uLong)n) + 32;
    unsigned char *tmp = malloc(bound);
    ck_assert_ptr_nonnull(tmp);
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = tmp;
    zs.avail_out = (uInt)bound;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    ck_assert_int_eq(buf_append(out, tmp, bound - zs.avail_out), 0);
    deflateEnd(&zs);
    free(tmp);
}
