/* OTLP/HTTP with JSON encoding (ExportTraceServiceRequest, ExportLogsServiceRequest,
 * ExportMetricsServiceRequest, in the protocol's JSON mapping) in one pass with the pull scanner
 * (common/jscan.h): no tree is built. Each span, log record or metric data point is read into a typed
 * record (ingest_record.h), whose layer validates it and writes its COPY row, so OTLP JSON and OTLP
 * protobuf give the same rows for the same records.
 *
 * The JSON mapping: field names in lowerCamelCase (the proto's snake_case names are accepted too);
 * ids in hex (base64, which some exporters send, is tolerated); enums as integers or names;
 * 64-bit integers as strings or numbers; unknown fields ignored; AnyValue turned into plain JSON.
 *
 * Partial success: a record with a bad field is counted with ingest_batch_reject() and skipped; a
 * malformed body, a bad envelope (resourceSpans not an array...), too many records or a batch over
 * its byte cap refuse the whole body.
 *
 * Member order is free in JSON, but a record needs its resource and scope before its row is written:
 * when the children of an envelope come before (or might come before) the context they need, their
 * position is kept, the rest of the object is read, and the scanner comes back to them. Exporters
 * write the proto's field order, so scopes and records are read once; the one field that follows its
 * children (ResourceSpans.schemaUrl) costs one skip of them, a fast validating pass. */
#include "alloc.h"
#include "hexid.h"
#include "ingest_json.h"
#include "ingest_otlp_common.h"
#include "ingest_record.h"
#include "jscan.h"
#include "jwrite.h"
#include "rfc3339.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Skipping an unknown value may nest this deep; attribute values are bounded by INGEST_MAX_DEPTH. */
#define SCAN_MAX_DEPTH 64
/* AnyValue conversion stops past this depth (a bound on the recursion, the protobuf decoder's too);
 * the stored limit of INGEST_MAX_DEPTH levels is the record layer's, so both formats refuse the same
 * values. */
#define CONVERT_MAX_DEPTH OTLP_ANY_MAX_DEPTH
/* Attribute JSON past this is refused before the record layer sees it (its own cap is canonical). */
#define ATTR_CAP (INGEST_MAX_ATTR_BYTES + 1024)
/* JSON text of values whose decoded size is bounded elsewhere: escapes may take 6 bytes per byte. */
#define BODY_CAP (6 * INGEST_MAX_MESSAGE + 1024)
#define SPILL_CAP (6 * INGEST_MAX_STACK + 1024)
#define LIST_CAP (4 * 1024 * 1024)
#define ARRAY_CAP ((INGEST_MAX_BUCKETS + 1) * sizeof(double))

/* A string field: a slice of the body, or decoded into `buf` when it had escapes. s.s NULL: absent. */
typedef struct {
    jstr_t s;
    buf_t buf;
} text_t;

/* What a log record or span carries besides its scalar fields; kept in the parser so buffers are
 * reused from record to record. */
typedef struct {
    text_t name, trace_state, status_message;
    buf_t attrs, event_attrs, link_attrs;
    text_t event_name, link_state;
    ingest_list_t events, links;
} span_bufs_t;

typedef struct {
    text_t level, event_name, stack, message; /* message: a string body */
    buf_t body, attrs;
} log_bufs_t;

typedef struct {
    text_t name, unit;
    buf_t labels;
    buf_t bounds, counts, positive, negative, quantiles, values; /* arrays of double / uint64_t */
} metric_bufs_t;

/* The envelopes whose errors every record inside them inherits. */
enum { CTX_RESOURCE, CTX_SCOPE, CTX_METRIC, CTX_COUNT };

typedef struct {
    jscan_t j;
    ingest_batch_t *b;
    ingest_err_t *err; /* why the whole body is refused */
    size_t max_records, leaves;
    size_t text_cap; /* a decoded string is never longer than the body: never truncated */
    buf_t key, str, bytes, spill;
    char path[256];
    size_t plen;
    int bad;                /* the current record has a bad field: */
    ingest_err_t rej;       /* the first one */
    int ctx_bad[CTX_COUNT]; /* a resource, scope or metric was refused: so is each of its records */
    ingest_err_t ctx_err[CTX_COUNT];
    ingest_resource_t res;
    text_t service, schema_url;
    buf_t res_attrs;
    ingest_scope_t scope;
    text_t scope_name, scope_version;
    span_bufs_t sp;
    log_bufs_t lg;
    metric_bufs_t mt;
} parser_t;

/* ---------------- errors and paths ---------------- */

static int syntax_fail(parser_t *p)
{
    return ij_fail(p->err, 400, "", "malformed JSON at byte %zu: %s", p->j.err_at, p->j.err ? p->j.err : "?");
}

/* A bad field of the current record (the first one is kept). `field` may be NULL: the record. */
__attribute__((format(printf, 3, 4))) static void bad_field(parser_t *p, const char *field, const char *fmt,
                                                            ...)
{
    if (p->bad) return;
    p->bad = 1;
    p->rej.status = 400;
    snprintf(p->rej.path, sizeof(p->rej.path), "%.200s%s%.50s", p->path, field ? "." : "",
             field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->rej.reason, sizeof(p->rej.reason), fmt, ap);
    va_end(ap);
}

/* Appends to the path; returns the length to give back to path_pop(). */
__attribute__((format(printf, 2, 3))) static size_t path_push(parser_t *p, const char *fmt, ...)
{
    size_t old = p->plen;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->path + old, sizeof(p->path) - old, fmt, ap);
    va_end(ap);
    p->plen = n < 0 ? old : old + (size_t)n >= sizeof(p->path) ? sizeof(p->path) - 1 : old + (size_t)n;
    return old;
}

static void path_pop(parser_t *p, size_t old)
{
    p->plen = old;
    p->path[old] = '\0';
}

/* Key match: the lowerCamelCase name or the proto's snake_case name (NULL when the same). */
static int is(const jstr_t *k, const char *camel, const char *snake)
{
    size_t n = strlen(camel);
    if (k->n == n && memcmp(k->s, camel, n) == 0) return 1;
    if (snake == NULL) return 0;
    n = strlen(snake);
    return k->n == n && memcmp(k->s, snake, n) == 0;
}

static istr_t istr_of(const text_t *t)
{
    return t->s.s ? (istr_t){t->s.s, t->s.n} : ISTR_NONE;
}

static istr_t istr_buf(const buf_t *b)
{
    return (istr_t){b->data ? b->data : "", b->len};
}

/* ---------------- scalar readers ----------------
 * Each reads the value at the scanner. -1 only for malformed JSON (the body is refused); a value of the
 * wrong type is consumed and marks the record bad. null is the same as absent. */

static int skip_value(parser_t *p)
{
    return jscan_skip(&p->j, NULL) == 0 ? 0 : syntax_fail(p);
}

/* An envelope of the wrong type refuses the body (400 at `path`), unless the body is malformed there. */
static int envelope_fail(parser_t *p, const char *path, const char *expected)
{
    if (jscan_skip(&p->j, NULL) != 0) return syntax_fail(p);
    return ij_fail(p->err, 400, path, "expected %s", expected);
}

/* Consumes null and returns 1, or 0 when the value is not null. */
static int take_null(parser_t *p)
{
    if (jscan_peek(&p->j) != JT_NULL) return 0;
    jtype_t t;
    jscan_literal(&p->j, &t);
    return 1;
}

static int read_text(parser_t *p, const char *field, text_t *t)
{
    if (take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_STRING) {
        bad_field(p, field, "expected a string");
        return skip_value(p);
    }
    return jscan_string(&p->j, &t->s, &t->buf) == 0 ? 0 : syntax_fail(p);
}

/* Decimal digits with an optional '-': its magnitude and sign; -1 when not an integer or past 64 bits. */
static int parse_integer(const char *s, size_t n, uint64_t *mag, int *neg)
{
    *neg = n > 0 && s[0] == '-';
    size_t i = (size_t)*neg;
    if (i == n) return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *mag = v;
    return 0;
}

/* An integer sent as a number or as a string (the JSON mapping of int64/uint64/fixed64). *present is
 * set when one was read. Signed values must fit int64, unsigned ones uint64. */
static int read_integer(parser_t *p, const char *field, int is_signed, uint64_t *mag, int *neg, int *present)
{
    *present = 0;
    if (take_null(p)) return 0;
    jtype_t t = jscan_peek(&p->j);
    jstr_t s;
    if (t == JT_NUMBER) {
        if (jscan_number(&p->j, &s, NULL, NULL) != 0) return syntax_fail(p);
    } else if (t == JT_STRING) {
        if (jscan_string(&p->j, &s, &p->str) != 0) return syntax_fail(p);
    } else {
        bad_field(p, field, "expected an integer");
        return skip_value(p);
    }
    if (parse_integer(s.s, s.n, mag, neg) != 0 || (*neg && !is_signed) ||
        (is_signed && *mag > (*neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))) {
        bad_field(p, field, "expected an integer%s", is_signed ? "" : " of at least 0");
        return 0;
    }
    *present = 1;
    return 0;
}

static int read_u64(parser_t *p, const char *field, uint64_t *out)
{
    uint64_t v;
    int neg, present;
    if (read_integer(p, field, 0, &v, &neg, &present) != 0) return -1;
    if (present) *out = v;
    return 0;
}

static int read_u32(parser_t *p, const char *field, uint32_t *out)
{
    uint64_t v = 0;
    if (read_u64(p, field, &v) != 0) return -1;
    if (v > UINT32_MAX)
        bad_field(p, field, "larger than %u", UINT32_MAX);
    else
        *out = (uint32_t)v;
    return 0;
}

static int read_i64(parser_t *p, const char *field, int64_t *out)
{
    uint64_t v;
    int neg, present;
    if (read_integer(p, field, 1, &v, &neg, &present) != 0) return -1;
    if (present) *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Epoch nanoseconds (fixed64): a number or a decimal string; an RFC 3339 string is tolerated. The
 * record layer checks the range. */
static int read_time(parser_t *p, const char *field, int64_t *ns)
{
    if (jscan_peek(&p->j) == JT_STRING) {
        jstr_t s;
        const char *why;
        uint64_t v;
        int neg;
        if (jscan_string(&p->j, &s, &p->str) != 0) return syntax_fail(p);
        if (parse_integer(s.s, s.n, &v, &neg) == 0) {
            if (neg || v > INT64_MAX)
                bad_field(p, field, "expected epoch nanoseconds");
            else
                *ns = (int64_t)v;
        } else if (rfc3339_parse(s.s, s.n, ns, &why) != 0) {
            bad_field(p, field, "%s", why);
        }
        return 0;
    }
    uint64_t v;
    int neg, present;
    if (read_integer(p, field, 0, &v, &neg, &present) != 0) return -1;
    if (present && v > INT64_MAX)
        bad_field(p, field, "expected epoch nanoseconds");
    else if (present)
        *ns = (int64_t)v;
    return 0;
}

/* A double: a number, or a string holding a number, "NaN", "Infinity" or "-Infinity". */
static int read_double(parser_t *p, const char *field, double *out, int *present)
{
    *present = 0;
    if (take_null(p)) return 0;
    jtype_t t = jscan_peek(&p->j);
    if (t == JT_NUMBER) {
        if (jscan_double(&p->j, out) != 0) return syntax_fail(p);
        *present = 1;
        return 0;
    }
    if (t != JT_STRING) {
        bad_field(p, field, "expected a number");
        return skip_value(p);
    }
    jstr_t s;
    if (jscan_string(&p->j, &s, &p->str) != 0) return syntax_fail(p);
    char tmp[64], *end;
    if (s.n == 0 || s.n >= sizeof(tmp)) {
        bad_field(p, field, "expected a number");
        return 0;
    }
    memcpy(tmp, s.s, s.n);
    tmp[s.n] = '\0';
    if (strcmp(tmp, "NaN") == 0)
        *out = NAN;
    else if (strcmp(tmp, "Infinity") == 0)
        *out = INFINITY;
    else if (strcmp(tmp, "-Infinity") == 0)
        *out = -INFINITY;
    else if ((*out = strtod(tmp, &end), *end != '\0' || strchr("0123456789-.", tmp[0]) == NULL)) {
        bad_field(p, field, "expected a number");
        return 0;
    }
    *present = 1;
    return 0;
}

static int read_bool(parser_t *p, const char *field, int *out)
{
    jtype_t t = jscan_peek(&p->j);
    if (t != JT_TRUE && t != JT_FALSE && t != JT_NULL) {
        bad_field(p, field, "expected true or false");
        return skip_value(p);
    }
    if (jscan_literal(&p->j, &t) != 0) return syntax_fail(p);
    if (t != JT_NULL) *out = t == JT_TRUE;
    return 0;
}

/* An enum: its number, or its name (with or without the enum's prefix, e.g. "SPAN_KIND_SERVER" or
 * "SERVER"); names[i] is the name of value i (NULL: no such value). */
static int read_enum(parser_t *p, const char *field, const char *prefix, const char *const *names, int n,
                     int *out)
{
    if (jscan_peek(&p->j) != JT_STRING) {
        int64_t v = *out;
        if (read_i64(p, field, &v) != 0) return -1;
        if (v < INT32_MIN || v > INT32_MAX)
            bad_field(p, field, "not a value of the enum");
        else
            *out = (int)v;
        return 0;
    }
    jstr_t s;
    if (jscan_string(&p->j, &s, &p->str) != 0) return syntax_fail(p);
    size_t pl = strlen(prefix);
    if (s.n >= pl && memcmp(s.s, prefix, pl) == 0) s.s += pl, s.n -= pl;
    for (int i = 0; i < n; i++)
        if (names[i] && strlen(names[i]) == s.n && memcmp(names[i], s.s, s.n) == 0) {
            *out = i;
            return 0;
        }
    bad_field(p, field, "unknown %.*s value", (int)(pl ? pl - 1 : 0), prefix);
    return 0;
}

/* A trace or span id into out (2*nbytes+1 bytes); "" when absent or empty. */
static int read_id(parser_t *p, const char *field, size_t nbytes, char *out)
{
    out[0] = '\0';
    if (take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_STRING) {
        bad_field(p, field, "expected a string");
        return skip_value(p);
    }
    jstr_t s;
    const char *why;
    if (jscan_string(&p->j, &s, &p->str) != 0) return syntax_fail(p);
    if (s.n > 0 && hexid_parse(s.s, s.n, nbytes, out, &why) != 0) {
        out[0] = '\0';
        bad_field(p, field, "%s", why);
    }
    return 0;
}

/* ---------------- AnyValue → plain JSON ---------------- */

/* A write into a bounded JSON buffer failed: the field is over its cap. */
static void too_large(parser_t *p, const char *field, const buf_t *out)
{
    bad_field(p, field, "larger than %zu bytes", out->max);
}

static int base64_value(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Standard or URL-safe base64, padding optional, into p->bytes. -1 when not base64. */
static int base64_decode(parser_t *p, const char *s, size_t n)
{
    buf_reset(&p->bytes);
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1) return -1;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = base64_value((unsigned char)s[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (buf_append_char(&p->bytes, (char)((acc >> bits) & 0xFF)) != 0) return -1;
        }
    }
    return 0;
}

static int any_value(parser_t *p, buf_t *out, int depth, const char *field, text_t *raw);

/* intValue: an int64 as a number or a string; digits past 64 bits are kept as sent, a JSON number
 * (ingest_otlp_common.h: OTLP_ANY_INT_TEXT). */
static int int_value(parser_t *p, buf_t *out, const char *field)
{
    jtype_t t = jscan_peek(&p->j);
    jstr_t s;
    if (t == JT_NUMBER) {
        if (jscan_number(&p->j, &s, NULL, NULL) != 0) return syntax_fail(p);
    } else if (t == JT_STRING) {
        if (jscan_string(&p->j, &s, &p->str) != 0) return syntax_fail(p);
    } else {
        bad_field(p, field, "intValue: expected an integer");
        return skip_value(p);
    }
    uint64_t mag;
    int neg, digits = s.n > (s.n && s.s[0] == '-');
    for (size_t i = s.n && s.s[0] == '-'; i < s.n && digits; i++)
        digits = s.s[i] >= '0' && s.s[i] <= '9';
    if (!digits) {
        bad_field(p, field, "intValue: expected an integer");
        return 0;
    }
    int rc;
    if (parse_integer(s.s, s.n, &mag, &neg) == 0 &&
        mag <= (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        rc = jw_i64(out, neg ? (int64_t)(0 - mag) : (int64_t)mag);
    else
        rc = jw_raw(out, s.s, s.n);
    if (rc != 0) too_large(p, field, out);
    return 0;
}

static int double_value(parser_t *p, buf_t *out, const char *field)
{
    double d = 0;
    int present;
    if (read_double(p, field, &d, &present) != 0) return -1;
    if (jw_double(out, d) != 0) too_large(p, field, out);
    return 0;
}

static int string_value(parser_t *p, buf_t *out, const char *field, text_t *raw)
{
    if (jscan_peek(&p->j) != JT_STRING) {
        bad_field(p, field, "stringValue: expected a string");
        return skip_value(p);
    }
    jstr_t s;
    if (jscan_string(&p->j, &s, &p->str) != 0) return syntax_fail(p);
    if (raw) {
        buf_reset(&raw->buf);
        if (buf_append(&raw->buf, s.s, s.n) != 0) {
            too_large(p, field, &raw->buf);
            return 0;
        }
        raw->s = (jstr_t){raw->buf.data ? raw->buf.data : "", s.n};
    }
    if (jw_string(out, s.s, s.n) != 0) too_large(p, field, out);
    return 0;
}

static int bytes_value(parser_t *p, buf_t *out, const char *field)
{
    if (jscan_peek(&p->j) != JT_STRING) {
        bad_field(p, field, "bytesValue: expected a base64 string");
        return skip_value(p);
    }
    jstr_t s;
    if (jscan_string(&p->j, &s, &p->str) != 0) return syntax_fail(p);
    if (base64_decode(p, s.s, s.n) != 0) {
        bad_field(p, field, "bytesValue: expected base64");
        return 0;
    }
    if (jw_base64(out, p->bytes.data ? p->bytes.data : "", p->bytes.len) != 0) too_large(p, field, out);
    return 0;
}

static int kv_list(parser_t *p, buf_t *out, int depth, const char *field, const char *special,
                   text_t *special_raw, int drop_special);

/* arrayValue {"values":[AnyValue]} → [...]; kvlistValue {"values":[KeyValue]} → {...}. */
static int container_value(parser_t *p, buf_t *out, int depth, const char *field, int is_kvlist)
{
    if (depth > CONVERT_MAX_DEPTH) {
        bad_field(p, field, "nested deeper than %d levels", INGEST_MAX_DEPTH);
        return skip_value(p);
    }
    if (take_null(p)) {
        if (jw_raw(out, is_kvlist ? "{}" : "[]", 2) != 0) too_large(p, field, out);
        return 0;
    }
    if (jscan_peek(&p->j) != JT_OBJECT) {
        bad_field(p, field, "%s: expected an object", is_kvlist ? "kvlistValue" : "arrayValue");
        return skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, written = 0;
    size_t mark = out->len;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        if (!is(&k, "values", NULL)) {
            if (skip_value(p) != 0) return -1;
            continue;
        }
        if (written) out->len = mark; /* a repeated member: the last one wins */
        written = 1;
        if (is_kvlist) {
            if (kv_list(p, out, depth, field, NULL, NULL, 0) != 0) return -1;
            continue;
        }
        if (take_null(p)) {
            if (jw_raw(out, "[]", 2) != 0) too_large(p, field, out);
            continue;
        }
        if (jscan_peek(&p->j) != JT_ARRAY) {
            bad_field(p, field, "arrayValue.values: expected an array");
            if (skip_value(p) != 0) return -1;
            continue;
        }
        jscan_array_begin(&p->j);
        int e, n = 0;
        if (jw_char(out, '[') != 0) too_large(p, field, out);
        while ((e = jscan_array_next(&p->j)) == 1) {
            if (n++ && jw_char(out, ',') != 0) too_large(p, field, out);
            if (any_value(p, out, depth + 1, field, NULL) != 0) return -1;
        }
        if (e < 0) return syntax_fail(p);
        if (jw_char(out, ']') != 0) too_large(p, field, out);
    }
    if (m < 0) return syntax_fail(p);
    if (!written && jw_raw(out, is_kvlist ? "{}" : "[]", 2) != 0) too_large(p, field, out);
    if (out->data) out->data[out->len] = '\0';
    return 0;
}

/* One AnyValue as plain JSON: strings, booleans, numbers, base64 strings for bytes, arrays, objects;
 * an empty AnyValue is null. `raw` (may be NULL) gets the text of a stringValue. `depth`: the level of
 * the JSON value being written (an attribute set is level 1). */
static int any_value(parser_t *p, buf_t *out, int depth, const char *field, text_t *raw)
{
    if (raw) raw->s.s = NULL;
    if (take_null(p)) {
        if (jw_raw(out, "null", 4) != 0) too_large(p, field, out);
        return 0;
    }
    if (jscan_peek(&p->j) != JT_OBJECT) {
        bad_field(p, field, "expected an AnyValue object");
        return skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, written = 0;
    size_t mark = out->len;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int rc, b = 0;
        if (written && (is(&k, "stringValue", "string_value") || is(&k, "boolValue", "bool_value") ||
                        is(&k, "intValue", "int_value") || is(&k, "doubleValue", "double_value") ||
                        is(&k, "bytesValue", "bytes_value") || is(&k, "arrayValue", "array_value") ||
                        is(&k, "kvlistValue", "kvlist_value"))) {
            out->len = mark; /* two members of the oneof: the last one wins */
            if (raw) raw->s.s = NULL;
        }
        if (is(&k, "stringValue", "string_value")) {
            rc = string_value(p, out, field, raw);
        } else if (is(&k, "boolValue", "bool_value")) {
            rc = read_bool(p, field, &b);
            if (rc == 0 && jw_bool(out, b) != 0) too_large(p, field, out);
        } else if (is(&k, "intValue", "int_value")) {
            rc = int_value(p, out, field);
        } else if (is(&k, "doubleValue", "double_value")) {
            rc = double_value(p, out, field);
        } else if (is(&k, "bytesValue", "bytes_value")) {
            rc = bytes_value(p, out, field);
        } else if (is(&k, "arrayValue", "array_value")) {
            rc = container_value(p, out, depth + 1, field, 0);
        } else if (is(&k, "kvlistValue", "kvlist_value")) {
            rc = container_value(p, out, depth + 1, field, 1);
        } else {
            if (skip_value(p) != 0) return -1;
            continue;
        }
        if (rc != 0) return -1;
        written = 1;
    }
    if (m < 0) return syntax_fail(p);
    if (!written && jw_raw(out, "null", 4) != 0) too_large(p, field, out);
    return 0;
}

/* One KeyValue {"key":..,"value":AnyValue} as "key":value. The value may come first: then it is
 * skipped, and read again once the key is known. The `special` key's string value is copied to
 * `special_raw`; with drop_special that pair is written aside (p->spill: a stack trace may be larger
 * than an attribute set) and left out when its value is a string (*dropped set). */
static int key_value(parser_t *p, buf_t *out, int depth, const char *field, const char *special,
                     text_t *special_raw, int drop_special, int *dropped)
{
    *dropped = 0;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        bad_field(p, field, "expected a KeyValue object");
        return skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, has_key = 0, has_value = 0, is_special = 0;
    jscan_t value_at = p->j;
    buf_t *dst = out;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        if (is(&k, "key", NULL) && !has_key) {
            if (jscan_peek(&p->j) != JT_STRING) {
                bad_field(p, field, "key: expected a string");
                if (skip_value(p) != 0) return -1;
                continue;
            }
            jstr_t key;
            if (jscan_string(&p->j, &key, &p->str) != 0) return syntax_fail(p);
            has_key = 1;
            is_special = special && key.n == strlen(special) && memcmp(key.s, special, key.n) == 0;
            if (is_special && drop_special) {
                dst = &p->spill;
                buf_reset(dst);
            }
            if (jw_string(dst, key.s, key.n) != 0 || jw_char(dst, ':') != 0) too_large(p, field, dst);
            if (has_value) { /* the value came first: read it now */
                jscan_t here = p->j;
                p->j = value_at;
                if (any_value(p, dst, depth, field, is_special ? special_raw : NULL) != 0) return -1;
                p->j = here;
            }
        } else if (is(&k, "value", NULL) && !has_value) {
            has_value = 1;
            if (!has_key) {
                value_at = p->j;
                if (skip_value(p) != 0) return -1;
            } else if (any_value(p, dst, depth, field, is_special ? special_raw : NULL) != 0) {
                return -1;
            }
        } else if (skip_value(p) != 0) {
            return -1;
        }
    }
    if (m < 0) return syntax_fail(p);
    if (!has_key) { /* proto3's default: the key "" */
        if (jw_raw(out, "\"\":", 3) != 0) too_large(p, field, out);
        if (has_value) {
            jscan_t here = p->j;
            p->j = value_at;
            if (any_value(p, out, depth, field, NULL) != 0) return -1;
            p->j = here;
        }
    }
    if (!has_value && jw_raw(dst, "null", 4) != 0) too_large(p, field, dst);
    if (dst != out) {
        if (special_raw->s.s)
            *dropped = 1;
        else if (jw_raw(out, dst->data ? dst->data : "", dst->len) != 0)
            too_large(p, field, out);
    }
    return 0;
}

/* A KeyValue list [{"key","value"}] as a JSON object written to `out`. `special` (may be NULL) names
 * a key whose string value is copied to `special_raw` (and left out of the object when drop_special). */
static int kv_list(parser_t *p, buf_t *out, int depth, const char *field, const char *special,
                   text_t *special_raw, int drop_special)
{
    if (special_raw) special_raw->s.s = NULL;
    if (take_null(p)) {
        if (jw_raw(out, "{}", 2) != 0) too_large(p, field, out);
        return 0;
    }
    if (jscan_peek(&p->j) != JT_ARRAY) {
        bad_field(p, field, "expected an array of KeyValue");
        return skip_value(p);
    }
    jscan_array_begin(&p->j);
    int e, n = 0;
    if (jw_char(out, '{') != 0) too_large(p, field, out);
    while ((e = jscan_array_next(&p->j)) == 1) {
        size_t mark = out->len;
        if (n && jw_char(out, ',') != 0) too_large(p, field, out);
        int dropped;
        if (key_value(p, out, depth, field, special, special_raw, drop_special, &dropped) != 0) return -1;
        if (dropped)
            out->len = mark;
        else
            n++;
    }
    if (e < 0) return syntax_fail(p);
    if (jw_char(out, '}') != 0) too_large(p, field, out);
    return 0;
}

/* An attribute set into `out` (reset first). */
static int attributes(parser_t *p, buf_t *out, const char *field, const char *special, text_t *special_raw,
                      int drop_special)
{
    buf_reset(out);
    return kv_list(p, out, 1, field, special, special_raw, drop_special);
}

/* ---------------- enum names (the JSON mapping may send them instead of numbers) ---------------- */

static const char *const span_kind_names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                              "CLIENT",      "PRODUCER", "CONSUMER"};
static const char *const status_code_names[] = {"UNSET", "OK", "ERROR"};
static const char *const temporality_names[] = {"UNSPECIFIED", "DELTA", "CUMULATIVE"};

/* SeverityNumber by name: "SEVERITY_NUMBER_ERROR2" or "ERROR2" → 18. */
static const char *const severity_number_names[] = {
    "UNSPECIFIED", "TRACE",  "TRACE2", "TRACE3", "TRACE4", "DEBUG",  "DEBUG2", "DEBUG3", "DEBUG4",
    "INFO",        "INFO2",  "INFO3",  "INFO4",  "WARN",   "WARN2",  "WARN3",  "WARN4",  "ERROR",
    "ERROR2",      "ERROR3", "ERROR4", "FATAL",  "FATAL2", "FATAL3", "FATAL4"};

#define OTLP_SERVICE_KEY "service.name"
#define OTLP_STACK_KEY "exception.stacktrace"

/* ---------------- records ---------------- */

/* Hands the finished record to the layer through `add`, or counts it as rejected. -1: the body is
 * refused (413). */
static int finish(parser_t *p, int rc, const ingest_err_t *layer_err)
{
    if (rc == 0) return 0;
    if (layer_err->status != 400) {
        *p->err = *layer_err;
        return -1;
    }
    ingest_batch_reject(p->b, layer_err);
    return 0;
}

/* Before a record: counts it (past max_records the body is refused) and clears its error. 0 when the
 * record is to be read, -1 to refuse the body. */
static int record_begin(parser_t *p, const char *top)
{
    if (++p->leaves > p->max_records)
        return ij_fail(p->err, 413, top, "more than %zu records; at most %zu per batch", p->max_records,
                       p->max_records);
    p->bad = 0;
    return 0;
}

/* The record's problem, if any, before it reaches the layer: 1 when it was rejected. */
static int rejected(parser_t *p)
{
    for (int c = 0; c < CTX_COUNT; c++)
        if (p->ctx_bad[c]) {
            ingest_batch_reject(p->b, &p->ctx_err[c]);
            return 1;
        }
    if (p->bad) {
        ingest_batch_reject(p->b, &p->rej);
        return 1;
    }
    return 0;
}

/* The problem found while reading an envelope's own fields becomes its records' (the first one is
 * kept). */
static void take_ctx(parser_t *p, int level)
{
    if (p->bad && !p->ctx_bad[level]) {
        p->ctx_bad[level] = 1;
        p->ctx_err[level] = p->rej;
    }
    p->bad = 0;
}

/* A record that is not an object: rejected, skipped. */
static int not_an_object(parser_t *p)
{
    bad_field(p, NULL, "expected an object");
    if (skip_value(p) != 0) return -1;
    ingest_batch_reject(p->b, &p->rej);
    return 0;
}

/* ---- spans ---- */

static const char *const span_names[SF_COUNT] = {[SF_TRACE_ID] = "traceId",
                                                 [SF_SPAN_ID] = "spanId",
                                                 [SF_PARENT] = "parentSpanId",
                                                 [SF_SERVICE] = "resource.attributes.service.name",
                                                 [SF_NAME] = "name",
                                                 [SF_START] = "startTimeUnixNano",
                                                 [SF_END] = "endTimeUnixNano",
                                                 [SF_STATUS_MESSAGE] = "status.message",
                                                 [SF_ATTRIBUTES] = "attributes",
                                                 [SF_EVENTS] = "events",
                                                 [SF_LINKS] = "links",
                                                 [SF_TRACE_STATE] = "traceState"};

static int span_status(parser_t *p, ingest_span_t *s)
{
    if (take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        bad_field(p, "status", "expected an object");
        return skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, code = 0;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int rc;
        if (is(&k, "code", NULL))
            rc = read_enum(p, "status.code", "STATUS_CODE_", status_code_names, 3, &code);
        else if (is(&k, "message", NULL))
            rc = read_text(p, "status.message", &p->sp.status_message);
        else
            rc = skip_value(p);
        if (rc != 0) return -1;
    }
    if (m < 0) return syntax_fail(p);
    s->status = ingest_otlp_span_status(code);
    return 0;
}

/* One event {timeUnixNano, name, attributes, droppedAttributesCount} added to the span's list. */
static int span_event(parser_t *p, size_t i)
{
    size_t old = path_push(p, ".events[%zu]", i);
    int rc = -1;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        bad_field(p, NULL, "expected an object");
        rc = skip_value(p);
        goto out;
    }
    jscan_object_begin(&p->j);
    span_bufs_t *sb = &p->sp;
    sb->event_name.s.s = NULL;
    buf_reset(&sb->event_attrs);
    int64_t t = 0;
    uint32_t dropped = 0;
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (is(&k, "timeUnixNano", "time_unix_nano"))
            r = read_time(p, "timeUnixNano", &t);
        else if (is(&k, "name", NULL))
            r = read_text(p, "name", &sb->event_name);
        else if (is(&k, "attributes", NULL))
            r = attributes(p, &sb->event_attrs, "attributes", NULL, NULL, 0);
        else if (is(&k, "droppedAttributesCount", "dropped_attributes_count"))
            r = read_u32(p, "droppedAttributesCount", &dropped);
        else
            r = skip_value(p);
        if (r != 0) goto out;
    }
    if (m < 0) {
        rc = syntax_fail(p);
        goto out;
    }
    rc = 0;
    if (p->bad) goto out;
    ingest_err_t e;
    istr_t attrs = sb->event_attrs.len ? istr_buf(&sb->event_attrs) : ISTR_NONE;
    if (ingest_list_add_event(&sb->events, istr_of(&sb->event_name), t, attrs, dropped, p->path, &e) != 0) {
        if (e.status != 400) {
            *p->err = e;
            rc = -1;
        } else if (!p->bad) {
            p->bad = 1;
            p->rej = e;
        }
    }
out:
    path_pop(p, old);
    return rc;
}

/* One link {traceId, spanId, traceState, attributes, droppedAttributesCount, flags}. */
static int span_link(parser_t *p, size_t i)
{
    size_t old = path_push(p, ".links[%zu]", i);
    int rc = -1;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        bad_field(p, NULL, "expected an object");
        rc = skip_value(p);
        goto out;
    }
    jscan_object_begin(&p->j);
    span_bufs_t *sb = &p->sp;
    sb->link_state.s.s = NULL;
    buf_reset(&sb->link_attrs);
    char trace[33] = "", span[17] = "";
    uint32_t dropped = 0, flags = 0;
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (is(&k, "traceId", "trace_id"))
            r = read_id(p, "traceId", TRACE_ID_BYTES, trace);
        else if (is(&k, "spanId", "span_id"))
            r = read_id(p, "spanId", SPAN_ID_BYTES, span);
        else if (is(&k, "traceState", "trace_state"))
            r = read_text(p, "traceState", &sb->link_state);
        else if (is(&k, "attributes", NULL))
            r = attributes(p, &sb->link_attrs, "attributes", NULL, NULL, 0);
        else if (is(&k, "droppedAttributesCount", "dropped_attributes_count"))
            r = read_u32(p, "droppedAttributesCount", &dropped);
        else if (is(&k, "flags", NULL))
            r = read_u32(p, "flags", &flags);
        else
            r = skip_value(p);
        if (r != 0) goto out;
    }
    if (m < 0) {
        rc = syntax_fail(p);
        goto out;
    }
    rc = 0;
    if (p->bad) goto out;
    ingest_err_t e;
    istr_t attrs = sb->link_attrs.len ? istr_buf(&sb->link_attrs) : ISTR_NONE;
    if (ingest_list_add_link(&sb->links, trace, span, istr_of(&sb->link_state), flags, attrs, dropped,
                             p->path, &e) != 0) {
        if (e.status != 400) {
            *p->err = e;
            rc = -1;
        } else if (!p->bad) {
            p->bad = 1;
            p->rej = e;
        }
    }
out:
    path_pop(p, old);
    return rc;
}

/* events or links: an array read one element at a time by `fn`. */
static int span_list(parser_t *p, const char *field, int (*fn)(parser_t *, size_t))
{
    if (take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_ARRAY) {
        bad_field(p, field, "expected an array");
        return skip_value(p);
    }
    jscan_array_begin(&p->j);
    int e;
    size_t i = 0;
    while ((e = jscan_array_next(&p->j)) == 1)
        if (fn(p, i++) != 0) return -1;
    return e < 0 ? syntax_fail(p) : 0;
}

static int span_field(parser_t *p, const jstr_t *k, ingest_span_t *s, int *has_attrs)
{
    span_bufs_t *sb = &p->sp;
    if (is(k, "traceId", "trace_id")) return read_id(p, "traceId", TRACE_ID_BYTES, s->trace_id);
    if (is(k, "spanId", "span_id")) return read_id(p, "spanId", SPAN_ID_BYTES, s->span_id);
    if (is(k, "parentSpanId", "parent_span_id"))
        return read_id(p, "parentSpanId", SPAN_ID_BYTES, s->parent_span_id);
    if (is(k, "name", NULL)) return read_text(p, "name", &sb->name);
    if (is(k, "kind", NULL)) return read_enum(p, "kind", "SPAN_KIND_", span_kind_names, 6, &s->kind);
    if (is(k, "startTimeUnixNano", "start_time_unix_nano"))
        return read_time(p, "startTimeUnixNano", &s->start_ns);
    if (is(k, "endTimeUnixNano", "end_time_unix_nano")) return read_time(p, "endTimeUnixNano", &s->end_ns);
    if (is(k, "attributes", NULL)) {
        *has_attrs = 1;
        return attributes(p, &sb->attrs, "attributes", NULL, NULL, 0);
    }
    if (is(k, "traceState", "trace_state")) return read_text(p, "traceState", &sb->trace_state);
    if (is(k, "flags", NULL)) return read_u32(p, "flags", &s->flags);
    if (is(k, "status", NULL)) return span_status(p, s);
    if (is(k, "events", NULL)) {
        s->events = &sb->events;
        return span_list(p, "events", span_event);
    }
    if (is(k, "links", NULL)) {
        s->links = &sb->links;
        return span_list(p, "links", span_link);
    }
    if (is(k, "droppedAttributesCount", "dropped_attributes_count"))
        return read_u32(p, "droppedAttributesCount", &s->dropped_attributes);
    if (is(k, "droppedEventsCount", "dropped_events_count"))
        return read_u32(p, "droppedEventsCount", &s->dropped_events);
    if (is(k, "droppedLinksCount", "dropped_links_count"))
        return read_u32(p, "droppedLinksCount", &s->dropped_links);
    return skip_value(p);
}

static int one_span(parser_t *p)
{
    if (jscan_peek(&p->j) != JT_OBJECT) return not_an_object(p);
    span_bufs_t *sb = &p->sp;
    ingest_span_t s;
    memset(&s, 0, sizeof(s));
    s.resource = &p->res;
    s.scope = &p->scope;
    sb->name.s.s = sb->trace_state.s.s = sb->status_message.s.s = NULL;
    ingest_list_reset(&sb->events);
    ingest_list_reset(&sb->links);
    int has_attrs = 0, m;
    jscan_object_begin(&p->j);
    jstr_t k;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1)
        if (span_field(p, &k, &s, &has_attrs) != 0) return -1;
    if (m < 0) return syntax_fail(p);
    if (rejected(p)) return 0;
    s.kind = ingest_otlp_span_kind(s.kind);
    s.name = istr_of(&sb->name);
    s.trace_state = istr_of(&sb->trace_state);
    s.status_message = istr_of(&sb->status_message);
    s.attributes = has_attrs ? istr_buf(&sb->attrs) : ISTR_NONE;
    ingest_err_t e;
    return finish(p, ingest_record_span(p->b, &s, span_names, p->path, &e), &e);
}

/* ---- logs ---- */

static const char *const log_names[LF_COUNT] = {[LF_TIME] = "timeUnixNano",
                                                [LF_SERVICE] = "resource.attributes.service.name",
                                                [LF_LEVEL] = "severityText",
                                                [LF_MESSAGE] = "body",
                                                [LF_TRACE_ID] = "traceId",
                                                [LF_SPAN_ID] = "spanId",
                                                [LF_STACK] = "attributes.exception.stacktrace",
                                                [LF_ATTRIBUTES] = "attributes",
                                                [LF_BODY] = "body",
                                                [LF_EVENT_NAME] = "eventName"};

/* The body: a string is the message; any other AnyValue is stored as JSON and its compact text is the
 * message. */
static int log_body(parser_t *p, ingest_log_t *l)
{
    log_bufs_t *lb = &p->lg;
    buf_reset(&lb->body);
    if (any_value(p, &lb->body, 1, "body", &lb->message) != 0) return -1;
    if (lb->message.s.s) { /* a string */
        l->message = istr_of(&lb->message);
        l->body = ISTR_NONE;
    } else if (lb->body.len == 4 && memcmp(lb->body.data, "null", 4) == 0) {
        l->message = ISTR_LIT("");
        l->body = ISTR_NONE;
    } else {
        l->message = istr_buf(&lb->body);
        l->body = istr_buf(&lb->body);
    }
    return 0;
}

static int log_field(parser_t *p, const jstr_t *k, ingest_log_t *l, int *has_attrs, int *number)
{
    log_bufs_t *lb = &p->lg;
    if (is(k, "timeUnixNano", "time_unix_nano")) return read_time(p, "timeUnixNano", &l->ts_ns);
    if (is(k, "observedTimeUnixNano", "observed_time_unix_nano"))
        return read_time(p, "observedTimeUnixNano", &l->observed_ns);
    if (is(k, "severityNumber", "severity_number"))
        return read_enum(p, "severityNumber", "SEVERITY_NUMBER_", severity_number_names, 25, number);
    if (is(k, "severityText", "severity_text")) return read_text(p, "severityText", &lb->level);
    if (is(k, "body", NULL)) return log_body(p, l);
    if (is(k, "attributes", NULL)) {
        *has_attrs = 1;
        return attributes(p, &lb->attrs, "attributes", OTLP_STACK_KEY, &lb->stack, 1);
    }
    if (is(k, "droppedAttributesCount", "dropped_attributes_count"))
        return read_u32(p, "droppedAttributesCount", &l->dropped_attributes);
    if (is(k, "flags", NULL)) return read_u32(p, "flags", &l->flags);
    if (is(k, "traceId", "trace_id")) return read_id(p, "traceId", TRACE_ID_BYTES, l->trace_id);
    if (is(k, "spanId", "span_id")) return read_id(p, "spanId", SPAN_ID_BYTES, l->span_id);
    if (is(k, "eventName", "event_name")) return read_text(p, "eventName", &lb->event_name);
    return skip_value(p);
}

static int one_log(parser_t *p)
{
    if (jscan_peek(&p->j) != JT_OBJECT) return not_an_object(p);
    log_bufs_t *lb = &p->lg;
    ingest_log_t l;
    memset(&l, 0, sizeof(l));
    l.resource = &p->res;
    l.scope = &p->scope;
    l.message = ISTR_LIT("");
    lb->level.s.s = lb->event_name.s.s = lb->stack.s.s = NULL;
    int has_attrs = 0, number = 0, m;
    jscan_object_begin(&p->j);
    jstr_t k;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1)
        if (log_field(p, &k, &l, &has_attrs, &number) != 0) return -1;
    if (m < 0) return syntax_fail(p);
    if (rejected(p)) return 0;
    l.severity = ingest_otlp_severity(number, istr_of(&lb->level), &l.level);
    l.severity_number = number >= 0 && number <= 24 ? number : 0;
    l.stack_trace = istr_of(&lb->stack);
    l.event_name = istr_of(&lb->event_name);
    l.attributes = has_attrs ? istr_buf(&lb->attrs) : ISTR_NONE;
    ingest_err_t e;
    return finish(p, ingest_record_log(p->b, &l, log_names, p->path, &e), &e);
}

/* ---- metrics: each data point is one record ---- */

typedef struct {
    const char *member; /* "gauge", ... */
    ingest_metric_kind_t kind;
    const char *value_field, *buckets_field;
} metric_shape_t;

static const metric_shape_t shapes[] = {
    {"gauge", METRIC_GAUGE, "asDouble", "bucketCounts"},
    {"sum", METRIC_SUM, "asDouble", "bucketCounts"},
    {"histogram", METRIC_HISTOGRAM, "count", "bucketCounts"},
    {"exponentialHistogram", METRIC_EXP_HISTOGRAM, "count", "positive"},
    {"summary", METRIC_SUMMARY, "count", "quantileValues"},
};
static const char *const shape_snake[] = {"gauge", "sum", "histogram", "exponential_histogram", "summary"};

/* What a metric's data points share. */
typedef struct {
    const metric_shape_t *shape;
    int temporality, monotonic;
    size_t plen; /* the metric's path: the prefix of its points' errors */
} metric_ctx_t;

/* An array of numbers appended to `arr` (doubles or uint64) up to INGEST_MAX_BUCKETS + 1 of them. */
static int number_array(parser_t *p, const char *field, buf_t *arr, int doubles)
{
    buf_reset(arr);
    if (take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_ARRAY) {
        bad_field(p, field, "expected an array");
        return skip_value(p);
    }
    jscan_array_begin(&p->j);
    int e;
    while ((e = jscan_array_next(&p->j)) == 1) {
        double d = 0;
        uint64_t u = 0;
        int present, rc = doubles ? read_double(p, field, &d, &present) : read_u64(p, field, &u);
        if (rc != 0) return -1;
        if ((doubles ? buf_append(arr, &d, sizeof(d)) : buf_append(arr, &u, sizeof(u))) != 0)
            bad_field(p, field, "more than %d buckets", INGEST_MAX_BUCKETS + 1);
    }
    return e < 0 ? syntax_fail(p) : 0;
}

static const double *doubles_of(const buf_t *b, size_t *n)
{
    *n = b->len / sizeof(double);
    return (const double *)(const void *)b->data;
}

static const uint64_t *u64s_of(const buf_t *b, size_t *n)
{
    *n = b->len / sizeof(uint64_t);
    return (const uint64_t *)(const void *)b->data;
}

/* Exponential buckets {offset, bucketCounts}. */
static int exp_buckets(parser_t *p, const char *field, int32_t *offset, buf_t *counts)
{
    buf_reset(counts);
    if (take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        bad_field(p, field, "expected an object");
        return skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int rc;
        int64_t off = 0;
        if (is(&k, "offset", NULL)) {
            rc = read_i64(p, field, &off);
            if (off < INT32_MIN || off > INT32_MAX) bad_field(p, field, "offset out of range");
            *offset = (int32_t)off;
        } else if (is(&k, "bucketCounts", "bucket_counts")) {
            rc = number_array(p, field, counts, 0);
        } else {
            rc = skip_value(p);
        }
        if (rc != 0) return -1;
    }
    return m < 0 ? syntax_fail(p) : 0;
}

/* quantileValues [{quantile, value}]. */
static int quantiles(parser_t *p)
{
    metric_bufs_t *mb = &p->mt;
    buf_reset(&mb->quantiles);
    buf_reset(&mb->values);
    if (take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_ARRAY) {
        bad_field(p, "quantileValues", "expected an array");
        return skip_value(p);
    }
    jscan_array_begin(&p->j);
    int e;
    while ((e = jscan_array_next(&p->j)) == 1) {
        double q = 0, v = 0;
        int present, m;
        jstr_t k;
        if (jscan_peek(&p->j) != JT_OBJECT) {
            bad_field(p, "quantileValues", "expected an object");
            if (skip_value(p) != 0) return -1;
            continue;
        }
        jscan_object_begin(&p->j);
        while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
            int rc = is(&k, "quantile", NULL) ? read_double(p, "quantileValues", &q, &present)
                     : is(&k, "value", NULL)  ? read_double(p, "quantileValues", &v, &present)
                                              : skip_value(p);
            if (rc != 0) return -1;
        }
        if (m < 0) return syntax_fail(p);
        if (buf_append(&mb->quantiles, &q, sizeof(q)) != 0 || buf_append(&mb->values, &v, sizeof(v)) != 0)
            bad_field(p, "quantileValues", "more than %d quantiles", INGEST_MAX_BUCKETS + 1);
    }
    return e < 0 ? syntax_fail(p) : 0;
}

/* Every field any data point shape may carry. */
typedef struct {
    ingest_metric_t m;
    int has_value, has_labels;
    ingest_histogram_t h;
    ingest_exp_histogram_t x;
    ingest_summary_t s;
    uint64_t count;
    double sum, min, max;
    int has_sum, has_min, has_max;
} point_t;

static int point_field(parser_t *p, const jstr_t *k, point_t *pt)
{
    metric_bufs_t *mb = &p->mt;
    int present = 0, rc;
    int64_t i = 0;
    if (is(k, "timeUnixNano", "time_unix_nano")) return read_time(p, "timeUnixNano", &pt->m.ts_ns);
    if (is(k, "startTimeUnixNano", "start_time_unix_nano"))
        return read_time(p, "startTimeUnixNano", &pt->m.start_ns);
    if (is(k, "attributes", NULL)) {
        pt->has_labels = 1;
        return attributes(p, &mb->labels, "attributes", NULL, NULL, 0);
    }
    if (is(k, "asDouble", "as_double")) {
        rc = read_double(p, "asDouble", &pt->m.value, &present);
        pt->has_value |= present;
        return rc;
    }
    if (is(k, "asInt", "as_int")) {
        rc = read_i64(p, "asInt", &i);
        pt->m.value = (double)i;
        pt->has_value = 1;
        return rc;
    }
    if (is(k, "count", NULL)) return read_u64(p, "count", &pt->count);
    if (is(k, "sum", NULL)) {
        rc = read_double(p, "sum", &pt->sum, &present);
        pt->has_sum |= present;
        return rc;
    }
    if (is(k, "min", NULL)) {
        rc = read_double(p, "min", &pt->min, &present);
        pt->has_min |= present;
        return rc;
    }
    if (is(k, "max", NULL)) {
        rc = read_double(p, "max", &pt->max, &present);
        pt->has_max |= present;
        return rc;
    }
    if (is(k, "bucketCounts", "bucket_counts")) return number_array(p, "bucketCounts", &mb->counts, 0);
    if (is(k, "explicitBounds", "explicit_bounds")) return number_array(p, "explicitBounds", &mb->bounds, 1);
    if (is(k, "scale", NULL)) {
        rc = read_i64(p, "scale", &i);
        if (i < INT32_MIN || i > INT32_MAX) bad_field(p, "scale", "out of range");
        pt->x.scale = (int32_t)i;
        return rc;
    }
    if (is(k, "zeroCount", "zero_count")) return read_u64(p, "zeroCount", &pt->x.zero_count);
    if (is(k, "zeroThreshold", "zero_threshold"))
        return read_double(p, "zeroThreshold", &pt->x.zero_threshold, &present);
    if (is(k, "positive", NULL)) return exp_buckets(p, "positive", &pt->x.positive_offset, &mb->positive);
    if (is(k, "negative", NULL)) return exp_buckets(p, "negative", &pt->x.negative_offset, &mb->negative);
    if (is(k, "quantileValues", "quantile_values")) return quantiles(p);
    return skip_value(p);
}

/* The shape of a finished point, from its fields. */
static void point_shape(parser_t *p, const metric_ctx_t *c, point_t *pt)
{
    metric_bufs_t *mb = &p->mt;
    switch (c->shape->kind) {
    case METRIC_GAUGE:
    case METRIC_SUM:
        if (!pt->has_value) bad_field(p, "asDouble", "expected asDouble or asInt");
        break;
    case METRIC_HISTOGRAM:
        pt->h = (ingest_histogram_t){.count = pt->count,
                                     .sum = pt->sum,
                                     .min = pt->min,
                                     .max = pt->max,
                                     .has_sum = pt->has_sum,
                                     .has_min = pt->has_min,
                                     .has_max = pt->has_max};
        pt->h.bounds = doubles_of(&mb->bounds, &pt->h.nbounds);
        pt->h.counts = u64s_of(&mb->counts, &pt->h.ncounts);
        pt->m.histogram = &pt->h;
        break;
    case METRIC_EXP_HISTOGRAM:
        pt->x.count = pt->count;
        pt->x.sum = pt->sum, pt->x.min = pt->min, pt->x.max = pt->max;
        pt->x.has_sum = pt->has_sum, pt->x.has_min = pt->has_min, pt->x.has_max = pt->has_max;
        pt->x.positive = u64s_of(&mb->positive, &pt->x.npositive);
        pt->x.negative = u64s_of(&mb->negative, &pt->x.nnegative);
        pt->m.exp_histogram = &pt->x;
        break;
    case METRIC_SUMMARY:
        pt->s = (ingest_summary_t){.count = pt->count, .sum = pt->sum};
        pt->s.quantiles = doubles_of(&mb->quantiles, &pt->s.n);
        pt->s.values = doubles_of(&mb->values, &pt->s.n);
        pt->m.summary = &pt->s;
        break;
    }
    if (c->shape->kind >= METRIC_HISTOGRAM) pt->m.value = (double)pt->count;
}

static int one_point(parser_t *p, const metric_ctx_t *c, size_t i)
{
    if (record_begin(p, "resourceMetrics") != 0) return -1;
    size_t old = path_push(p, ".dataPoints[%zu]", i);
    int rc = -1;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        rc = not_an_object(p);
        goto out;
    }
    metric_bufs_t *mb = &p->mt;
    point_t pt;
    memset(&pt, 0, sizeof(pt));
    buf_reset(&mb->bounds), buf_reset(&mb->counts), buf_reset(&mb->positive), buf_reset(&mb->negative);
    buf_reset(&mb->quantiles), buf_reset(&mb->values);
    jscan_object_begin(&p->j);
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1)
        if (point_field(p, &k, &pt) != 0) goto out;
    if (m < 0) {
        rc = syntax_fail(p);
        goto out;
    }
    point_shape(p, c, &pt);
    rc = 0;
    if (rejected(p)) goto out;
    pt.m.resource = &p->res;
    pt.m.scope = &p->scope;
    pt.m.name = istr_of(&mb->name);
    pt.m.unit = istr_of(&mb->unit);
    pt.m.kind = c->shape->kind;
    pt.m.temporality =
        c->shape->kind == METRIC_GAUGE || c->shape->kind == METRIC_SUMMARY ? 0 : c->temporality;
    pt.m.monotonic = c->shape->kind == METRIC_SUM && c->monotonic;
    pt.m.labels = pt.has_labels ? istr_buf(&mb->labels) : ISTR_NONE;
    /* errors name the point's fields from the metric's path: "<metric>.sum.dataPoints[2].timeUnixNano" */
    static const char *const fields[MF_COUNT] = {
        [MF_TIME] = "timeUnixNano", [MF_SERVICE] = "resource.attributes.service.name",
        [MF_NAME] = "name",         [MF_VALUE] = NULL,
        [MF_LABELS] = "attributes", [MF_START] = "startTimeUnixNano",
        [MF_BUCKETS] = NULL};
    char bufs[MF_COUNT][128];
    const char *names[MF_COUNT];
    const char *rel = p->path + c->plen + (p->path[c->plen] == '.');
    for (int f = 0; f < MF_COUNT; f++) {
        const char *name = f == MF_VALUE     ? c->shape->value_field
                           : f == MF_BUCKETS ? c->shape->buckets_field
                                             : fields[f];
        if (f == MF_NAME || f == MF_SERVICE)
            snprintf(bufs[f], sizeof(bufs[f]), "%s", name);
        else
            snprintf(bufs[f], sizeof(bufs[f]), "%s.%s", rel, name);
        names[f] = bufs[f];
    }
    char prefix[sizeof(p->path)];
    snprintf(prefix, sizeof(prefix), "%.*s", (int)c->plen, p->path);
    ingest_err_t e;
    rc = finish(p, ingest_record_metric(p->b, &pt.m, names, prefix, &e), &e);
out:
    path_pop(p, old);
    return rc;
}

static int points(parser_t *p, const metric_ctx_t *c)
{
    if (take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_ARRAY) return envelope_fail(p, p->path, "dataPoints to be an array");
    jscan_array_begin(&p->j);
    int e;
    size_t i = 0;
    while ((e = jscan_array_next(&p->j)) == 1)
        if (one_point(p, c, i++) != 0) return -1;
    return e < 0 ? syntax_fail(p) : 0;
}

/* ---------------- envelopes ---------------- */

/* Children met before the context they need: where they start, to come back to them. */
typedef struct {
    int pending;
    jscan_t at;
} later_t;

static int defer(parser_t *p, later_t *l)
{
    l->pending = 1;
    l->at = p->j;
    return skip_value(p);
}

/* The data of a metric: {"dataPoints":[...], "aggregationTemporality", "isMonotonic"}. */
static int metric_data(parser_t *p, metric_ctx_t *c)
{
    size_t old = path_push(p, ".%s", c->shape->member);
    int rc = -1, m, has_temporality = 0, has_monotonic = 0;
    later_t later = {0};
    if (jscan_peek(&p->j) != JT_OBJECT) {
        rc = envelope_fail(p, p->path, "an object");
        goto out;
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (is(&k, "dataPoints", "data_points")) {
            /* sums and histograms need their temporality, which exporters write after the points */
            int ready = c->shape->kind == METRIC_GAUGE || c->shape->kind == METRIC_SUMMARY ||
                        (has_temporality && (has_monotonic || c->shape->kind != METRIC_SUM));
            if (ready) take_ctx(p, CTX_METRIC);
            r = ready ? points(p, c) : defer(p, &later);
        } else if (is(&k, "aggregationTemporality", "aggregation_temporality")) {
            has_temporality = 1;
            r = read_enum(p, "aggregationTemporality", "AGGREGATION_TEMPORALITY_", temporality_names, 3,
                          &c->temporality);
        } else if (is(&k, "isMonotonic", "is_monotonic")) {
            has_monotonic = 1;
            r = read_bool(p, "isMonotonic", &c->monotonic);
        } else {
            r = skip_value(p);
        }
        if (r != 0) goto out;
    }
    if (m < 0) {
        rc = syntax_fail(p);
        goto out;
    }
    take_ctx(p, CTX_METRIC);
    if (later.pending) {
        jscan_t here = p->j;
        p->j = later.at;
        if (points(p, c) != 0) goto out;
        p->j = here;
    }
    rc = 0;
out:
    path_pop(p, old);
    return rc;
}

static int shape_of(const jstr_t *k)
{
    for (int i = 0; i < (int)(sizeof(shapes) / sizeof(*shapes)); i++)
        if (is(k, shapes[i].member, shape_snake[i])) return i;
    return -1;
}

/* One metric {name, description, unit, gauge|sum|histogram|exponentialHistogram|summary}: its name
 * and unit are read before its points (exporters write them first). */
static int one_metric(parser_t *p)
{
    metric_bufs_t *mb = &p->mt;
    metric_ctx_t c = {.plen = p->plen};
    mb->name.s.s = mb->unit.s.s = NULL;
    p->ctx_bad[CTX_METRIC] = 0;
    p->bad = 0;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        if (record_begin(p, "resourceMetrics") != 0) return -1;
        return not_an_object(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, has_name = 0, has_unit = 0, data = 0, shape;
    later_t later = {0};
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (is(&k, "name", NULL)) {
            has_name = 1;
            r = read_text(p, "name", &mb->name);
        } else if (is(&k, "unit", NULL)) {
            has_unit = 1;
            r = read_text(p, "unit", &mb->unit);
        } else if ((shape = shape_of(&k)) >= 0) {
            data = 1;
            c.shape = &shapes[shape];
            r = has_name && has_unit ? metric_data(p, &c) : defer(p, &later);
        } else {
            r = skip_value(p);
        }
        if (r != 0) return -1;
    }
    if (m < 0) return syntax_fail(p);
    if (!data) { /* no points: the metric counts as one rejected record */
        if (record_begin(p, "resourceMetrics") != 0) return -1;
        bad_field(p, NULL, "expected one of gauge, sum, histogram, exponentialHistogram, summary");
        ingest_batch_reject(p->b, &p->rej);
        return 0;
    }
    if (later.pending) {
        jscan_t here = p->j;
        p->j = later.at;
        if (metric_data(p, &c) != 0) return -1;
        p->j = here;
    }
    return 0;
}

/* A signal's envelope names: resourceSpans / scopeSpans / spans and so on. */
typedef struct {
    const char *top, *top_snake, *scopes, *scopes_snake, *leaves, *leaves_snake;
    int (*leaf)(parser_t *p);
    int counts_leaves; /* each leaf is one record (spans, logs); metrics count their points */
} signal_t;

static int leaves(parser_t *p, const signal_t *sig)
{
    size_t old = path_push(p, ".%s", sig->leaves);
    int rc = -1, e;
    if (take_null(p)) {
        rc = 0;
        goto out;
    }
    if (jscan_peek(&p->j) != JT_ARRAY) {
        rc = envelope_fail(p, p->path, "an array");
        goto out;
    }
    jscan_array_begin(&p->j);
    size_t i = 0;
    while ((e = jscan_array_next(&p->j)) == 1) {
        size_t at = path_push(p, "[%zu]", i++);
        if (sig->counts_leaves && record_begin(p, sig->top) != 0) goto out;
        if (sig->leaf(p) != 0) goto out;
        path_pop(p, at);
    }
    rc = e < 0 ? syntax_fail(p) : 0;
out:
    path_pop(p, old);
    return rc;
}

static int read_scope(parser_t *p)
{
    if (take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        bad_field(p, "scope", "expected an object");
        return skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r = is(&k, "name", NULL)      ? read_text(p, "scope.name", &p->scope_name)
                : is(&k, "version", NULL) ? read_text(p, "scope.version", &p->scope_version)
                                          : skip_value(p);
        if (r != 0) return -1;
    }
    return m < 0 ? syntax_fail(p) : 0;
}

/* One ScopeSpans / ScopeLogs / ScopeMetrics {scope, <leaves>, schemaUrl}. */
static int one_scope(parser_t *p, const signal_t *sig)
{
    if (jscan_peek(&p->j) != JT_OBJECT) return envelope_fail(p, p->path, "an object");
    p->scope_name.s.s = p->scope_version.s.s = NULL;
    p->ctx_bad[CTX_SCOPE] = 0;
    p->bad = 0;
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, has_scope = 0;
    later_t later = {0};
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (is(&k, "scope", NULL)) {
            has_scope = 1;
            r = read_scope(p);
        } else if (is(&k, sig->leaves, sig->leaves_snake)) {
            if (has_scope) {
                p->scope.name = istr_of(&p->scope_name);
                p->scope.version = istr_of(&p->scope_version);
                take_ctx(p, CTX_SCOPE);
            }
            r = has_scope ? leaves(p, sig) : defer(p, &later);
        } else {
            r = skip_value(p);
        }
        if (r != 0) return -1;
    }
    if (m < 0) return syntax_fail(p);
    if (later.pending) {
        p->scope.name = istr_of(&p->scope_name);
        p->scope.version = istr_of(&p->scope_version);
        take_ctx(p, CTX_SCOPE);
        jscan_t here = p->j;
        p->j = later.at;
        if (leaves(p, sig) != 0) return -1;
        p->j = here;
    }
    return 0;
}

static int scopes(parser_t *p, const signal_t *sig)
{
    size_t old = path_push(p, ".%s", sig->scopes);
    int rc = -1, e;
    if (take_null(p)) {
        rc = 0;
        goto out;
    }
    if (jscan_peek(&p->j) != JT_ARRAY) {
        rc = envelope_fail(p, p->path, "an array");
        goto out;
    }
    jscan_array_begin(&p->j);
    size_t i = 0;
    while ((e = jscan_array_next(&p->j)) == 1) {
        size_t at = path_push(p, "[%zu]", i++);
        if (one_scope(p, sig) != 0) goto out;
        path_pop(p, at);
    }
    rc = e < 0 ? syntax_fail(p) : 0;
out:
    path_pop(p, old);
    return rc;
}

/* Resource {attributes, droppedAttributesCount}: service.name is taken from the attributes. */
static int read_resource(parser_t *p, int *has_attrs)
{
    if (take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        bad_field(p, "resource", "expected an object");
        return skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (is(&k, "attributes", NULL)) {
            *has_attrs = 1;
            r = attributes(p, &p->res_attrs, "resource.attributes", OTLP_SERVICE_KEY, &p->service, 0);
        } else if (is(&k, "droppedAttributesCount", "dropped_attributes_count")) {
            r = read_u32(p, "resource.droppedAttributesCount", &p->res.dropped_attributes);
        } else {
            r = skip_value(p);
        }
        if (r != 0) return -1;
    }
    return m < 0 ? syntax_fail(p) : 0;
}

/* The resource is complete: its hash is computed and its row added (once per batch). */
static int resource_done(parser_t *p, int has_attrs)
{
    p->res.service = istr_of(&p->service);
    p->res.attributes = has_attrs ? istr_buf(&p->res_attrs) : ISTR_NONE;
    p->res.schema_url = istr_of(&p->schema_url);
    take_ctx(p, CTX_RESOURCE);
    if (p->ctx_bad[CTX_RESOURCE]) return 0;
    ingest_err_t e;
    if (ingest_record_resource(p->b, &p->res, p->path, &e) == 0) return 0;
    if (e.status != 400) {
        *p->err = e;
        return -1;
    }
    p->ctx_bad[CTX_RESOURCE] = 1;
    p->ctx_err[CTX_RESOURCE] = e;
    return 0;
}

/* One ResourceSpans / ResourceLogs / ResourceMetrics {resource, <scopes>, schemaUrl}. The schema URL
 * is part of the resource's identity and exporters write it after the scopes: these are read after
 * the whole object unless both came first. */
static int one_resource(parser_t *p, const signal_t *sig)
{
    if (jscan_peek(&p->j) != JT_OBJECT) return envelope_fail(p, p->path, "an object");
    memset(&p->res, 0, sizeof(p->res));
    p->service.s.s = p->schema_url.s.s = NULL;
    memset(p->ctx_bad, 0, sizeof(p->ctx_bad));
    p->bad = 0;
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, has_resource = 0, has_schema = 0, has_attrs = 0, done = 0;
    later_t later = {0};
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (is(&k, "resource", NULL)) {
            has_resource = 1;
            r = read_resource(p, &has_attrs);
        } else if (is(&k, "schemaUrl", "schema_url")) {
            has_schema = 1;
            r = read_text(p, "schemaUrl", &p->schema_url);
        } else if (is(&k, sig->scopes, sig->scopes_snake)) {
            if (has_resource && has_schema && !done) {
                done = 1;
                if (resource_done(p, has_attrs) != 0) return -1;
            }
            r = done ? scopes(p, sig) : defer(p, &later);
        } else {
            r = skip_value(p);
        }
        if (r != 0) return -1;
    }
    if (m < 0) return syntax_fail(p);
    if (!done && resource_done(p, has_attrs) != 0) return -1;
    if (later.pending) {
        jscan_t here = p->j;
        p->j = later.at;
        if (scopes(p, sig) != 0) return -1;
        p->j = here;
    }
    return 0;
}

static const signal_t signals[] = {
    [INGEST_SPANS] = {"resourceSpans", "resource_spans", "scopeSpans", "scope_spans", "spans", NULL, one_span,
                      1},
    [INGEST_LOGS] = {"resourceLogs", "resource_logs", "scopeLogs", "scope_logs", "logRecords", "log_records",
                     one_log, 1},
    [INGEST_METRICS] = {"resourceMetrics", "resource_metrics", "scopeMetrics", "scope_metrics", "metrics",
                        NULL, one_metric, 0},
};

static int export_request(parser_t *p, const signal_t *sig)
{
    if (jscan_peek(&p->j) != JT_OBJECT) return envelope_fail(p, "", "a JSON object");
    jscan_object_begin(&p->j);
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        if (!is(&k, sig->top, sig->top_snake)) {
            if (skip_value(p) != 0) return -1;
            continue;
        }
        if (take_null(p)) continue;
        if (jscan_peek(&p->j) != JT_ARRAY) return envelope_fail(p, sig->top, "an array");
        jscan_array_begin(&p->j);
        int e;
        size_t i = 0;
        while ((e = jscan_array_next(&p->j)) == 1) {
            path_push(p, "%s[%zu]", sig->top, i++);
            if (one_resource(p, sig) != 0) return -1;
            path_pop(p, 0);
        }
        if (e < 0) return syntax_fail(p);
    }
    if (m < 0 || jscan_finish(&p->j) != 0) return syntax_fail(p);
    return 0;
}

/* ---------------- parser ---------------- */

static void text_init(text_t *t, size_t cap)
{
    t->s.s = NULL;
    t->s.n = 0;
    buf_init(&t->buf, cap);
}

static void parser_init(parser_t *p, size_t body_len)
{
    memset(p, 0, sizeof(*p));
    size_t cap = body_len + 16;
    p->text_cap = cap;
    buf_init(&p->key, cap);
    buf_init(&p->str, cap);
    buf_init(&p->bytes, cap);
    buf_init(&p->spill, SPILL_CAP);
    text_init(&p->service, cap);
    text_init(&p->schema_url, cap);
    buf_init(&p->res_attrs, ATTR_CAP);
    text_init(&p->scope_name, cap);
    text_init(&p->scope_version, cap);
    span_bufs_t *sb = &p->sp;
    text_init(&sb->name, cap), text_init(&sb->trace_state, cap), text_init(&sb->status_message, cap);
    text_init(&sb->event_name, cap), text_init(&sb->link_state, cap);
    buf_init(&sb->attrs, ATTR_CAP), buf_init(&sb->event_attrs, ATTR_CAP), buf_init(&sb->link_attrs, ATTR_CAP);
    ingest_list_init(&sb->events, LIST_CAP);
    ingest_list_init(&sb->links, LIST_CAP);
    log_bufs_t *lb = &p->lg;
    text_init(&lb->level, cap), text_init(&lb->event_name, cap), text_init(&lb->stack, cap);
    text_init(&lb->message, cap);
    buf_init(&lb->body, BODY_CAP), buf_init(&lb->attrs, ATTR_CAP);
    metric_bufs_t *mb = &p->mt;
    text_init(&mb->name, cap), text_init(&mb->unit, cap);
    buf_init(&mb->labels, ATTR_CAP);
    buf_init(&mb->bounds, ARRAY_CAP), buf_init(&mb->counts, ARRAY_CAP), buf_init(&mb->positive, ARRAY_CAP);
    buf_init(&mb->negative, ARRAY_CAP), buf_init(&mb->quantiles, ARRAY_CAP), buf_init(&mb->values, ARRAY_CAP);
}

static void parser_dispose(parser_t *p)
{
    buf_t *bufs[] = {&p->key,
                     &p->str,
                     &p->bytes,
                     &p->spill,
                     &p->service.buf,
                     &p->schema_url.buf,
                     &p->res_attrs,
                     &p->scope_name.buf,
                     &p->scope_version.buf,
                     &p->sp.name.buf,
                     &p->sp.trace_state.buf,
                     &p->sp.status_message.buf,
                     &p->sp.event_name.buf,
                     &p->sp.link_state.buf,
                     &p->sp.attrs,
                     &p->sp.event_attrs,
                     &p->sp.link_attrs,
                     &p->lg.level.buf,
                     &p->lg.event_name.buf,
                     &p->lg.stack.buf,
                     &p->lg.message.buf,
                     &p->lg.body,
                     &p->lg.attrs,
                     &p->mt.name.buf,
                     &p->mt.unit.buf,
                     &p->mt.labels,
                     &p->mt.bounds,
                     &p->mt.counts,
                     &p->mt.positive,
                     &p->mt.negative,
                     &p->mt.quantiles,
                     &p->mt.values};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(*bufs); i++)
        buf_dispose(bufs[i]);
    ingest_list_dispose(&p->sp.events);
    ingest_list_dispose(&p->sp.links);
}

int ingest_json_otlp(ingest_kind_t kind, const char *body, size_t len, size_t max_records,
                     size_t max_copy_bytes, ingest_batch_t *out, ingest_err_t *err)
{
    ingest_batch_init(out, kind, max_copy_bytes);
    if (kind != INGEST_SPANS && kind != INGEST_LOGS && kind != INGEST_METRICS) {
        ingest_batch_dispose(out);
        return ij_fail(err, 404, "", "no OTLP signal of this kind");
    }
    parser_t *p = xmalloc(sizeof(*p));
    parser_init(p, len);
    p->b = out;
    p->err = err;
    p->max_records = max_records;
    jscan_init(&p->j, body, len, SCAN_MAX_DEPTH);
    int rc = export_request(p, &signals[kind]);
    parser_dispose(p);
    free(p);
    if (rc != 0) ingest_batch_dispose(out);
    return rc;
}
