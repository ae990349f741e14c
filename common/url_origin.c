/* Origin of a URL for logs and stored errors (see url_origin.h). */
#include "url_origin.h"

#include <stdio.h>
#include <string.h>

#define SCHEME_MAX 16
#define HOST_MAX 255

const char *url_origin(const char *url, char *out, size_t outlen)
{
    if (outlen == 0) return out;
    if (url == NULL || *url == '\0') {
        snprintf(out, outlen, "(none)");
        return out;
    }
    const char *sep = strstr(url, "://");
    size_t scheme = sep ? (size_t)(sep - url) : 0;
    int scheme_ok = scheme > 0 && scheme <= SCHEME_MAX;
    for (size_t i = 0; scheme_ok && i < scheme; i++)
        scheme_ok =
            strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-", url[i]) != NULL;
    if (!scheme_ok) {
        snprintf(out, outlen, "(invalid url)");
        return out;
    }
    /* the authority ends at the first / ? # (or whitespace); its userinfo ends at its last @ */
    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#\\ \t\r\n");
    const char *host = a;
    for (size_t i = 0; i < alen; i++)
        if (a[i] == '@') host = a + i + 1;
    size_t hlen = alen - (size_t)(host - a);
    if (hlen == 0 || hlen > HOST_MAX) {
        snprintf(out, outlen, "(invalid url)");
        return out;
    }
    snprintf(out, outlen, "%.*s://%.*s", (int)scheme, url, (int)hlen, host);
    return out;
}
