/* Canonical JSON (see jcanon.h). Each object is read once to collect its members (keys decoded, values
 * as raw slices of the input), sorted, then each value is canonicalised in turn: nested values are
 * scanned once per level of nesting, which the depth cap keeps small. */
#include "jcanon.h"
#include "jscan.h"
#include "jwrite.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t key_off, key_len; /* in the keys buffer */
    jstr_t value;            /* raw slice of the input */
    size_t order;            /* position in the input: the last of equal keys wins */
} member_t;

typedef struct {
    const buf_t *keys;
    member_t *m;
} sort_ctx_t;

static int cmp_members(const void *a, const void *b, void *arg)
{
    const buf_t *keys = arg;
    const member_t *x = a, *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(keys->data + x->key_off, keys->data + y->key_off, n);
    if (c) return c;
    if (x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int value(jscan_t *j, int depth, int limit, buf_t *out, const char **why);

static int object(jscan_t *j, int depth, int limit, buf_t *out, const char **why)
{
    buf_t keys, key;
    buf_init(&keys, (size_t)(j->end - j->start) + 16);
    buf_init(&key, (size_t)(j->end - j->start) + 16);
    member_t *m = NULL;
    size_t n = 0, cap = 0;
    int rc = -1, r;
    jstr_t k;
    jscan_object_begin(j);
    while ((r = jscan_object_next(j, &k, &key)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            member_t *grown = realloc(m, cap * sizeof(*m));
            if (grown == NULL) {
                *why = "out of memory";
                goto out;
            }
            m = grown;
        }
        m[n].key_off = keys.len;
        m[n].key_len = k.n;
        m[n].order = n;
        if (buf_append(&keys, k.s, k.n) != 0) {
            *why = "object too large";
            goto out;
        }
        if (jscan_skip(j, &m[n].value) != 0) {
            *why = j->err;
            goto out;
        }
        n++;
    }
    if (r < 0) {
        *why = j->err;
        goto out;
    }
    if (n > 1) qsort_r(m, n, sizeof(*m), cmp_members, &keys);
    if (buf_append_char(out, '{') != 0) goto full;
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        /* equal keys sort by input position: keep only the last of a run */
        if (i + 1 < n && m[i + 1].key_len == m[i].key_len &&
            memcmp(keys.data + m[i + 1].key_off, keys.data + m[i].key_off, m[i].key_len) == 0)
            continue;
        if (!first && buf_append_char(out, ',') != 0) goto full;
        first = 0;
        if (jw_string(out, keys.data + m[i].key_off, m[i].key_len) != 0 || buf_append_char(out, ':') != 0)
            goto full;
        jscan_t sub;
        jscan_init(&sub, m[i].value.s, m[i].value.n, j->max_depth);
        int v = value(&sub, depth + 1, limit, out, why);
        if (v != 0) {
            rc = v;
            goto out;
        }
    }
    if (buf_append_char(out, '}') != 0) goto full;
    rc = 0;
    goto out;
full:
    rc = -2;
out:
    free(m);
    buf_dispose(&keys);
    buf_dispose(&key);
    return rc;
}

static int array(jscan_t *j, int depth, int limit, buf_t *out, const char **why)
{
    int r, first = 1;
    jscan_array_begin(j);
    if (buf_append_char(out, '[') != 0) return -2;
    while ((r = jscan_array_next(j)) == 1) {
        if (!first && buf_append_char(out, ',') != 0) return -2;
        first = 0;
        int v = value(j, depth + 1, limit, out, why);
        if (v != 0) return v;
    }
    if (r < 0) {
        *why = j->err;
        return -1;
    }
    return buf_append_char(out, ']') != 0 ? -2 : 0;
}

static int number(jscan_t *j, buf_t *out, const char **why)
{
    jstr_t text;
    int64_t i;
    int is_int;
    if (jscan_number(j, &text, &i, &is_int) != 0) {
        *why = j->err;
        return -1;
    }
    if (is_int) return jw_i64(out, i) != 0 ? -2 : 0;
    int integral = 1;
    for (size_t k = 0; k < text.n && integral; k++)
        integral = text.s[k] == '-' || (text.s[k] >= '0' && text.s[k] <= '9');
    if (integral) return jw_raw(out, text.s, text.n) != 0 ? -2 : 0; /* past 64 bits: digits as sent */
    double d = strtod(text.s, NULL);
    return jw_double(out, d) != 0 ? -2 : 0;
}

static int value(jscan_t *j, int depth, int limit, buf_t *out, const char **why)
{
    jtype_t t = jscan_peek(j);
    if ((t == JT_OBJECT || t == JT_ARRAY) && depth > limit) { /* containers count, as jscan counts them */
        *why = "nested too deeply";
        return -1;
    }
    switch (t) {
    case JT_OBJECT:
        return object(j, depth, limit, out, why);
    case JT_ARRAY:
        return array(j, depth, limit, out, why);
    case JT_NUMBER:
        return number(j, out, why);
    case JT_STRING: {
        jstr_t s;
        buf_t dec;
        buf_init(&dec, (size_t)(j->end - j->start) + 16);
        int rc = jscan_string(j, &s, &dec) != 0 ? -1 : jw_string(out, s.s, s.n) != 0 ? -2 : 0;
        if (rc == -1) *why = j->err;
        buf_dispose(&dec);
        return rc;
    }
    case JT_NULL:
    case JT_TRUE:
    case JT_FALSE: {
        jtype_t lit;
        if (jscan_literal(j, &lit) != 0) {
            *why = j->err;
            return -1;
        }
        const char *s = lit == JT_NULL ? "null" : lit == JT_TRUE ? "true" : "false";
        return jw_raw(out, s, strlen(s)) != 0 ? -2 : 0;
    }
    default:
        *why = j->err ? j->err : "expected a JSON value";
        return -1;
    }
}

int jcanon(const char *json, size_t n, int max_depth, buf_t *out, const char **why)
{
    size_t mark = out->len;
    const char *ignored;
    if (why == NULL) why = &ignored;
    *why = NULL;
    jscan_t j;
    /* the scanner's own depth guard sits above ours so that ours gives the message */
    jscan_init(&j, json, n, max_depth + 2);
    int rc = value(&j, 1, max_depth, out, why);
    if (rc == 0 && jscan_finish(&j) != 0) {
        *why = j.err;
        rc = -1;
    }
    if (rc != 0) {
        out->len = mark;
        if (out->data) out->data[mark] = '\0';
    }
    return rc;
}
