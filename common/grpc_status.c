/* gRPC status helpers: percent-encoding, unpadded base64 and a hand-written protobuf encoder of
 * google.rpc.Status / RetryInfo (see grpc_status.h). */
#include "grpc_status.h"
#include "base64.h"

#include <string.h>

#define RETRY_INFO_TYPE_URL "type.googleapis.com/google.rpc.RetryInfo"

/* Protobuf wire types and the tags used here, (field << 3) | wire type. */
#define WT_VARINT 0
#define WT_LEN 2
#define TAG(field, wt) ((uint64_t)(field) << 3 | (wt))
#define NESTED_MAX 4096 /* the nested messages here are a few dozen bytes */

int grpc_percent_encode(const char *s, buf_t *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            if (buf_append_char(out, (char)*p) != 0) return -1;
            continue;
        }
        char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        if (buf_append(out, esc, 3) != 0) return -1;
    }
    return 0;
}

int grpc_base64_encode(const void *p, size_t n, buf_t *out)
{
    return base64_encode(p, n, 0, out); /* gRPC's binary metadata: no padding */
}

/* ---- protobuf writing ---------------------------------------------------------------------------- */

static int put_varint(buf_t *out, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    return buf_append(out, tmp, n);
}

/* int32 and int64 fields encode negative values sign-extended to 64 bits (ten bytes). */
static int put_int_field(buf_t *out, int field, int64_t v)
{
    if (v == 0) return 0; /* proto3 default: omitted */
    if (put_varint(out, TAG(field, WT_VARINT)) != 0) return -1;
    return put_varint(out, (uint64_t)v);
}

static int put_bytes_field(buf_t *out, int field, const void *p, size_t n)
{
    if (put_varint(out, TAG(field, WT_LEN)) != 0 || put_varint(out, n) != 0) return -1;
    return buf_append(out, p, n);
}

/* google.rpc.RetryInfo{retry_delay = 1: google.protobuf.Duration{seconds = 1, nanos = 2}} */
static int encode_retry_info(const grpc_duration_t *d, buf_t *out)
{
    buf_t dur;
    buf_init(&dur, NESTED_MAX);
    int rc = -1;
    if (put_int_field(&dur, 1, d->seconds) != 0 || put_int_field(&dur, 2, d->nanos) != 0) goto out;
    rc = put_bytes_field(out, 1, dur.data, dur.len);
out:
    buf_dispose(&dur);
    return rc;
}

/* google.protobuf.Any{type_url = 1, value = 2} wrapping a RetryInfo. */
static int encode_retry_any(const grpc_duration_t *d, buf_t *out)
{
    buf_t info, any;
    buf_init(&info, NESTED_MAX);
    buf_init(&any, NESTED_MAX);
    int rc = -1;
    if (encode_retry_info(d, &info) != 0) goto out;
    if (put_bytes_field(&any, 1, RETRY_INFO_TYPE_URL, strlen(RETRY_INFO_TYPE_URL)) != 0) goto out;
    if (put_bytes_field(&any, 2, info.data, info.len) != 0) goto out;
    rc = put_bytes_field(out, 3, any.data, any.len);
out:
    buf_dispose(&info);
    buf_dispose(&any);
    return rc;
}

int grpc_status_encode(int code, const char *message, const grpc_duration_t *retry_delay, buf_t *out)
{
    size_t mark = out->len;
    if (put_int_field(out, 1, code) != 0 ||
        (message != NULL && *message != '\0' && put_bytes_field(out, 2, message, strlen(message)) != 0) ||
        (retry_delay != NULL && encode_retry_any(retry_delay, out) != 0)) {
        out->len = mark; /* nothing half-written stays */
        if (out->data) out->data[mark] = '\0';
        return -1;
    }
    return 0;
}
