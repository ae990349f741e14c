/* CORS origin list and preflight header negotiation (see cors.h). */
#include "cors.h"
#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ORIGINS 32
#define MAX_ORIGIN_LEN 256

struct cors_origins {
    int any; /* "*" was listed */
    size_t n;
    char *items[MAX_ORIGINS];
};

/* scheme://host[:port]: http(s), a host of letters, digits, '-', '.', or a bracketed IPv6 literal,
 * an optional numeric port, and nothing after. */
static int origin_ok(const char *s, size_t len)
{
    size_t i;
    if (len > 7 && strncmp(s, "http://", 7) == 0)
        i = 7;
    else if (len > 8 && strncmp(s, "https://", 8) == 0)
        i = 8;
    else
        return 0;
    size_t host = i;
    if (s[i] == '[') {
        while (i < len && s[i] != ']')
            i++;
        if (i == len) return 0;
        i++;
    } else {
        while (i < len && (s[i] == '-' || s[i] == '.' || (s[i] >= 'a' && s[i] <= 'z') ||
                           (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            i++;
    }
    if (i == host) return 0;
    if (i < len && s[i] == ':') {
        size_t digits = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == digits || i - digits > 5) return 0;
    }
    return i == len;
}

int cors_origins_parse(const char *list, cors_origins_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (list == NULL) return 0;
    cors_origins_t *o = xcalloc(1, sizeof(*o));
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *b = p, *e = end;
        while (b < e && *b == ' ')
            b++;
        while (e > b && e[-1] == ' ')
            e--;
        size_t len = (size_t)(e - b);
        if (len == 1 && *b == '*') {
            o->any = 1;
        } else if (len > 0) {
            if (len > MAX_ORIGIN_LEN || !origin_ok(b, len)) {
                snprintf(err, errlen, "\"%.*s\" is not an origin (scheme://host[:port], no path) nor *",
                         (int)(len > MAX_ORIGIN_LEN ? MAX_ORIGIN_LEN : len), b);
                cors_origins_free(o);
                return -1;
            }
            if (o->n == MAX_ORIGINS) {
                snprintf(err, errlen, "more than %d origins", MAX_ORIGINS);
                cors_origins_free(o);
                return -1;
            }
            char *item = xmalloc(len + 1);
            memcpy(item, b, len);
            item[len] = '\0';
            o->items[o->n++] = item;
        }
        p = comma ? comma + 1 : end;
    }
    if (!o->any && o->n == 0) {
        cors_origins_free(o); /* only spaces and commas: CORS stays off */
        return 0;
    }
    *out = o;
    return 0;
}

void cors_origins_free(cors_origins_t *o)
{
    if (o == NULL) return;
    for (size_t i = 0; i < o->n; i++)
        free(o->items[i]);
    free(o);
}

int cors_origin_allowed(const cors_origins_t *o, const char *origin, size_t len)
{
    if (o == NULL || origin == NULL || len == 0) return 0;
    if (o->any) return 1;
    for (size_t i = 0; i < o->n; i++)
        if (strlen(o->items[i]) == len && memcmp(o->items[i], origin, len) == 0) return 1;
    return 0;
}

/* Appends ", name" to out; returns 0, or -1 when it does not fit. */
static int append_header(char *out, size_t outlen, const char *name)
{
    size_t used = strlen(out);
    int n = snprintf(out + used, outlen - used, ", %s", name);
    return n < 0 || (size_t)n >= outlen - used ? -1 : 0;
}

int cors_allow_headers(const char *requested, size_t len, char *out, size_t outlen)
{
    static const char *const extras[] = CORS_EXTRA_HEADERS;
    int asked[sizeof(extras) / sizeof(*extras)] = {0};
    int n = snprintf(out, outlen, "%s", CORS_BASE_HEADERS);
    if (n < 0 || (size_t)n >= outlen) return -1;
    const char *p = requested, *end = requested ? requested + len : NULL;
    while (p && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *b = p, *e = comma ? comma : end;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        for (size_t i = 0; i < sizeof(extras) / sizeof(*extras); i++)
            if (strlen(extras[i]) == (size_t)(e - b) && strncasecmp(extras[i], b, (size_t)(e - b)) == 0)
                asked[i] = 1;
        p = comma ? comma + 1 : end;
    }
    for (size_t i = 0; i < sizeof(extras) / sizeof(*extras); i++)
        if (asked[i] && append_header(out, outlen, extras[i]) != 0) return -1;
    return 0;
}
