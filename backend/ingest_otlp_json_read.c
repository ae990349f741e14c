/* OTLP/HTTP JSON, the values of the JSON mapping (see ingest_otlp_json_int.h): error paths, integers
 * as numbers or strings, times, enums by number or name, hex or base64 ids, and AnyValue turned into
 * plain JSON in one pass (ingest_otlp_common.h states the rules). */
#include "ingest_otlp_json_int.h"
#include "base64.h"
#include "hexid.h"
#include "jwrite.h"
#include "rfc3339.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- errors and paths ---------------- */

int oj_syntax_fail(parser_t *p)
{
    return ij_fail(p->err, 400, "", "malformed JSON at byte %zu: %s", p->j.err_at, p->j.err ? p->j.err : "?");
}

void oj_bad_field(parser_t *p, const char *field, const char *fmt, ...)
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

size_t oj_path_push(parser_t *p, const char *fmt, ...)
{
    size_t old = p->plen;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->path + old, sizeof(p->path) - old, fmt, ap);
    va_end(ap);
    p->plen = n < 0 ? old : old + (size_t)n >= sizeof(p->path) ? sizeof(p->path) - 1 : old + (size_t)n;
    return old;
}

void oj_path_pop(parser_t *p, size_t old)
{
    p->plen = old;
    p->path[old] = '\0';
}

int oj_is(const jstr_t *k, const char *camel, const char *snake)
{
    size_t n = strlen(camel);
    if (k->n == n && memcmp(k->s, camel, n) == 0) return 1;
    if (snake == NULL) return 0;
    n = strlen(snake);
    return k->n == n && memcmp(k->s, snake, n) == 0;
}

istr_t oj_istr_of(const text_t *t)
{
    return t->s.s ? (istr_t){t->s.s, t->s.n} : ISTR_NONE;
}

istr_t oj_istr_buf(const buf_t *b)
{
    return (istr_t){b->data ? b->data : "", b->len};
}

/* ---------------- scalar readers ---------------- */

int oj_skip_value(parser_t *p)
{
    return jscan_skip(&p->j, NULL) == 0 ? 0 : oj_syntax_fail(p);
}

int oj_envelope_fail(parser_t *p, const char *path, const char *expected)
{
    if (jscan_skip(&p->j, NULL) != 0) return oj_syntax_fail(p);
    return ij_fail(p->err, 400, path, "expected %s", expected);
}

int oj_take_null(parser_t *p)
{
    if (jscan_peek(&p->j) != JT_NULL) return 0;
    jtype_t t;
    /* "nul", "nulx": not a null; the caller's next read fails on it (claiming a null here consumed
     * nothing and made array loops spin) */
    return jscan_literal(&p->j, &t) == 0;
}

int oj_read_text(parser_t *p, const char *field, text_t *t)
{
    if (oj_take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_STRING) {
        oj_bad_field(p, field, "expected a string");
        return oj_skip_value(p);
    }
    return jscan_string(&p->j, &t->s, &t->buf) == 0 ? 0 : oj_syntax_fail(p);
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
    if (oj_take_null(p)) return 0;
    jtype_t t = jscan_peek(&p->j);
    jstr_t s;
    if (t == JT_NUMBER) {
        if (jscan_number(&p->j, &s, NULL, NULL) != 0) return oj_syntax_fail(p);
    } else if (t == JT_STRING) {
        if (jscan_string(&p->j, &s, &p->str) != 0) return oj_syntax_fail(p);
    } else {
        oj_bad_field(p, field, "expected an integer");
        return oj_skip_value(p);
    }
    if (parse_integer(s.s, s.n, mag, neg) != 0 || (*neg && !is_signed) ||
        (is_signed && *mag > (*neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))) {
        oj_bad_field(p, field, "expected an integer%s", is_signed ? "" : " of at least 0");
        return 0;
    }
    *present = 1;
    return 0;
}

int oj_read_u64(parser_t *p, const char *field, uint64_t *out)
{
    uint64_t v;
    int neg, present;
    if (read_integer(p, field, 0, &v, &neg, &present) != 0) return -1;
    if (present) *out = v;
    return 0;
}

int oj_read_u32(parser_t *p, const char *field, uint32_t *out)
{
    uint64_t v = 0;
    if (oj_read_u64(p, field, &v) != 0) return -1;
    if (v > UINT32_MAX)
        oj_bad_field(p, field, "larger than %u", UINT32_MAX);
    else
        *out = (uint32_t)v;
    return 0;
}

int oj_read_i64(parser_t *p, const char *field, int64_t *out)
{
    uint64_t v;
    int neg, present;
    if (read_integer(p, field, 1, &v, &neg, &present) != 0) return -1;
    if (present) *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int oj_read_time(parser_t *p, const char *field, int64_t *ns)
{
    if (jscan_peek(&p->j) == JT_STRING) {
        jstr_t s;
        const char *why;
        uint64_t v;
        int neg;
        if (jscan_string(&p->j, &s, &p->str) != 0) return oj_syntax_fail(p);
        if (parse_integer(s.s, s.n, &v, &neg) == 0) {
            if (neg || v > INT64_MAX)
                oj_bad_field(p, field, "expected epoch nanoseconds");
            else
                *ns = (int64_t)v;
        } else if (rfc3339_parse(s.s, s.n, ns, &why) != 0) {
            oj_bad_field(p, field, "%s", why);
        }
        return 0;
    }
    uint64_t v;
    int neg, present;
    if (read_integer(p, field, 0, &v, &neg, &present) != 0) return -1;
    if (present && v > INT64_MAX)
        oj_bad_field(p, field, "expected epoch nanoseconds");
    else if (present)
        *ns = (int64_t)v;
    return 0;
}

int oj_read_double(parser_t *p, const char *field, double *out, int *present)
{
    *present = 0;
    if (oj_take_null(p)) return 0;
    jtype_t t = jscan_peek(&p->j);
    if (t == JT_NUMBER) {
        if (jscan_double(&p->j, out) != 0) return oj_syntax_fail(p);
        *present = 1;
        return 0;
    }
    if (t != JT_STRING) {
        oj_bad_field(p, field, "expected a number");
        return oj_skip_value(p);
    }
    jstr_t s;
    if (jscan_string(&p->j, &s, &p->str) != 0) return oj_syntax_fail(p);
    char tmp[64], *end;
    if (s.n == 0 || s.n >= sizeof(tmp)) {
        oj_bad_field(p, field, "expected a number");
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
        oj_bad_field(p, field, "expected a number");
        return 0;
    }
    *present = 1;
    return 0;
}

int oj_read_bool(parser_t *p, const char *field, int *out)
{
    jtype_t t = jscan_peek(&p->j);
    if (t != JT_TRUE && t != JT_FALSE && t != JT_NULL) {
        oj_bad_field(p, field, "expected true or false");
        return oj_skip_value(p);
    }
    if (jscan_literal(&p->j, &t) != 0) return oj_syntax_fail(p);
    if (t != JT_NULL) *out = t == JT_TRUE;
    return 0;
}

int oj_read_enum(parser_t *p, const char *field, const char *prefix, const char *const *names, int n,
                 int *out)
{
    if (jscan_peek(&p->j) != JT_STRING) {
        int64_t v = *out;
        if (oj_read_i64(p, field, &v) != 0) return -1;
        if (v < INT32_MIN || v > INT32_MAX)
            oj_bad_field(p, field, "not a value of the enum");
        else
            *out = (int)v;
        return 0;
    }
    jstr_t s;
    if (jscan_string(&p->j, &s, &p->str) != 0) return oj_syntax_fail(p);
    size_t pl = strlen(prefix);
    if (s.n >= pl && memcmp(s.s, prefix, pl) == 0) s.s += pl, s.n -= pl;
    for (int i = 0; i < n; i++)
        if (names[i] && strlen(names[i]) == s.n && memcmp(names[i], s.s, s.n) == 0) {
            *out = i;
            return 0;
        }
    oj_bad_field(p, field, "unknown %.*s value", (int)(pl ? pl - 1 : 0), prefix);
    return 0;
}

int oj_read_id(parser_t *p, const char *field, size_t nbytes, int zero_is_absent, char *out)
{
    out[0] = '\0';
    if (oj_take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_STRING) {
        oj_bad_field(p, field, "expected a string");
        return oj_skip_value(p);
    }
    jstr_t s;
    const char *why;
    if (jscan_string(&p->j, &s, &p->str) != 0) return oj_syntax_fail(p);
    if (s.n > 0 && hexid_parse(s.s, s.n, nbytes, out, &why) != 0) {
        out[0] = '\0';
        if (!zero_is_absent || strstr(why, "all-zero") == NULL) oj_bad_field(p, field, "%s", why);
    }
    return 0;
}

/* ---------------- AnyValue → plain JSON ---------------- */

/* A write into a bounded JSON buffer failed: the field is over its cap. */
static void too_large(parser_t *p, const char *field, const buf_t *out)
{
    oj_bad_field(p, field, "larger than %zu bytes", out->max);
}

/* Standard or URL-safe base64, padding optional, into p->bytes. -1 when not base64. */
static int decode_bytes(parser_t *p, const char *s, size_t n)
{
    buf_reset(&p->bytes);
    return base64_decode(s, n, &p->bytes);
}

/* intValue: an int64 as a number or a string; digits past 64 bits are kept as sent, a JSON number
 * (ingest_otlp_common.h: OTLP_ANY_INT_TEXT). */
static int int_value(parser_t *p, buf_t *out, const char *field)
{
    jtype_t t = jscan_peek(&p->j);
    jstr_t s;
    if (t == JT_NUMBER) {
        if (jscan_number(&p->j, &s, NULL, NULL) != 0) return oj_syntax_fail(p);
    } else if (t == JT_STRING) {
        if (jscan_string(&p->j, &s, &p->str) != 0) return oj_syntax_fail(p);
    } else {
        oj_bad_field(p, field, "intValue: expected an integer");
        return oj_skip_value(p);
    }
    uint64_t mag;
    int neg, digits = s.n > (s.n && s.s[0] == '-');
    for (size_t i = s.n && s.s[0] == '-'; i < s.n && digits; i++)
        digits = s.s[i] >= '0' && s.s[i] <= '9';
    if (!digits) {
        oj_bad_field(p, field, "intValue: expected an integer");
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
    if (oj_read_double(p, field, &d, &present) != 0) return -1;
    if (jw_double(out, d) != 0) too_large(p, field, out);
    return 0;
}

static int string_value(parser_t *p, buf_t *out, const char *field, text_t *raw)
{
    if (jscan_peek(&p->j) != JT_STRING) {
        oj_bad_field(p, field, "stringValue: expected a string");
        return oj_skip_value(p);
    }
    jstr_t s;
    if (jscan_string(&p->j, &s, &p->str) != 0) return oj_syntax_fail(p);
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
        oj_bad_field(p, field, "bytesValue: expected a base64 string");
        return oj_skip_value(p);
    }
    jstr_t s;
    if (jscan_string(&p->j, &s, &p->str) != 0) return oj_syntax_fail(p);
    if (decode_bytes(p, s.s, s.n) != 0) {
        oj_bad_field(p, field, "bytesValue: expected base64");
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
        oj_bad_field(p, field, "nested deeper than %d levels", INGEST_MAX_DEPTH);
        return oj_skip_value(p);
    }
    if (oj_take_null(p)) {
        if (jw_raw(out, is_kvlist ? "{}" : "[]", 2) != 0) too_large(p, field, out);
        return 0;
    }
    if (jscan_peek(&p->j) != JT_OBJECT) {
        oj_bad_field(p, field, "%s: expected an object", is_kvlist ? "kvlistValue" : "arrayValue");
        return oj_skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, written = 0;
    size_t mark = out->len;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        if (!oj_is(&k, "values", NULL)) {
            if (oj_skip_value(p) != 0) return -1;
            continue;
        }
        if (written) out->len = mark; /* a repeated member: the last one wins */
        written = 1;
        if (is_kvlist) {
            if (kv_list(p, out, depth, field, NULL, NULL, 0) != 0) return -1;
            continue;
        }
        if (oj_take_null(p)) {
            if (jw_raw(out, "[]", 2) != 0) too_large(p, field, out);
            continue;
        }
        if (jscan_peek(&p->j) != JT_ARRAY) {
            oj_bad_field(p, field, "arrayValue.values: expected an array");
            if (oj_skip_value(p) != 0) return -1;
            continue;
        }
        jscan_array_begin(&p->j);
        int e, n = 0;
        if (jw_char(out, '[') != 0) too_large(p, field, out);
        while ((e = jscan_array_next(&p->j)) == 1) {
            const char *at = p->j.p;
            if (n++ && jw_char(out, ',') != 0) too_large(p, field, out);
            if (oj_any_value(p, out, depth + 1, field, NULL) != 0) return -1;
            if (p->j.p == at) return oj_syntax_fail(p); /* no progress: never loop on the same byte */
        }
        if (e < 0) return oj_syntax_fail(p);
        if (jw_char(out, ']') != 0) too_large(p, field, out);
    }
    if (m < 0) return oj_syntax_fail(p);
    if (!written && jw_raw(out, is_kvlist ? "{}" : "[]", 2) != 0) too_large(p, field, out);
    if (out->data) out->data[out->len] = '\0';
    return 0;
}

int oj_any_value(parser_t *p, buf_t *out, int depth, const char *field, text_t *raw)
{
    if (raw) raw->s.s = NULL;
    if (oj_take_null(p)) {
        if (jw_raw(out, "null", 4) != 0) too_large(p, field, out);
        return 0;
    }
    if (jscan_peek(&p->j) != JT_OBJECT) {
        oj_bad_field(p, field, "expected an AnyValue object");
        return oj_skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, written = 0;
    size_t mark = out->len;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int rc, b = 0;
        if (written && (oj_is(&k, "stringValue", "string_value") || oj_is(&k, "boolValue", "bool_value") ||
                        oj_is(&k, "intValue", "int_value") || oj_is(&k, "doubleValue", "double_value") ||
                        oj_is(&k, "bytesValue", "bytes_value") || oj_is(&k, "arrayValue", "array_value") ||
                        oj_is(&k, "kvlistValue", "kvlist_value"))) {
            out->len = mark; /* two members of the oneof: the last one wins */
            if (raw) raw->s.s = NULL;
        }
        if (oj_is(&k, "stringValue", "string_value")) {
            rc = string_value(p, out, field, raw);
        } else if (oj_is(&k, "boolValue", "bool_value")) {
            rc = oj_read_bool(p, field, &b);
            if (rc == 0 && jw_bool(out, b) != 0) too_large(p, field, out);
        } else if (oj_is(&k, "intValue", "int_value")) {
            rc = int_value(p, out, field);
        } else if (oj_is(&k, "doubleValue", "double_value")) {
            rc = double_value(p, out, field);
        } else if (oj_is(&k, "bytesValue", "bytes_value")) {
            rc = bytes_value(p, out, field);
        } else if (oj_is(&k, "arrayValue", "array_value")) {
            rc = container_value(p, out, depth + 1, field, 0);
        } else if (oj_is(&k, "kvlistValue", "kvlist_value")) {
            rc = container_value(p, out, depth + 1, field, 1);
        } else {
            if (oj_skip_value(p) != 0) return -1;
            continue;
        }
        if (rc != 0) return -1;
        written = 1;
    }
    if (m < 0) return oj_syntax_fail(p);
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
        oj_bad_field(p, field, "expected a KeyValue object");
        return oj_skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, has_key = 0, has_value = 0, is_special = 0;
    jscan_t value_at = p->j;
    buf_t *dst = out;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        if (oj_is(&k, "key", NULL) && !has_key) {
            if (jscan_peek(&p->j) != JT_STRING) {
                oj_bad_field(p, field, "key: expected a string");
                if (oj_skip_value(p) != 0) return -1;
                continue;
            }
            jstr_t key;
            if (jscan_string(&p->j, &key, &p->str) != 0) return oj_syntax_fail(p);
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
                if (oj_any_value(p, dst, depth, field, is_special ? special_raw : NULL) != 0) return -1;
                p->j = here;
            }
        } else if (oj_is(&k, "value", NULL) && !has_value) {
            has_value = 1;
            if (!has_key) {
                value_at = p->j;
                if (oj_skip_value(p) != 0) return -1;
            } else if (oj_any_value(p, dst, depth, field, is_special ? special_raw : NULL) != 0) {
                return -1;
            }
        } else if (oj_skip_value(p) != 0) {
            return -1;
        }
    }
    if (m < 0) return oj_syntax_fail(p);
    if (!has_key) { /* proto3's default: the key "" */
        if (jw_raw(out, "\"\":", 3) != 0) too_large(p, field, out);
        if (has_value) {
            jscan_t here = p->j;
            p->j = value_at;
            if (oj_any_value(p, out, depth, field, NULL) != 0) return -1;
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
    if (oj_take_null(p)) {
        if (jw_raw(out, "{}", 2) != 0) too_large(p, field, out);
        return 0;
    }
    if (jscan_peek(&p->j) != JT_ARRAY) {
        oj_bad_field(p, field, "expected an array of KeyValue");
        return oj_skip_value(p);
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
    if (e < 0) return oj_syntax_fail(p);
    if (jw_char(out, '}') != 0) too_large(p, field, out);
    return 0;
}

int oj_attributes(parser_t *p, buf_t *out, const char *field, const char *special, text_t *special_raw,
                  int drop_special)
{
    buf_reset(out);
    return kv_list(p, out, 1, field, special, special_raw, drop_special);
}
