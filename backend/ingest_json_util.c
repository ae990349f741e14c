/* Helpers shared by the native and OTLP parsers (see ingest_json.h). */
#include "ingest_json.h"
#include "rfc3339.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ij_fail(ingest_err_t *err, int status, const char *path, const char *fmt, ...)
{
    err->status = status;
    snprintf(err->path, sizeof(err->path), "%s", path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    return -1;
}

json_t *ij_load(const char *body, size_t len, ingest_err_t *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body ? body : "", len, 0, &jerr);
    if (root == NULL) {
        ij_fail(err, 400, "", "malformed JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        ij_fail(err, 400, "", "expected a JSON object");
        return NULL;
    }
    return root;
}

int ij_severity_of(const char *level, size_t n)
{
    static const struct {
        const char *name;
        int severity;
    } levels[] = {{"TRACE", 1},    {"DEBUG", 2},   {"INFO", 3},  {"INFORMATION", 3}, {"NOTICE", 3},
                  {"WARN", 4},     {"WARNING", 4}, {"ERROR", 5}, {"ERR", 5},         {"FATAL", 6},
                  {"CRITICAL", 6}, {"PANIC", 6},   {"EMERG", 6}, {"ALERT", 6},       {"CRIT", 6}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(*levels); i++)
        if (strlen(levels[i].name) == n && strncasecmp(level, levels[i].name, n) == 0)
            return levels[i].severity;
    return 0;
}

static int depth_of(json_t *v, int limit)
{
    if (limit < 0) return 1;
    int worst = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            int d = depth_of(x, limit - 1);
            if (d > worst) worst = d;
            if (worst > limit) break;
        }
        return worst + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            int d = depth_of(x, limit - 1);
            if (d > worst) worst = d;
            if (worst > limit) break;
        }
        return worst + 1;
    }
    return 0;
}

char *ij_canonical(json_t *v)
{
    if (v == NULL) return strdup("{}");
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

int ij_copy_json(buf_t *copy, json_t *v, int array, const char *path, ingest_err_t *err)
{
    if (v == NULL || json_is_null(v)) return ij_col_text(copy, array ? "[]" : "{}", 2, '\t') ? -1 : 0;
    if (array ? !json_is_array(v) : !json_is_object(v))
        return ij_fail(err, 400, path, array ? "expected an array" : "expected an object");
    if (depth_of(v, IJ_MAX_DEPTH) > IJ_MAX_DEPTH)
        return ij_fail(err, 400, path, "nested deeper than %d levels", IJ_MAX_DEPTH);
    char *s = ij_canonical(v);
    if (s == NULL) return ij_fail(err, 400, path, "cannot be encoded");
    size_t n = strlen(s);
    int rc = 0;
    if (n > IJ_MAX_ATTR_BYTES)
        rc = ij_fail(err, 400, path, "larger than %d bytes", IJ_MAX_ATTR_BYTES);
    else if (ij_col_text(copy, s, n, '\t') != 0)
        rc = ij_fail(err, 413, "", "batch too large");
    free(s);
    return rc;
}

int ij_col_text(buf_t *copy, const char *s, size_t n, char sep)
{
    if (ingest_copy_text(copy, s, n) != 0) return -1;
    return buf_append_char(copy, sep);
}

int ij_col_null(buf_t *copy, char sep)
{
    if (ingest_copy_null(copy) != 0) return -1;
    return buf_append_char(copy, sep);
}

int ij_col_i64(buf_t *copy, int64_t v, char sep)
{
    if (ingest_copy_i64(copy, v) != 0) return -1;
    return buf_append_char(copy, sep);
}

int ij_time(json_t *v, const char *path, ingest_err_t *err, int64_t *ns)
{
    const char *why = "missing";
    if (v == NULL) return ij_fail(err, 400, path, "missing");
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        int all_digits = n > 0;
        for (size_t i = 0; i < n && all_digits; i++)
            all_digits = s[i] >= '0' && s[i] <= '9';
        if ((all_digits ? epoch_ns_parse(s, n, ns, &why) : rfc3339_parse(s, n, ns, &why)) == 0) return 0;
        return ij_fail(err, 400, path, "%s", why);
    }
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i >= RFC3339_MIN_NS && i < RFC3339_MAX_NS) {
            *ns = (int64_t)i;
            return 0;
        }
        return ij_fail(err, 400, path,
                       "epoch nanoseconds outside 2000-01-01..2100-01-01 (seconds or milliseconds sent?)");
    }
    return ij_fail(err, 400, path, "expected an RFC 3339 time string or integer epoch nanoseconds");
}
