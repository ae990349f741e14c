/* Our JSON ingest formats: {"spans":[...]}, {"logs":[...]}, {"metrics":[...]}, {"events":[...]}. */
#include "ingest_json.h"
#include "hash.h"
#include "hexid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Per-record state: the record's path prefix (e.g. "spans[3]") for error messages. */
typedef struct {
    char prefix[160];
    ingest_err_t *err;
} rec_t;

static int field_path(const rec_t *r, const char *field, char *out, size_t n)
{
    return snprintf(out, n, "%s.%s", r->prefix, field);
}

static int bad(const rec_t *r, const char *field, int status, const char *why)
{
    char path[256];
    field_path(r, field, path, sizeof(path));
    return ij_fail(r->err, status, path, "%s", why);
}

/* A string field: required or optional (absent or null gives *s = NULL), 1..max bytes when present
 * (allow_empty lets "" through). */
static int str_field(const rec_t *r, json_t *o, const char *field, int required, int allow_empty, size_t max,
                     const char **s, size_t *n)
{
    json_t *v = json_object_get(o, field);
    *s = NULL;
    *n = 0;
    if (v == NULL || json_is_null(v)) return required ? bad(r, field, 400, "missing") : 0;
    if (!json_is_string(v)) return bad(r, field, 400, "expected a string");
    *s = json_string_value(v);
    *n = json_string_length(v);
    if (*n == 0 && !allow_empty) return bad(r, field, 400, "must not be empty");
    if (*n > max) {
        char why[64];
        snprintf(why, sizeof(why), "longer than %zu bytes", max);
        return bad(r, field, 400, why);
    }
    return 0;
}

static int id_field(const rec_t *r, json_t *o, const char *field, int required, size_t nbytes, char *out,
                    int *present)
{
    json_t *v = json_object_get(o, field);
    *present = 0;
    if (v == NULL || json_is_null(v) || (!required && json_is_string(v) && json_string_length(v) == 0))
        return required ? bad(r, field, 400, "missing") : 0;
    if (!json_is_string(v)) return bad(r, field, 400, "expected a string");
    const char *why;
    if (hexid_parse(json_string_value(v), json_string_length(v), nbytes, out, &why) != 0)
        return bad(r, field, 400, why);
    *present = 1;
    return 0;
}

static int time_field(const rec_t *r, json_t *o, const char *field, int64_t *ns)
{
    char path[256];
    field_path(r, field, path, sizeof(path));
    return ij_time(json_object_get(o, field), path, r->err, ns);
}

static int json_col(const rec_t *r, buf_t *copy, json_t *o, const char *field, int array)
{
    char path[256];
    field_path(r, field, path, sizeof(path));
    return ij_copy_json(copy, json_object_get(o, field), array, path, r->err);
}

#define TOO_BIG(r) ij_fail((r)->err, 413, "", "batch larger than the accepted size")

/* ---------------- spans ---------------- */

static int span_kind(const char *s, size_t n, const char **out)
{
    static const char *kinds[] = {"SERVER", "CLIENT", "INTERNAL", "PRODUCER", "CONSUMER"};
    for (size_t i = 0; i < 5; i++)
        if (strlen(kinds[i]) == n && strncasecmp(s, kinds[i], n) == 0) {
            *out = kinds[i];
            return 0;
        }
    return -1;
}

/* Events are stored as [{"name","time_ns","attributes"}]. An event named "exception" is an error signal. */
static int span_events(const rec_t *r, json_t *events, buf_t *copy, int *has_exception)
{
    *has_exception = 0;
    if (events == NULL || json_is_null(events)) return ij_col_text(copy, "[]", 2, '\n') ? TOO_BIG(r) : 0;
    if (!json_is_array(events)) return bad(r, "events", 400, "expected an array");
    json_t *out = json_array();
    size_t i;
    json_t *e;
    int rc = 0;
    json_array_foreach(events, i, e)
    {
        rec_t er = {.err = r->err};
        snprintf(er.prefix, sizeof(er.prefix), "%.100s.events[%zu]", r->prefix, i);
        const char *name;
        size_t nlen;
        int64_t ns;
        if (!json_is_object(e)) {
            rc = ij_fail(r->err, 400, er.prefix, "expected an object");
            break;
        }
        if ((rc = str_field(&er, e, "name", 1, 0, IJ_MAX_NAME, &name, &nlen)) != 0) break;
        if ((rc = time_field(&er, e, "time", &ns)) != 0) break;
        json_t *attrs = json_object_get(e, "attributes");
        if (attrs && !json_is_null(attrs) && !json_is_object(attrs)) {
            rc = bad(&er, "attributes", 400, "expected an object");
            break;
        }
        if (nlen == 9 && memcmp(name, "exception", 9) == 0) *has_exception = 1;
        json_t *a = attrs && json_is_object(attrs) ? json_incref(attrs) : json_object();
        json_array_append_new(
            out, json_pack("{s:s%,s:I,s:o}", "name", name, nlen, "time_ns", (json_int_t)ns, "attributes", a));
    }
    if (rc == 0) {
        char path[256];
        field_path(r, "events", path, sizeof(path));
        rc = ij_copy_json(copy, out, 1, path, r->err);
        if (rc == 0) copy->data[copy->len - 1] = '\n';
    }
    json_decref(out);
    return rc;
}

static int one_span(const rec_t *r, json_t *s, ingest_batch_t *b)
{
    buf_t *c = &b->copy;
    char trace[33], span[17], parent[17];
    int has_trace, has_span, has_parent;
    const char *service, *name, *kind_s, *status_s, *msg;
    size_t service_n, name_n, kind_n, status_n, msg_n;
    int64_t start, end;
    if (!json_is_object(s)) return ij_fail(r->err, 400, r->prefix, "expected an object");
    if (id_field(r, s, "trace_id", 1, TRACE_ID_BYTES, trace, &has_trace) ||
        id_field(r, s, "span_id", 1, SPAN_ID_BYTES, span, &has_span) ||
        id_field(r, s, "parent_span_id", 0, SPAN_ID_BYTES, parent, &has_parent) ||
        str_field(r, s, "service", 1, 0, IJ_MAX_SERVICE, &service, &service_n) ||
        str_field(r, s, "name", 1, 0, IJ_MAX_NAME, &name, &name_n) ||
        str_field(r, s, "kind", 0, 0, IJ_MAX_LEVEL, &kind_s, &kind_n) ||
        time_field(r, s, "start_time", &start) || time_field(r, s, "end_time", &end) ||
        str_field(r, s, "status", 0, 0, 16, &status_s, &status_n) ||
        str_field(r, s, "status_message", 0, 1, IJ_MAX_MESSAGE, &msg, &msg_n))
        return -1;
    if (end < start) return bad(r, "end_time", 400, "end_time is before start_time");
    const char *kind = NULL;
    if (kind_s && span_kind(kind_s, kind_n, &kind) != 0)
        return bad(r, "kind", 400, "expected SERVER, CLIENT, INTERNAL, PRODUCER or CONSUMER");
    int status = SPAN_STATUS_UNSET;
    if (status_s) {
        if (status_n == 2 && strncasecmp(status_s, "OK", 2) == 0)
            status = SPAN_STATUS_OK;
        else if (status_n == 5 && strncasecmp(status_s, "ERROR", 5) == 0)
            status = SPAN_STATUS_ERROR;
        else if (!(status_n == 5 && strncasecmp(status_s, "UNSET", 5) == 0))
            return bad(r, "status", 400, "expected OK, ERROR or UNSET");
    }
    if (ij_col_text(c, trace, 32, '\t') || ij_col_text(c, span, 16, '\t') ||
        (has_parent ? ij_col_text(c, parent, 16, '\t') : ij_col_null(c, '\t')) ||
        ij_col_text(c, service, service_n, '\t') || ij_col_text(c, name, name_n, '\t') ||
        (kind ? ij_col_text(c, kind, strlen(kind), '\t') : ij_col_null(c, '\t')) ||
        ij_col_i64(c, start, '\t') || ij_col_i64(c, end, '\t') || ij_col_i64(c, status, '\t') ||
        (msg ? ij_col_text(c, msg, msg_n, '\t') : ij_col_null(c, '\t')))
        return TOO_BIG(r);
    if (json_col(r, c, s, "attributes", 0) != 0) return -1;
    int has_exception;
    if (span_events(r, json_object_get(s, "events"), c, &has_exception) != 0) return -1;
    ingest_batch_add_day(b, start);
    if (status == SPAN_STATUS_ERROR || has_exception) ingest_batch_add_error_trace(b, trace);
    return 0;
}

/* ---------------- logs ---------------- */

static void hash_str(hash128_state_t *h, const char *s, size_t n)
{
    hash128_field(h, s ? s : "\x01null", s ? n : 5);
}

static int one_log(const rec_t *r, json_t *l, ingest_batch_t *b)
{
    buf_t *c = &b->copy;
    char trace[33], span[17];
    int has_trace, has_span;
    const char *service, *level, *msg, *stack;
    size_t service_n, level_n, msg_n, stack_n;
    int64_t ts;
    if (!json_is_object(l)) return ij_fail(r->err, 400, r->prefix, "expected an object");
    if (time_field(r, l, "timestamp", &ts) ||
        str_field(r, l, "service", 1, 0, IJ_MAX_SERVICE, &service, &service_n) ||
        str_field(r, l, "level", 1, 0, IJ_MAX_LEVEL, &level, &level_n) ||
        str_field(r, l, "message", 1, 1, IJ_MAX_MESSAGE, &msg, &msg_n) ||
        id_field(r, l, "trace_id", 0, TRACE_ID_BYTES, trace, &has_trace) ||
        id_field(r, l, "span_id", 0, SPAN_ID_BYTES, span, &has_span) ||
        str_field(r, l, "stack_trace", 0, 1, IJ_MAX_STACK, &stack, &stack_n))
        return -1;
    int severity = ij_severity_of(level, level_n);
    if (severity == 0) return bad(r, "level", 400, "expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL");
    json_t *attrs = json_object_get(l, "attributes");
    char *canon = ij_canonical(attrs && !json_is_null(attrs) ? attrs : NULL);
    hash128_state_t h;
    hash128_init(&h);
    char tsbuf[24];
    int tsn = snprintf(tsbuf, sizeof(tsbuf), "%lld", (long long)ts);
    hash_str(&h, tsbuf, (size_t)tsn);
    hash_str(&h, service, service_n);
    hash_str(&h, level, level_n);
    hash_str(&h, msg, msg_n);
    hash_str(&h, has_trace ? trace : NULL, 32);
    hash_str(&h, has_span ? span : NULL, 16);
    hash_str(&h, stack, stack_n);
    hash_str(&h, canon, strlen(canon));
    free(canon);
    char hex[33];
    hash128_hex(hash128_final(&h), hex);
    if (ij_col_i64(c, ts, '\t') || ij_col_text(c, service, service_n, '\t') ||
        ij_col_text(c, level, level_n, '\t') || ij_col_i64(c, severity, '\t') ||
        ij_col_text(c, msg, msg_n, '\t') ||
        (has_trace ? ij_col_text(c, trace, 32, '\t') : ij_col_null(c, '\t')) ||
        (has_span ? ij_col_text(c, span, 16, '\t') : ij_col_null(c, '\t')) ||
        (stack ? ij_col_text(c, stack, stack_n, '\t') : ij_col_null(c, '\t')))
        return TOO_BIG(r);
    if (json_col(r, c, l, "attributes", 0) != 0) return -1;
    if (ij_col_text(c, hex, 32, '\n')) return TOO_BIG(r);
    ingest_batch_add_day(b, ts);
    if (severity >= 5 && has_trace) ingest_batch_add_error_trace(b, trace);
    return 0;
}

/* ---------------- metrics ---------------- */

static int one_metric(const rec_t *r, json_t *m, ingest_batch_t *b)
{
    buf_t *c = &b->copy;
    const char *service, *name;
    size_t service_n, name_n;
    int64_t ts;
    if (!json_is_object(m)) return ij_fail(r->err, 400, r->prefix, "expected an object");
    if (time_field(r, m, "timestamp", &ts) ||
        str_field(r, m, "service", 1, 0, IJ_MAX_SERVICE, &service, &service_n) ||
        str_field(r, m, "name", 1, 0, IJ_MAX_NAME, &name, &name_n))
        return -1;
    json_t *v = json_object_get(m, "value");
    if (v == NULL || json_is_null(v)) return bad(r, "value", 400, "missing");
    if (!json_is_number(v)) return bad(r, "value", 400, "expected a number");
    double value = json_number_value(v);
    json_t *labels = json_object_get(m, "labels");
    if (labels && !json_is_null(labels) && !json_is_object(labels))
        return bad(r, "labels", 400, "expected an object");
    char *canon = ij_canonical(labels && !json_is_null(labels) ? labels : NULL);
    hash128_state_t h;
    hash128_init(&h);
    hash_str(&h, service, service_n);
    hash_str(&h, name, name_n);
    hash_str(&h, canon, strlen(canon));
    hash128_update(&h, &ts, sizeof(ts));
    hash128_update(&h, &value, sizeof(value));
    free(canon);
    char hex[33];
    hash128_hex(hash128_final(&h), hex);
    if (ij_col_i64(c, ts, '\t') || ij_col_text(c, service, service_n, '\t') ||
        ij_col_text(c, name, name_n, '\t') || ingest_copy_double(c, value) || buf_append_char(c, '\t'))
        return TOO_BIG(r);
    if (json_col(r, c, m, "labels", 0) != 0) return -1;
    if (ij_col_text(c, hex, 32, '\n')) return TOO_BIG(r);
    ingest_batch_add_day(b, ts);
    return 0;
}

/* ---------------- change events ---------------- */

static int one_event(const rec_t *r, json_t *e, ingest_batch_t *b)
{
    buf_t *c = &b->copy;
    const char *service, *type, *desc;
    size_t service_n, type_n, desc_n;
    int64_t ts;
    if (!json_is_object(e)) return ij_fail(r->err, 400, r->prefix, "expected an object");
    if (time_field(r, e, "timestamp", &ts) ||
        str_field(r, e, "service", 0, 0, IJ_MAX_SERVICE, &service, &service_n) ||
        str_field(r, e, "type", 1, 0, IJ_MAX_TYPE, &type, &type_n) ||
        str_field(r, e, "description", 0, 1, IJ_MAX_DESCRIPTION, &desc, &desc_n))
        return -1;
    json_t *meta = json_object_get(e, "meta");
    if (meta && !json_is_null(meta) && !json_is_object(meta))
        return bad(r, "meta", 400, "expected an object");
    char *canon = ij_canonical(meta && !json_is_null(meta) ? meta : NULL);
    hash128_state_t h;
    hash128_init(&h);
    hash128_update(&h, &ts, sizeof(ts));
    hash_str(&h, service, service_n);
    hash_str(&h, type, type_n);
    hash_str(&h, desc, desc_n);
    hash_str(&h, canon, strlen(canon));
    free(canon);
    char hex[33];
    hash128_hex(hash128_final(&h), hex);
    if (ij_col_i64(c, ts, '\t') ||
        (service ? ij_col_text(c, service, service_n, '\t') : ij_col_null(c, '\t')) ||
        ij_col_text(c, type, type_n, '\t') ||
        (desc ? ij_col_text(c, desc, desc_n, '\t') : ij_col_null(c, '\t')))
        return TOO_BIG(r);
    if (json_col(r, c, e, "meta", 0) != 0) return -1;
    if (ij_col_text(c, hex, 32, '\n')) return TOO_BIG(r);
    ingest_batch_add_day(b, ts);
    return 0;
}

/* ---------------- batch ---------------- */

typedef int (*record_fn)(const rec_t *r, json_t *v, ingest_batch_t *b);

int ingest_json_native(ingest_kind_t kind, const char *body, size_t len, size_t max_records,
                       size_t max_copy_bytes, ingest_batch_t *out, ingest_err_t *err)
{
    static const char *keys[] = {"spans", "logs", "metrics", "events"};
    static const record_fn fns[] = {one_span, one_log, one_metric, one_event};
    ingest_batch_init(out, kind, max_copy_bytes);
    json_t *root = ij_load(body, len, err);
    if (root == NULL) return -1;
    int rc = -1;
    json_t *arr = json_object_get(root, keys[kind]);
    if (arr == NULL) {
        ij_fail(err, 400, keys[kind], "missing");
        goto out;
    }
    if (!json_is_array(arr)) {
        ij_fail(err, 400, keys[kind], "expected an array");
        goto out;
    }
    if (json_array_size(arr) > max_records) {
        ij_fail(err, 413, keys[kind], "%zu records; at most %zu per batch", json_array_size(arr),
                max_records);
        goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        rec_t r = {.err = err};
        snprintf(r.prefix, sizeof(r.prefix), "%s[%zu]", keys[kind], i);
        if (fns[kind](&r, v, out) != 0) goto out;
        out->records++;
    }
    rc = 0;
out:
    json_decref(root);
    if (rc != 0) ingest_batch_dispose(out);
    return rc;
}
