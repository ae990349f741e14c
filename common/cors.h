/* Cross-origin resource sharing (CORS) decisions for browser clients (OpenTelemetry's browser
 * exporters): which Origins are allowed (CORS_ALLOWED_ORIGINS) and what a preflight may ask for. Pure:
 * no I/O; httpd.c turns the answers into headers. */
#ifndef PS_CORS_H
#define PS_CORS_H

#include <stddef.h>

/* How long a browser may cache a preflight answer (Chromium caps it at 2 hours). */
#define CORS_MAX_AGE "7200"
/* Headers always allowed on a CORS route, in the order they are answered. */
#define CORS_BASE_HEADERS "content-type, content-encoding, authorization, x-api-key"
/* Further headers allowed when a preflight asks for them (Access-Control-Request-Headers). */
#define CORS_EXTRA_HEADERS                                                                                   \
    {                                                                                                        \
        "x-request-id", "traceparent", "tracestate"                                                          \
    }

typedef struct cors_origins cors_origins_t;

/* Parses a comma-separated list of origins ("https://app.example.com,http://localhost:3000"), or "*"
 * for any origin. Each origin is scheme://host[:port] with scheme http or https, no path, no trailing
 * slash; spaces around commas are ignored. Returns 0 with *out set (NULL when `list` is NULL or empty:
 * CORS is off), or -1 with the offending item in `err`. Caller frees with cors_origins_free(). */
int cors_origins_parse(const char *list, cors_origins_t **out, char *err, size_t errlen);
void cors_origins_free(cors_origins_t *o);
/* 1 when the Origin header value `origin` (`len` bytes) is allowed by `o`, else 0 (always 0 for a
 * NULL `o`). Origins compare exactly, as browsers serialize them. Any thread. */
int cors_origin_allowed(const cors_origins_t *o, const char *origin, size_t len);
/* Writes the Access-Control-Allow-Headers value answering a preflight whose
 * Access-Control-Request-Headers is `requested` (`len` bytes; NULL when absent): CORS_BASE_HEADERS,
 * then each requested header of CORS_EXTRA_HEADERS (lowercase, once). Requested headers outside both
 * sets are left out, so the browser refuses the request. Returns 0, or -1 when `out` is too small. */
int cors_allow_headers(const char *requested, size_t len, char *out, size_t outlen);

#endif
