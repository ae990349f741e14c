/* Bounded gzip/zlib/raw-deflate decoding over zlib (see inflate.h). Output is produced a chunk at a
 * time into a stack buffer and appended only while it fits under the cap. */
#include "inflate.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define CHUNK 16384
/* zlib window bits: 15 = 32 KiB window; +16 = gzip wrapper; negative = raw deflate. */
#define WBITS_ZLIB 15
#define WBITS_GZIP (16 + 15)
#define WBITS_RAW (-15)

#define RC_MALFORMED (-1)
#define RC_TOO_BIG (-2)

static void say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* RFC 1950 header check: CM = 8 (deflate), window <= 32 KiB, FCHECK makes the pair a multiple of 31. */
static int looks_like_zlib(const unsigned char *p, size_t n)
{
    return n >= 2 && (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 && ((p[0] << 8) | p[1]) % 31 == 0;
}

static int is_gzip_magic(const unsigned char *p, size_t n)
{
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* Appends what the last inflate() call produced, within both caps. */
static int flush_chunk(buf_t *out, const unsigned char *chunk, size_t got, size_t max_out, size_t start,
                       char *err, size_t errlen)
{
    if (got == 0) return 0;
    if (out->len - start + got > max_out || buf_append(out, chunk, got) != 0) {
        say(err, errlen, "decompressed size exceeds %zu bytes", max_out);
        return RC_TOO_BIG;
    }
    return 0;
}

/* Runs one zlib stream (or, for gzip, a series of members) over the whole input. */
static int run(z_stream *zs, int wbits, const unsigned char *in, size_t n, size_t max_out, buf_t *out,
               char *err, size_t errlen)
{
    unsigned char chunk[CHUNK];
    size_t start = out->len;
    zs->next_in = (unsigned char *)in;
    zs->avail_in = (uInt)n;
    for (;;) {
        zs->next_out = chunk;
        zs->avail_out = sizeof(chunk);
        int zr = inflate(zs, Z_NO_FLUSH);
        int rc = flush_chunk(out, chunk, sizeof(chunk) - zs->avail_out, max_out, start, err, errlen);
        if (rc != 0) return rc;
        if (zr == Z_STREAM_END) {
            if (zs->avail_in == 0) return 0;
            /* Another gzip member may follow (RFC 1952 2.2); anything else is trailing garbage. */
            if (wbits == WBITS_GZIP && is_gzip_magic(zs->next_in, zs->avail_in)) {
                if (inflateReset(zs) != Z_OK) break;
                continue;
            }
            say(err, errlen, "%u trailing bytes after the compressed stream", zs->avail_in);
            return RC_MALFORMED;
        }
        if (zr == Z_OK) continue;
        if (zr == Z_BUF_ERROR && zs->avail_in == 0) {
            say(err, errlen, "truncated compressed stream");
            return RC_MALFORMED;
        }
        if (zr == Z_MEM_ERROR) {
            say(err, errlen, "out of memory in zlib");
            return RC_MALFORMED;
        }
        say(err, errlen, "malformed compressed stream: %s", zs->msg ? zs->msg : "data error");
        return RC_MALFORMED;
    }
    say(err, errlen, "zlib reset failed");
    return RC_MALFORMED;
}

static int run_fresh(int wbits, const unsigned char *in, size_t n, size_t max_out, buf_t *out, char *err,
                     size_t errlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, wbits) != Z_OK) {
        say(err, errlen, "zlib init failed");
        return RC_MALFORMED;
    }
    int rc = run(&zs, wbits, in, n, max_out, out, err, errlen);
    inflateEnd(&zs);
    return rc;
}

static int decode(inflate_format_t fmt, const unsigned char *p, size_t n, size_t max_out, buf_t *out,
                  char *err, size_t errlen)
{
    if (n == 0) {
        say(err, errlen, "empty compressed input");
        return RC_MALFORMED;
    }
    if (n > UINT_MAX) {
        say(err, errlen, "compressed input too large");
        return RC_MALFORMED;
    }
    switch (fmt) {
    case INFLATE_GZIP:
        if (!is_gzip_magic(p, n)) {
            say(err, errlen, "not gzip: bad magic bytes");
            return RC_MALFORMED;
        }
        return run_fresh(WBITS_GZIP, p, n, max_out, out, err, errlen);
    case INFLATE_DEFLATE: {
        if (!looks_like_zlib(p, n)) return run_fresh(WBITS_RAW, p, n, max_out, out, err, errlen);
        /* A raw stream can start with bytes that pass the zlib header check (1 in 31 chance or so):
         * when the zlib reading fails as malformed, the raw reading gets its turn from a clean slate. */
        size_t start = out->len;
        int rc = run_fresh(WBITS_ZLIB, p, n, max_out, out, err, errlen);
        if (rc != RC_MALFORMED) return rc;
        out->len = start;
        if (out->data) out->data[start] = '\0';
        char raw_err[128];
        int raw = run_fresh(WBITS_RAW, p, n, max_out, out, raw_err, sizeof(raw_err));
        if (raw == 0) return 0;
        if (raw == RC_TOO_BIG) {
            say(err, errlen, "%s", raw_err);
            return RC_TOO_BIG;
        }
        out->len = start;
        if (out->data) out->data[start] = '\0';
        return RC_MALFORMED;
    }
    }
    say(err, errlen, "unknown compression format");
    return RC_MALFORMED;
}

int inflate_bounded(inflate_format_t fmt, const void *in, size_t n, size_t max_out, buf_t *out, char *err,
                    size_t errlen)
{
    /* Lowering the buffer's own cap for the call keeps its doubling growth from allocating past
     * max_out (a buffer at 4 MiB + 1 byte would otherwise reserve 8 MiB). */
    size_t saved_max = out->max;
    if (max_out < saved_max - out->len) out->max = out->len + max_out;
    int rc = decode(fmt, in, n, max_out, out, err, errlen);
    out->max = saved_max;
    return rc;
}
