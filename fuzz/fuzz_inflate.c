/* libFuzzer target: bounded decompression never crashes and never leaves more than the cap in the
 * output, whatever the bytes; the first input byte picks the format and the cap. */
#include "inflate.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    inflate_format_t fmt = (data[0] & 1) ? INFLATE_DEFLATE : INFLATE_GZIP;
    size_t cap = (size_t)(data[0] >> 1) * 1024 + 1;
    buf_t out;
    buf_init(&out, 1u << 20);
    char err[128];
    int rc = inflate_bounded(fmt, data + 1, size - 1, cap, &out, err, sizeof(err));
    if (rc != 0 && rc != -1 && rc != -2) abort();
    if (out.len > cap || (out.data != NULL && out.cap > cap + 1 && out.cap > 256)) abort();
    buf_dispose(&out);
    return 0;
}
