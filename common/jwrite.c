/* JSON text writer (see jwrite.h). */
#include "jwrite.h"
#include "base64.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not valid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0)
        len = 2, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        len = 3, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n) return 0;
    unsigned cp = c & (0xFFu >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

int jw_string(buf_t *b, const char *s, size_t n)
{
    size_t mark = b->len;
    const unsigned char *u = (const unsigned char *)s;
    if (buf_append_char(b, '"') != 0) goto full;
    size_t start = 0, i = 0;
    while (i < n) {
        unsigned c = u[i];
        const char *esc = NULL;
        char tmp[8];
        size_t skip = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == 0x7F) {
            snprintf(tmp, sizeof(tmp), "\\u%04x", c);
            esc = tmp;
        } else if (c >= 0x80) {
            size_t l = utf8_len(u + i, n - i);
            if (l) {
                i += l;
                continue;
            }
            esc = "\xEF\xBF\xBD"; /* U+FFFD for a byte that is not UTF-8 */
        } else {
            i++;
            continue;
        }
        if (buf_append(b, s + start, i - start) != 0 || buf_append_str(b, esc) != 0) goto full;
        i += skip;
        start = i;
    }
    if (buf_append(b, s + start, n - start) != 0 || buf_append_char(b, '"') != 0) goto full;
    return 0;
full:
    b->len = mark;
    if (b->data) b->data[mark] = '\0';
    return -1;
}

int jw_double(buf_t *b, double v)
{
    if (isnan(v)) return jw_raw(b, "\"NaN\"", 5);
    if (isinf(v)) return v > 0 ? jw_raw(b, "\"Infinity\"", 10) : jw_raw(b, "\"-Infinity\"", 11);
    char tmp[40];
    int n = 0;
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v) { /* whole numbers as digits: 10, not 1e+01 */
        n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
        return jw_raw(b, v == 0 && signbit(v) ? "-0" : tmp, v == 0 && signbit(v) ? 2 : (size_t)n);
    }
    for (int digits = 1; digits <= 17; digits++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", digits, v);
        if (strtod(tmp, NULL) == v) break;
    }
    return jw_raw(b, tmp, (size_t)n);
}

int jw_i64(buf_t *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
    return jw_raw(b, tmp, (size_t)n);
}

int jw_u64(buf_t *b, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
    return jw_raw(b, tmp, (size_t)n);
}

int jw_bool(buf_t *b, int v)
{
    return v ? jw_raw(b, "true", 4) : jw_raw(b, "false", 5);
}

int jw_base64(buf_t *b, const void *p, size_t n)
{
    size_t mark = b->len;
    if (buf_append_char(b, '"') != 0 || base64_encode(p, n, 1, b) != 0 || buf_append_char(b, '"') != 0) {
        b->len = mark;
        if (b->data) b->data[mark] = '\0';
        return -1;
    }
    return 0;
}

int jw_raw(buf_t *b, const char *s, size_t n)
{
    return buf_append(b, s, n);
}

int jw_char(buf_t *b, char c)
{
    return buf_append_char(b, c);
}
