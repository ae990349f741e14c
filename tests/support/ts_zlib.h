/* Compressed bodies for tests of the servers' decompression (gzip, zlib and raw deflate). */
#ifndef PS_TS_ZLIB_H
#define PS_TS_ZLIB_H

#include "buf.h"

#include <stddef.h>

/* zlib's window bits for each wrapper (as deflateInit2 and inflateInit2 take them) */
#define TS_GZIP_BITS (16 + 15) /* gzip: Content-Encoding gzip, grpc-encoding gzip */
#define TS_ZLIB_BITS 15        /* zlib: Content-Encoding deflate */
#define TS_RAW_BITS (-15)      /* raw deflate: what some browsers send as deflate */

/* Appends `in` deflated at level 6 in the wrapper `window_bits` selects to `out`; fails the test when
 * zlib fails or `out` is full. */
void ts_deflate(int window_bits, const void *in, size_t n, buf_t *out);

#endif
