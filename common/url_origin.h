/* Webhook URLs and the LLM base URL are secrets (the path or the userinfo often holds the token): what
 * is logged, stored as an error or shown about them is their origin only, scheme://host[:port]. Pure;
 * any thread. */
#ifndef PS_URL_ORIGIN_H
#define PS_URL_ORIGIN_H

#include <stddef.h>

/* Longest origin written: scheme (16) + "://" + host (255) + ":" + port (5), and the NUL. */
#define URL_ORIGIN_MAX 288

/* Writes the origin of `url` (NULL allowed) into `out` (`outlen` bytes, URL_ORIGIN_MAX suffices):
 * scheme://host[:port] without userinfo, path, query or fragment; "(none)" for NULL or empty;
 * "(invalid url)" when there is no scheme://host. Returns `out`, so it can be a printf argument. */
const char *url_origin(const char *url, char *out, size_t outlen);

#endif
