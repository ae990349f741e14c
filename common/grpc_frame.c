/* Incremental reader of the one length-prefixed message of a unary gRPC request (see grpc_frame.h). */
#include "grpc_frame.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#define FLAG_COMPRESSED 0x01u

void grpc_frame_reader_init(grpc_frame_reader_t *r, size_t max_len)
{
    memset(r, 0, sizeof(*r));
    r->max_len = max_len;
}

static int fail(grpc_frame_reader_t *r, grpc_frame_err_t err)
{
    r->err = err;
    return -1;
}

static int header_done(grpc_frame_reader_t *r)
{
    if (r->header[0] & ~FLAG_COMPRESSED) return fail(r, GRPC_FRAME_ERR_BAD_FLAGS);
    r->compressed = r->header[0] & FLAG_COMPRESSED;
    r->len = (uint32_t)r->header[1] << 24 | (uint32_t)r->header[2] << 16 | (uint32_t)r->header[3] << 8 |
             (uint32_t)r->header[4];
    if (r->len > r->max_len) return fail(r, GRPC_FRAME_ERR_TOO_BIG);
    r->complete = r->len == 0;
    if (r->len > 0) r->msg = xmalloc(r->len);
    return 0;
}

void grpc_frame_reader_dispose(grpc_frame_reader_t *r)
{
    free(r->msg);
    r->msg = NULL;
}

size_t grpc_frame_reserved(const grpc_frame_reader_t *r)
{
    return r->msg ? r->len : 0;
}

int grpc_frame_feed(grpc_frame_reader_t *r, const uint8_t *p, size_t n)
{
    if (r->err != GRPC_FRAME_ERR_NONE) return -1;
    while (n > 0) {
        if (r->complete) return fail(r, GRPC_FRAME_ERR_SECOND_MESSAGE);
        if (r->header_have < GRPC_FRAME_HEADER_LEN) {
            size_t take = GRPC_FRAME_HEADER_LEN - r->header_have;
            if (take > n) take = n;
            memcpy(r->header + r->header_have, p, take);
            r->header_have += take;
            p += take;
            n -= take;
            if (r->header_have == GRPC_FRAME_HEADER_LEN && header_done(r) != 0) return -1;
            continue;
        }
        size_t take = r->len - r->have;
        if (take > n) take = n;
        memcpy(r->msg + r->have, p, take);
        r->have += take;
        p += take;
        n -= take;
        r->complete = r->have == r->len;
    }
    return 0;
}

int grpc_frame_end(grpc_frame_reader_t *r)
{
    if (r->err != GRPC_FRAME_ERR_NONE) return -1;
    if (r->complete) return 0;
    return fail(r, r->header_have == 0 ? GRPC_FRAME_ERR_NO_MESSAGE : GRPC_FRAME_ERR_TRUNCATED);
}

const char *grpc_frame_err_str(grpc_frame_err_t err)
{
    switch (err) {
    case GRPC_FRAME_ERR_NONE:
        return "ok";
    case GRPC_FRAME_ERR_TOO_BIG:
        return "message larger than the maximum message size";
    case GRPC_FRAME_ERR_BAD_FLAGS:
        return "reserved message flag bits set";
    case GRPC_FRAME_ERR_SECOND_MESSAGE:
        return "more than one request message for a unary method";
    case GRPC_FRAME_ERR_TRUNCATED:
        return "request body ended inside a message";
    case GRPC_FRAME_ERR_NO_MESSAGE:
        return "request without a message";
    }
    return "framing error";
}

void grpc_frame_header_write(uint8_t out[GRPC_FRAME_HEADER_LEN], int compressed, uint32_t len)
{
    out[0] = compressed ? FLAG_COMPRESSED : 0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}
