/* JSON pull scanner (see jscan.h). */
#include "jscan.h"

#include <stdlib.h>
#include <string.h>

static int fail(jscan_t *j, const char *why)
{
    if (j->err == NULL) {
        j->err = why;
        j->err_at = (size_t)(j->p - j->start);
    }
    return -1;
}

void jscan_init(jscan_t *j, const char *body, size_t len, int max_depth)
{
    j->start = j->p = body ? body : "";
    j->end = j->start + (body ? len : 0);
    j->err = NULL;
    j->err_at = 0;
    j->max_depth = max_depth;
}

static void ws(jscan_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

jtype_t jscan_peek(jscan_t *j)
{
    ws(j);
    if (j->p >= j->end) return JT_END;
    switch (*j->p) {
    case '{':
        return JT_OBJECT;
    case '[':
        return JT_ARRAY;
    case '"':
        return JT_STRING;
    case 't':
        return JT_TRUE;
    case 'f':
        return JT_FALSE;
    case 'n':
        return JT_NULL;
    default:
        return (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) ? JT_NUMBER : JT_ERROR;
    }
}

int jscan_finish(jscan_t *j)
{
    ws(j);
    return j->p == j->end ? 0 : fail(j, "unexpected data after the JSON document");
}

int jscan_object_begin(jscan_t *j)
{
    if (jscan_peek(j) != JT_OBJECT) return fail(j, "expected an object");
    j->p++;
    return 0;
}

int jscan_array_begin(jscan_t *j)
{
    if (jscan_peek(j) != JT_ARRAY) return fail(j, "expected an array");
    j->p++;
    return 0;
}

/* Separator handling: before each member/element except the first we need a ','. The first call
 * after *_begin sees the opening bracket just behind p. */
static int next_item(jscan_t *j, char close)
{
    ws(j);
    if (j->p >= j->end) return fail(j, "unexpected end of input");
    if (*j->p == close) {
        j->p++;
        return 0;
    }
    /* first item: the previous significant character is the opening bracket */
    const char *q = j->p - 1;
    while (q > j->start && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
        q--;
    if (*q != (close == '}' ? '{' : '[')) {
        if (*j->p != ',') return fail(j, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        j->p++;
        ws(j);
        if (j->p < j->end && *j->p == close) return fail(j, "trailing comma");
    }
    return 1;
}

int jscan_array_next(jscan_t *j)
{
    return next_item(j, ']');
}

int jscan_object_next(jscan_t *j, jstr_t *key, buf_t *key_buf)
{
    int r = next_item(j, '}');
    if (r <= 0) return r;
    if (jscan_peek(j) != JT_STRING) return fail(j, "expected a string key");
    if (jscan_string(j, key, key_buf) != 0) return -1;
    ws(j);
    if (j->p >= j->end || *j->p != ':') return fail(j, "expected ':' after a key");
    j->p++;
    return 1;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Length of a valid UTF-8 sequence starting at p (a byte >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, min = 0x10000;
    else
        return 0;
    if ((size_t)(end - p) < n) return 0;
    unsigned cp = c & (0x3F >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

static int put_utf8(buf_t *b, unsigned cp)
{
    char t[4];
    size_t n;
    if (cp < 0x80)
        t[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        t[0] = (char)(0xC0 | (cp >> 6)), t[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        t[0] = (char)(0xE0 | (cp >> 12)), t[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        t[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        t[0] = (char)(0xF0 | (cp >> 18)), t[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), t[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    return buf_append(b, t, n);
}

/* Validates (and, when `out` is given, decodes) the string at p. */
static int scan_string(jscan_t *j, jstr_t *s, buf_t *out)
{
    const char *begin = ++j->p; /* after the quote */
    int escaped = 0;
    while (1) {
        /* fast path: plain ASCII */
        while (j->p < j->end && (unsigned char)*j->p >= 0x20 && *j->p != '"' && *j->p != '\\' &&
               (unsigned char)*j->p < 0x80)
            j->p++;
        if (j->p >= j->end) return fail(j, "unterminated string");
        unsigned char c = (unsigned char)*j->p;
        if (c == '"') break;
        if (c < 0x20) return fail(j, "control character in a string (escape it)");
        if (c >= 0x80) {
            size_t n = utf8_len((const unsigned char *)j->p, (const unsigned char *)j->end);
            if (n == 0) return fail(j, "invalid UTF-8");
            j->p += n;
            continue;
        }
        /* backslash */
        escaped = 1;
        if (j->end - j->p < 2) return fail(j, "unterminated escape");
        char e = j->p[1];
        if (e == 'u') {
            unsigned cp;
            if (j->end - j->p < 6 || hex4(j->p + 2, &cp) != 0) return fail(j, "bad \\u escape");
            if (cp == 0) return fail(j, "\\u0000 is not allowed");
            j->p += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) != 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return fail(j, "lone surrogate in \\u escape");
                j->p += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail(j, "lone surrogate in \\u escape");
            }
        } else if (strchr("\"\\/bfnrt", e) && e != '\0') {
            j->p += 2;
        } else {
            return fail(j, "bad escape in a string");
        }
    }
    const char *stop = j->p;
    j->p++; /* closing quote */
    if (!escaped || out == NULL) {
        if (s) s->s = begin, s->n = (size_t)(stop - begin);
        return 0;
    }
    /* decode (input already validated); a decoded string that does not fit the caller's buffer is an
     * error, never stored with a hole */
    buf_reset(out);
    for (const char *q = begin; q < stop;) {
        const char *r = q;
        while (r < stop && *r != '\\')
            r++;
        if (buf_append(out, q, (size_t)(r - q)) != 0) return fail(j, "string longer than accepted");
        if (r >= stop) break;
        char e = r[1];
        if (e == 'u') {
            unsigned cp = 0;
            hex4(r + 2, &cp);
            q = r + 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo = 0xDC00;
                hex4(q + 2, &lo);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                q += 6;
            }
            if (put_utf8(out, cp) != 0) return fail(j, "string longer than accepted");
            continue;
        }
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        if (buf_append_char(out, to[strchr(from, e) - from]) != 0)
            return fail(j, "string longer than accepted");
        q = r + 2;
    }
    if (out->data == NULL && buf_append(out, "", 0) != 0) return fail(j, "string longer than accepted");
    s->s = out->data ? out->data : "";
    s->n = out->len;
    return 0;
}

int jscan_string(jscan_t *j, jstr_t *s, buf_t *out)
{
    if (jscan_peek(j) != JT_STRING) return fail(j, "expected a string");
    return scan_string(j, s, out);
}

static int scan_number(jscan_t *j, jstr_t *text, int64_t *iv, int *is_int)
{
    const char *b = j->p;
    int neg = 0, integer = 1;
    uint64_t acc = 0;
    int overflow = 0;
    if (*j->p == '-') neg = 1, j->p++;
    if (j->p >= j->end) return fail(j, "bad number");
    if (*j->p == '0') {
        j->p++;
    } else if (*j->p >= '1' && *j->p <= '9') {
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
            if (acc > (UINT64_MAX - 9) / 10) overflow = 1;
            acc = acc * 10 + (uint64_t)(*j->p - '0');
            j->p++;
        }
    } else {
        return fail(j, "bad number");
    }
    if (j->p < j->end && *j->p == '.') {
        integer = 0;
        j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9') return fail(j, "bad number");
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        integer = 0;
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9') return fail(j, "bad number");
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (text) text->s = b, text->n = (size_t)(j->p - b);
    if (is_int) {
        *is_int = integer && !overflow && acc <= (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX);
        if (*is_int && iv) *iv = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    }
    return 0;
}

int jscan_number(jscan_t *j, jstr_t *text, int64_t *i, int *is_int)
{
    if (jscan_peek(j) != JT_NUMBER) return fail(j, "expected a number");
    return scan_number(j, text, i, is_int);
}

int jscan_double(jscan_t *j, double *d)
{
    jstr_t t;
    if (jscan_number(j, &t, NULL, NULL) != 0) return -1;
    char tmp[64];
    if (t.n >= sizeof(tmp)) return fail(j, "number too long");
    memcpy(tmp, t.s, t.n);
    tmp[t.n] = '\0';
    *d = strtod(tmp, NULL);
    return 0;
}

int jscan_literal(jscan_t *j, jtype_t *t)
{
    jtype_t k = jscan_peek(j);
    static const char *words[] = {[JT_NULL] = "null", [JT_FALSE] = "false", [JT_TRUE] = "true"};
    if (k != JT_NULL && k != JT_FALSE && k != JT_TRUE) return fail(j, "expected true, false or null");
    size_t n = strlen(words[k]);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, words[k], n) != 0) return fail(j, "bad literal");
    j->p += n;
    *t = k;
    return 0;
}

static int skip(jscan_t *j, int depth)
{
    jtype_t t = jscan_peek(j);
    switch (t) {
    case JT_STRING:
        return scan_string(j, NULL, NULL);
    case JT_NUMBER:
        return scan_number(j, NULL, NULL, NULL);
    case JT_NULL:
    case JT_TRUE:
    case JT_FALSE:
        return jscan_literal(j, &t);
    case JT_OBJECT:
    case JT_ARRAY: {
        if (depth >= j->max_depth) return fail(j, "nested too deeply");
        int obj = t == JT_OBJECT, r;
        j->p++;
        jstr_t key;
        while ((r = obj ? jscan_object_next(j, &key, NULL) : jscan_array_next(j)) == 1)
            if (skip(j, depth + 1) != 0) return -1;
        return r;
    }
    case JT_END:
        return fail(j, "unexpected end of input");
    default:
        return fail(j, "unexpected character");
    }
}

int jscan_skip(jscan_t *j, jstr_t *raw)
{
    ws(j);
    const char *b = j->p;
    if (skip(j, 0) != 0) return -1;
    if (raw) raw->s = b, raw->n = (size_t)(j->p - b);
    return 0;
}
