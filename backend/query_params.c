/* Query-string filter validation (see query_params.h). */
#include "query_params.h"
#include "rfc3339.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(h2o_req_t *req, const char *name, const char *why)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "query parameter %.64s: %.400s", name, why);
    httpd_send_error(req, 400, "invalid_parameter", msg, name);
    return 0;
}

static int all_digits(const char *s)
{
    if (*s == '\0') return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

int qp_time(h2o_req_t *req, const char *name, int64_t *ns, int *present)
{
    const char *v = httpd_query_param(req, name);
    *present = v != NULL;
    if (v == NULL) return 1;
    if (all_digits(v)) {
        errno = 0;
        unsigned long long n = strtoull(v, NULL, 10);
        if (errno || n > INT64_MAX) return bad(req, name, "epoch nanoseconds out of range");
        *ns = (int64_t)n;
        return 1;
    }
    const char *why;
    if (rfc3339_parse(v, strlen(v), ns, &why) != 0)
        return bad(req, name, "expected an RFC 3339 time or integer epoch nanoseconds");
    return 1;
}

int qp_int(h2o_req_t *req, const char *name, long min, long max, long def, long *out)
{
    const char *v = httpd_query_param(req, name);
    *out = def;
    if (v == NULL) return 1;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max) {
        char why[96];
        snprintf(why, sizeof(why), "expected an integer in %ld..%ld", min, max);
        return bad(req, name, why);
    }
    *out = n;
    return 1;
}

int qp_enum(h2o_req_t *req, const char *name, const char *const *allowed, const char **out)
{
    const char *v = httpd_query_param(req, name);
    *out = NULL;
    if (v == NULL) return 1;
    char list[256] = "";
    for (size_t i = 0; allowed[i]; i++) {
        if (strcmp(v, allowed[i]) == 0) {
            *out = allowed[i];
            return 1;
        }
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", allowed[i]);
    }
    char why[320];
    snprintf(why, sizeof(why), "expected one of %s", list);
    return bad(req, name, why);
}

int qp_text(h2o_req_t *req, const char *name, size_t max_len, const char **out)
{
    const char *v = httpd_query_param(req, name);
    *out = NULL;
    if (v == NULL) return 1;
    if (*v == '\0' || strlen(v) > max_len) {
        char why[96];
        snprintf(why, sizeof(why), "expected 1 to %zu characters", max_len);
        return bad(req, name, why);
    }
    *out = v;
    return 1;
}

int qp_cursor(h2o_req_t *req, const char *name, char *a, char *b, size_t len, int *present)
{
    const char *v = httpd_query_param(req, name);
    *present = v != NULL;
    if (v == NULL) return 1;
    const char *colon = strchr(v, ':');
    if (colon == NULL || (size_t)(colon - v) >= len || strlen(colon + 1) >= len)
        return bad(req, name, "malformed cursor");
    snprintf(a, len, "%.*s", (int)(colon - v), v);
    snprintf(b, len, "%s", colon + 1);
    if (!(all_digits(a) || (a[0] == '-' && all_digits(a + 1))) || !all_digits(b))
        return bad(req, name, "malformed cursor");
    return 1;
}

int qp_path_id(h2o_req_t *req, h2o_iovec_t v, const char *name, char *out, size_t outlen)
{
    if (v.len == 0 || v.len >= outlen || v.len > 18) return bad(req, name, "expected a positive integer id");
    memcpy(out, v.base, v.len);
    out[v.len] = '\0';
    if (!all_digits(out) || strtoll(out, NULL, 10) <= 0)
        return bad(req, name, "expected a positive integer id");
    return 1;
}

int qp_trace_id(h2o_req_t *req, h2o_iovec_t v, char out[33])
{
    if (v.len != 32) return bad(req, "trace_id", "expected 32 hex digits");
    for (size_t i = 0; i < 32; i++) {
        char c = (char)tolower((unsigned char)v.base[i]);
        if (!isxdigit((unsigned char)c)) return bad(req, "trace_id", "expected 32 hex digits");
        out[i] = c;
    }
    out[32] = '\0';
    return 1;
}

int qp_known(h2o_req_t *req, const char *const *known)
{
    if (req->query_at == SIZE_MAX) return 1;
    const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        if (amp == NULL) amp = end;
        const char *eq = memchr(q, '=', (size_t)(amp - q));
        size_t n = (size_t)((eq ? eq : amp) - q);
        int found = n == 0; /* "a=1&&b=2" and a trailing '&' name nothing */
        for (size_t i = 0; !found && known && known[i]; i++)
            found = strlen(known[i]) == n && memcmp(known[i], q, n) == 0;
        if (!found) {
            char name[65];
            snprintf(name, sizeof(name), "%.*s", (int)(n < 64 ? n : 64), q);
            return bad(req, name, "unknown parameter");
        }
        q = amp + 1;
    }
    return 1;
}
