/* String helpers of the analysis core (see strutil.h). */
#include "strutil.h"
#include "alloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int an_strcmp(const char *a, const char *b)
{
    if (a == NULL || b == NULL) return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

/* Length of the valid UTF-8 character at s[0..n), or 0 when the bytes there are not one (overlong
 * forms, surrogates and code points past U+10FFFF are invalid, as jansson wants). */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    return len;
}

size_t an_utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max) return n;
    size_t i = max;
    /* step back over continuation bytes so the cut falls before a lead byte */
    while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
        i--;
    return i;
}

int an_copy(char *dst, size_t cap, const char *src, size_t n)
{
    if (cap == 0) return n > 0;
    size_t m = src ? an_utf8_cut(src, n, cap - 1) : 0;
    if (m) memcpy(dst, src, m);
    dst[m] = '\0';
    return m < n;
}

json_t *an_json_str(const char *s, size_t n, size_t max, int *cut)
{
    char small[512];
    if (s == NULL) n = 0;
    size_t lim = n < max ? n : max;
    if (lim == 0) {
        if (cut) *cut = n > 0;
        return json_string("");
    }
    char *out = lim < sizeof(small) ? small : xmalloc(lim + 1);
    size_t o = 0, i = 0;
    while (i < lim) {
        size_t k = utf8_char((const unsigned char *)s + i, n - i);
        if (k == 0) {
            out[o++] = '?';
            i++;
        } else if (i + k > lim) {
            break; /* a character across the cap is dropped whole */
        } else {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        }
    }
    if (cut) *cut = i < n;
    json_t *j = json_stringn_nocheck(out, o);
    if (out != small) free(out);
    return j;
}

json_t *an_json_cstr(const char *s, size_t max)
{
    return an_json_str(s, s ? strlen(s) : 0, max, NULL);
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

int an_contains_ci(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (s == NULL || m > n) return 0;
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && lower(s[i + j]) == needle[j])
            j++;
        if (j == m) return 1;
    }
    return 0;
}

int an_starts(const char *s, size_t n, const char *prefix)
{
    size_t m = strlen(prefix);
    return n >= m && memcmp(s, prefix, m) == 0;
}

double an_ms(int64_t ns)
{
    /* integral microseconds first, so that the same ns always gives the same double */
    int64_t us = ns >= 0 ? (ns + 500) / 1000 : -((-ns + 500) / 1000);
    return (double)us / 1000.0;
}

void an_fmt_duration(int64_t ns, char *out, size_t outlen)
{
    int64_t a = ns < 0 ? -ns : ns;
    const char *sign = ns < 0 ? "-" : "";
    if (a < 1000000) /* below 1 ms: one decimal of ms */
        snprintf(out, outlen, "%s%" PRId64 ".%" PRId64 " ms", sign, a / 1000000, (a / 100000) % 10);
    else if (a < 1000000000LL)
        snprintf(out, outlen, "%s%" PRId64 " ms", sign, (a + 500000) / 1000000);
    else if (a < 60000000000LL) {
        int64_t ds = (a + 50000000) / 100000000; /* tenths of a second */
        snprintf(out, outlen, "%s%" PRId64 ".%" PRId64 " s", sign, ds / 10, ds % 10);
    } else {
        int64_t s = (a + 500000000) / 1000000000;
        snprintf(out, outlen, "%s%" PRId64 " min %" PRId64 " s", sign, s / 60, s % 60);
    }
}

int an_is_null_id(const char *id)
{
    if (id == NULL) return 1;
    for (; *id; id++)
        if (*id != '0') return 0;
    return 1;
}

char *an_json_dump(const json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
}
