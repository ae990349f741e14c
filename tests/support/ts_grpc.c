/* Test support: blocking gRPC client and google.rpc.Status decoder (see ts_grpc.h). */
#include "ts_grpc.h"
#include "base64.h"
#include "grpc_frame.h"
#include "h2c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- the client (on h2c.h) ---------------- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static void percent_decode(char *dst, size_t cap, const char *v)
{
    size_t o = 0, len = strlen(v);
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        if (v[i] == '%' && i + 2 < len && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
            dst[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
            i += 2;
        } else
            dst[o++] = v[i];
    }
    dst[o] = '\0';
}

/* Base64 with or without padding (common/base64.h); NULL on a bad character. Caller frees. */
static uint8_t *details_decode(const char *v, size_t *outlen)
{
    size_t len = strlen(v);
    buf_t out;
    buf_init(&out, len + 16);
    if (base64_decode(v, len, &out) != 0 || buf_append(&out, "", 0) != 0) {
        buf_dispose(&out);
        return NULL;
    }
    *outlen = out.len;
    return (uint8_t *)buf_take(&out);
}

/* What the stream brought, into *out: statuses, message, details, and the one message unframed. Returns 0,
 * or -1 when the body is not one uncompressed message or none (a trailers-only answer). */
static int take_response(const h2c_stream_t *s, ts_grpc_resp_t *out)
{
    out->http_status = s->http_status;
    out->grpc_status = s->grpc_status;
    percent_decode(out->message, sizeof(out->message), s->grpc_message);
    if (s->details[0]) out->details = details_decode(s->details, &out->details_len);
    const uint8_t *d = (const uint8_t *)s->body.data;
    size_t n = s->body.len;
    if (n >= GRPC_FRAME_HEADER_LEN && d[0] == 0) {
        size_t mlen = (size_t)d[1] << 24 | (size_t)d[2] << 16 | (size_t)d[3] << 8 | d[4];
        if (mlen + GRPC_FRAME_HEADER_LEN != n) return -1;
        out->body = malloc(mlen + 1);
        if (out->body == NULL) abort();
        memcpy(out->body, d + GRPC_FRAME_HEADER_LEN, mlen);
        out->body_len = mlen;
    } else if (n != 0)
        return -1;
    return 0;
}

static int call_on(int port, const char *ca_file, const ts_grpc_req_t *req, const void *msg, size_t len,
                   int timeout_ms, ts_grpc_resp_t *out)
{
    memset(out, 0, sizeof(*out));
    out->http_status = out->grpc_status = -1;
    uint8_t *framed = malloc(len + GRPC_FRAME_HEADER_LEN);
    if (framed == NULL) abort();
    grpc_frame_header_write(framed, req->compressed, (uint32_t)len);
    if (len) memcpy(framed + GRPC_FRAME_HEADER_LEN, msg, len);
    h2c_opts_t o = {.ca_file = ca_file, .timeout_ms = timeout_ms};
    char err[128];
    h2c_stream_t s = {0};
    int rc = -1;
    h2c_t *c = h2c_connect(port, &o, err, sizeof(err));
    if (c == NULL) goto out;
    snprintf(out->alpn, sizeof(out->alpn), "%s", h2c_alpn(c));
    h2c_req_t r = {.path = req->path, .encoding = req->encoding};
    if (req->key) {
        r.auth_name = "x-api-key";
        r.auth_value = req->key;
    }
    if (h2c_submit(c, &r, framed, len + GRPC_FRAME_HEADER_LEN, &s) != 0 || h2c_run(c, timeout_ms) != 0)
        goto out;
    rc = take_response(&s, out);
out:
    h2c_free(c);
    h2c_stream_dispose(&s);
    free(framed);
    return rc;
}

int ts_grpc_call(int port, const ts_grpc_req_t *req, const void *msg, size_t len, int timeout_ms,
                 ts_grpc_resp_t *out)
{
    return call_on(port, NULL, req, msg, len, timeout_ms, out);
}

int ts_grpc_call_tls(int port, const char *ca_file, const ts_grpc_req_t *req, const void *msg, size_t len,
                     int timeout_ms, ts_grpc_resp_t *out)
{
    return call_on(port, ca_file, req, msg, len, timeout_ms, out);
}

void ts_grpc_resp_free(ts_grpc_resp_t *r)
{
    free(r->details);
    free(r->body);
    r->details = r->body = NULL;
}

/* ---------------- google.rpc.Status ---------------- */

static int varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*i >= len) return -1;
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

/* Calls fn for each field of a message; length-delimited fields come as (p, n), varints as v.
 * Returns 0, or -1 on malformed input or when fn fails. */
typedef int (*field_fn)(void *ud, uint32_t field, int wt, uint64_t v, const uint8_t *p, size_t n);

static int each_field(const uint8_t *p, size_t len, field_fn fn, void *ud)
{
    size_t i = 0;
    while (i < len) {
        uint64_t key, v = 0;
        if (varint(p, len, &i, &key) != 0) return -1;
        int wt = (int)(key & 7);
        const uint8_t *sub = NULL;
        size_t n = 0;
        if (wt == 0) {
            if (varint(p, len, &i, &v) != 0) return -1;
        } else if (wt == 2) {
            if (varint(p, len, &i, &v) != 0 || v > len - i) return -1;
            sub = p + i;
            n = (size_t)v;
            i += n;
        } else if (wt == 1 || wt == 5) {
            size_t w = wt == 1 ? 8 : 4;
            if (w > len - i) return -1;
            i += w;
        } else
            return -1;
        if (fn(ud, (uint32_t)(key >> 3), wt, v, sub, n) != 0) return -1;
    }
    return 0;
}

static int duration_field(void *ud, uint32_t field, int wt, uint64_t v, const uint8_t *p, size_t n)
{
    (void)p;
    (void)n;
    ts_rpc_status_t *s = ud;
    if (field == 1 && wt == 0) s->retry_seconds = (int64_t)v;
    if (field == 2 && wt == 0) s->retry_nanos = (int32_t)v;
    return 0;
}

static int retry_info_field(void *ud, uint32_t field, int wt, uint64_t v, const uint8_t *p, size_t n)
{
    (void)v;
    ts_rpc_status_t *s = ud;
    if (field == 1 && wt == 2) {
        s->retry_seconds = 0;
        return each_field(p, n, duration_field, s);
    }
    return 0;
}

typedef struct {
    char type[128];
    const uint8_t *value;
    size_t value_len;
} any_t;

static int any_field(void *ud, uint32_t field, int wt, uint64_t v, const uint8_t *p, size_t n)
{
    (void)v;
    any_t *a = ud;
    if (field == 1 && wt == 2) snprintf(a->type, sizeof(a->type), "%.*s", (int)n, (const char *)p);
    if (field == 2 && wt == 2) {
        a->value = p;
        a->value_len = n;
    }
    return 0;
}

static int status_field(void *ud, uint32_t field, int wt, uint64_t v, const uint8_t *p, size_t n)
{
    ts_rpc_status_t *s = ud;
    if (field == 1) {
        if (wt != 0) return -1;
        s->code = (int)v;
    } else if (field == 2) {
        if (wt != 2) return -1;
        snprintf(s->message, sizeof(s->message), "%.*s", (int)n, (const char *)p);
    } else if (field == 3) {
        if (wt != 2) return -1;
        if (s->ndetails++ > 0) return 0;
        any_t a = {{0}, NULL, 0};
        if (each_field(p, n, any_field, &a) != 0) return -1;
        snprintf(s->detail_type, sizeof(s->detail_type), "%s", a.type);
        if (strcmp(a.type, "type.googleapis.com/google.rpc.RetryInfo") == 0 &&
            each_field(a.value, a.value_len, retry_info_field, s) != 0)
            return -1;
    }
    return 0;
}

int ts_rpc_status_decode(const uint8_t *p, size_t len, ts_rpc_status_t *out)
{
    memset(out, 0, sizeof(*out));
    out->retry_seconds = -1;
    return each_field(p, len, status_field, out);
}
