/* OTLP/HTTP with JSON encoding (the OpenTelemetry protocol's ExportTraceServiceRequest,
 * ExportLogsServiceRequest and ExportMetricsServiceRequest): resource service.name is the service,
 * AnyValue attributes become plain JSON, ids may be hex or base64, 64-bit integers may be strings. */
#include "hash.h"
#include "hexid.h"
#include "ingest_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOO_BIG(err) ij_fail((err), 413, "", "batch larger than the accepted size")

/* ---------------- AnyValue / KeyValue ---------------- */

/* Conversion stops (null) only past this depth, a guard for the recursion; the stored limit of
 * IJ_MAX_DEPTH levels is enforced afterwards with a 400 naming the attribute (ij_copy_json). */
#define CONVERT_MAX_DEPTH (IJ_MAX_DEPTH + 8)

static json_t *any_value(json_t *v, int depth);

/* [{key, value:AnyValue}] → {key: plain} */
static json_t *kv_list(json_t *list, int depth)
{
    json_t *o = json_object();
    if (!json_is_array(list) || depth > CONVERT_MAX_DEPTH) return o;
    size_t i;
    json_t *kv;
    json_array_foreach(list, i, kv)
    {
        json_t *k = json_object_get(kv, "key");
        if (!json_is_string(k)) continue;
        json_object_set_new(o, json_string_value(k), any_value(json_object_get(kv, "value"), depth));
    }
    return o;
}

static json_t *any_value(json_t *v, int depth)
{
    json_t *x;
    if (!json_is_object(v) || depth > CONVERT_MAX_DEPTH) return json_null();
    if ((x = json_object_get(v, "stringValue"))) return json_incref(x);
    if ((x = json_object_get(v, "boolValue"))) return json_incref(x);
    if ((x = json_object_get(v, "doubleValue"))) return json_incref(x);
    if ((x = json_object_get(v, "bytesValue"))) return json_incref(x);
    if ((x = json_object_get(v, "intValue"))) {
        if (json_is_integer(x)) return json_incref(x);
        if (json_is_string(x)) {
            char *end;
            errno = 0;
            long long n = strtoll(json_string_value(x), &end, 10);
            /* past 64 bits strtoll clamps: keep the digits as sent rather than change the value */
            if (*end == '\0' && end != json_string_value(x) && errno != ERANGE) return json_integer(n);
            return json_incref(x); /* keep what was sent rather than lose it */
        }
        return json_incref(x);
    }
    if ((x = json_object_get(v, "arrayValue"))) {
        json_t *arr = json_array(), *values = json_object_get(x, "values");
        size_t i;
        json_t *e;
        if (json_is_array(values))
            json_array_foreach(values, i, e) json_array_append_new(arr, any_value(e, depth + 1));
        return arr;
    }
    if ((x = json_object_get(v, "kvlistValue"))) return kv_list(json_object_get(x, "values"), depth + 1);
    return json_null();
}

/* NULL when service.name is longer than a service may be. */
static const char *service_of(json_t *resource_attrs)
{
    json_t *s = json_object_get(resource_attrs, "service.name");
    if (json_is_string(s) && json_string_length(s) > IJ_MAX_SERVICE) return NULL;
    return json_is_string(s) && json_string_length(s) > 0 ? json_string_value(s) : "unknown_service";
}

static int otlp_time(json_t *o, const char *field, const char *prefix, ingest_err_t *err, int64_t *ns)
{
    char path[320];
    snprintf(path, sizeof(path), "%.250s.%.60s", prefix, field);
    return ij_time(json_object_get(o, field), path, err, ns);
}

static int otlp_id(json_t *o, const char *field, const char *prefix, size_t nbytes, int required,
                   ingest_err_t *err, char *out, int *present)
{
    json_t *v = json_object_get(o, field);
    char path[320];
    snprintf(path, sizeof(path), "%.250s.%.60s", prefix, field);
    *present = 0;
    if (v == NULL || (json_is_string(v) && json_string_length(v) == 0))
        return required ? ij_fail(err, 400, path, "missing") : 0;
    if (!json_is_string(v)) return ij_fail(err, 400, path, "expected a string");
    const char *why;
    if (hexid_parse(json_string_value(v), json_string_length(v), nbytes, out, &why) != 0)
        return ij_fail(err, 400, path, "%s", why);
    *present = 1;
    return 0;
}

/* Iterates a two-level OTLP envelope: <top>[i].<scope>[j].<leaf>[k]. */
typedef int (*leaf_fn)(json_t *leaf, const char *service, json_t *resource, const char *path,
                       ingest_batch_t *b, ingest_err_t *err);

static int walk(json_t *root, const char *top, const char *scope, const char *leaf, size_t max_records,
                ingest_batch_t *b, ingest_err_t *err, leaf_fn fn)
{
    json_t *tops = json_object_get(root, top);
    if (tops == NULL) return 0; /* an empty export is valid */
    if (!json_is_array(tops)) return ij_fail(err, 400, top, "expected an array");
    size_t i, j, k;
    json_t *t, *s, *l;
    json_array_foreach(tops, i, t)
    {
        json_t *resource = kv_list(json_object_get(json_object_get(t, "resource"), "attributes"), 0);
        const char *service = service_of(resource);
        if (service == NULL) {
            char path[128];
            snprintf(path, sizeof(path), "%s[%zu].resource.attributes.service.name", top, i);
            json_decref(resource);
            return ij_fail(err, 400, path, "longer than %d bytes", IJ_MAX_SERVICE);
        }
        json_t *scopes = json_object_get(t, scope);
        int rc = 0;
        if (scopes && !json_is_array(scopes)) {
            char path[128];
            snprintf(path, sizeof(path), "%s[%zu].%s", top, i, scope);
            rc = ij_fail(err, 400, path, "expected an array");
        }
        json_array_foreach(scopes, j, s)
        {
            json_t *leaves = json_object_get(s, leaf);
            if (leaves && !json_is_array(leaves)) {
                char path[160];
                snprintf(path, sizeof(path), "%s[%zu].%s[%zu].%s", top, i, scope, j, leaf);
                rc = ij_fail(err, 400, path, "expected an array");
                break;
            }
            json_array_foreach(leaves, k, l)
            {
                char path[192];
                snprintf(path, sizeof(path), "%s[%zu].%s[%zu].%s[%zu]", top, i, scope, j, leaf, k);
                if (!json_is_object(l)) {
                    rc = ij_fail(err, 400, path, "expected an object");
                    break;
                }
                if ((rc = fn(l, service, resource, path, b, err)) != 0) break;
                if (b->records > max_records) {
                    rc = ij_fail(err, 413, top, "more than %zu records in one batch", max_records);
                    break;
                }
            }
            if (rc) break;
        }
        json_decref(resource);
        if (rc) return rc;
    }
    return 0;
}

/* ---------------- traces ---------------- */

static const char *kind_name(json_t *k)
{
    static const char *names[] = {NULL, "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"};
    if (json_is_integer(k) && json_integer_value(k) >= 0 && json_integer_value(k) <= 5)
        return names[json_integer_value(k)];
    if (json_is_string(k)) {
        const char *s = json_string_value(k);
        if (strncmp(s, "SPAN_KIND_", 10) == 0) s += 10;
        for (int i = 1; i <= 5; i++)
            if (strcmp(s, names[i]) == 0) return names[i];
    }
    return NULL;
}

static int status_code(json_t *status)
{
    json_t *c = json_object_get(status, "code");
    if (json_is_integer(c))
        return json_integer_value(c) == 2 ? SPAN_STATUS_ERROR : (int)json_integer_value(c) == 1;
    if (json_is_string(c)) {
        if (strcmp(json_string_value(c), "STATUS_CODE_ERROR") == 0) return SPAN_STATUS_ERROR;
        if (strcmp(json_string_value(c), "STATUS_CODE_OK") == 0) return SPAN_STATUS_OK;
    }
    return SPAN_STATUS_UNSET;
}

static int copy_json_col(buf_t *c, json_t *v, int array, const char *path, const char *field,
                         ingest_err_t *err)
{
    char p[320];
    snprintf(p, sizeof(p), "%.280s.%s", path, field);
    return ij_copy_json(c, v, array, p, err);
}

static int one_span(json_t *s, const char *service, json_t *resource, const char *path, ingest_batch_t *b,
                    ingest_err_t *err)
{
    buf_t *c = &b->copy;
    char trace[33], span[17], parent[17], p[320];
    int has, has_parent;
    int64_t start, end;
    if (otlp_id(s, "traceId", path, TRACE_ID_BYTES, 1, err, trace, &has) ||
        otlp_id(s, "spanId", path, SPAN_ID_BYTES, 1, err, span, &has) ||
        otlp_id(s, "parentSpanId", path, SPAN_ID_BYTES, 0, err, parent, &has_parent) ||
        otlp_time(s, "startTimeUnixNano", path, err, &start) ||
        otlp_time(s, "endTimeUnixNano", path, err, &end))
        return -1;
    json_t *name = json_object_get(s, "name");
    snprintf(p, sizeof(p), "%.280s.name", path);
    if (!json_is_string(name) || json_string_length(name) == 0)
        return ij_fail(err, 400, p, "expected a non-empty string");
    if (json_string_length(name) > IJ_MAX_NAME)
        return ij_fail(err, 400, p, "longer than %d bytes", IJ_MAX_NAME);
    if (end < start) {
        snprintf(p, sizeof(p), "%.280s.endTimeUnixNano", path);
        return ij_fail(err, 400, p, "end is before start");
    }
    json_t *st = json_object_get(s, "status");
    int status = status_code(st);
    json_t *msg = json_object_get(st, "message");
    const char *kind = kind_name(json_object_get(s, "kind"));
    json_t *attrs = kv_list(json_object_get(s, "attributes"), 0);
    if (json_object_size(resource) > 1) {
        json_t *res = json_deep_copy(resource);
        json_object_del(res, "service.name");
        json_object_set_new(attrs, "resource", res);
    }
    json_t *events = json_array();
    int has_exception = 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(s, "events"), i, e)
    {
        char ep[320];
        snprintf(ep, sizeof(ep), "%.250s.events[%zu]", path, i);
        int64_t t;
        if (otlp_time(e, "timeUnixNano", ep, err, &t) != 0) {
            json_decref(attrs);
            json_decref(events);
            return -1;
        }
        json_t *en = json_object_get(e, "name");
        const char *ename = json_is_string(en) ? json_string_value(en) : "";
        if (strcmp(ename, "exception") == 0) has_exception = 1;
        json_array_append_new(events, json_pack("{s:s,s:I,s:o}", "name", ename, "time_ns", (json_int_t)t,
                                                "attributes", kv_list(json_object_get(e, "attributes"), 0)));
    }
    int rc = 0;
    if (ij_col_text(c, trace, 32, '\t') || ij_col_text(c, span, 16, '\t') ||
        (has_parent ? ij_col_text(c, parent, 16, '\t') : ij_col_null(c, '\t')) ||
        ij_col_text(c, service, strlen(service), '\t') ||
        ij_col_text(c, json_string_value(name), json_string_length(name), '\t') ||
        (kind ? ij_col_text(c, kind, strlen(kind), '\t') : ij_col_null(c, '\t')) ||
        ij_col_i64(c, start, '\t') || ij_col_i64(c, end, '\t') || ij_col_i64(c, status, '\t') ||
        (json_is_string(msg) && json_string_length(msg)
             ? ij_col_text(c, json_string_value(msg), json_string_length(msg), '\t')
             : ij_col_null(c, '\t')))
        rc = TOO_BIG(err);
    if (rc == 0) rc = copy_json_col(c, attrs, 0, path, "attributes", err);
    if (rc == 0 && (rc = copy_json_col(c, events, 1, path, "events", err)) == 0) c->data[c->len - 1] = '\n';
    json_decref(attrs);
    json_decref(events);
    if (rc) return rc;
    b->records++;
    ingest_batch_add_day(b, start);
    if (status == SPAN_STATUS_ERROR || has_exception) ingest_batch_add_error_trace(b, trace);
    return 0;
}

/* ---------------- logs ---------------- */

static int severity_of_number(json_int_t n)
{
    if (n <= 0) return 0;
    if (n <= 4) return 1;
    if (n <= 8) return 2;
    if (n <= 12) return 3;
    if (n <= 16) return 4;
    if (n <= 20) return 5;
    return 6;
}

static void hash_str(hash128_state_t *h, const char *s, size_t n)
{
    hash128_field(h, s ? s : "\x01null", s ? n : 5);
}

static int one_log(json_t *l, const char *service, json_t *resource, const char *path, ingest_batch_t *b,
                   ingest_err_t *err)
{
    (void)resource;
    buf_t *c = &b->copy;
    char trace[33], span[17];
    int has_trace, has_span;
    int64_t ts;
    json_t *t = json_object_get(l, "timeUnixNano");
    int use_observed = t == NULL || (json_is_string(t) && strcmp(json_string_value(t), "0") == 0) ||
                       (json_is_integer(t) && json_integer_value(t) == 0);
    if (otlp_time(l, use_observed ? "observedTimeUnixNano" : "timeUnixNano", path, err, &ts) ||
        otlp_id(l, "traceId", path, TRACE_ID_BYTES, 0, err, trace, &has_trace) ||
        otlp_id(l, "spanId", path, SPAN_ID_BYTES, 0, err, span, &has_span))
        return -1;
    json_t *sev_text = json_object_get(l, "severityText");
    json_t *sev_num = json_object_get(l, "severityNumber");
    int severity = json_is_integer(sev_num) ? severity_of_number(json_integer_value(sev_num)) : 0;
    const char *level =
        json_is_string(sev_text) && json_string_length(sev_text) ? json_string_value(sev_text) : NULL;
    if (severity == 0 && level) severity = ij_severity_of(level, strlen(level));
    static const char *names[] = {"INFO", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    if (severity == 0)
        severity = 3; /* OTLP allows unspecified severity: stored as INFO, level kept as sent */
    if (level == NULL || strlen(level) > IJ_MAX_LEVEL) level = names[severity];
    json_t *body = any_value(json_object_get(l, "body"), 0);
    char *msg = json_is_string(body) ? strdup(json_string_value(body))
                : json_is_null(body) ? strdup("")
                                     : json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    json_t *attrs = kv_list(json_object_get(l, "attributes"), 0);
    json_t *stack = json_object_get(attrs, "exception.stacktrace");
    const char *stack_s = json_is_string(stack) ? json_string_value(stack) : NULL;
    char *canon = ij_canonical(attrs);
    hash128_state_t h;
    hash128_init(&h);
    char tsbuf[24];
    int tsn = snprintf(tsbuf, sizeof(tsbuf), "%lld", (long long)ts);
    hash_str(&h, tsbuf, (size_t)tsn);
    hash_str(&h, service, strlen(service));
    hash_str(&h, level, strlen(level));
    hash_str(&h, msg, strlen(msg));
    hash_str(&h, has_trace ? trace : NULL, 32);
    hash_str(&h, has_span ? span : NULL, 16);
    hash_str(&h, stack_s, stack_s ? strlen(stack_s) : 0);
    hash_str(&h, canon, strlen(canon));
    free(canon);
    char hex[33], p[320];
    hash128_hex(hash128_final(&h), hex);
    int rc = 0;
    if (strlen(msg) > IJ_MAX_MESSAGE) {
        snprintf(p, sizeof(p), "%.280s.body", path);
        rc = ij_fail(err, 400, p, "longer than %d bytes", IJ_MAX_MESSAGE);
    } else if (ij_col_i64(c, ts, '\t') || ij_col_text(c, service, strlen(service), '\t') ||
               ij_col_text(c, level, strlen(level), '\t') || ij_col_i64(c, severity, '\t') ||
               ij_col_text(c, msg, strlen(msg), '\t') ||
               (has_trace ? ij_col_text(c, trace, 32, '\t') : ij_col_null(c, '\t')) ||
               (has_span ? ij_col_text(c, span, 16, '\t') : ij_col_null(c, '\t')) ||
               (stack_s ? ij_col_text(c, stack_s, strlen(stack_s), '\t') : ij_col_null(c, '\t'))) {
        rc = TOO_BIG(err);
    }
    if (rc == 0) rc = copy_json_col(c, attrs, 0, path, "attributes", err);
    if (rc == 0 && ij_col_text(c, hex, 32, '\n')) rc = TOO_BIG(err);
    free(msg);
    json_decref(attrs);
    if (rc) return rc;
    b->records++;
    ingest_batch_add_day(b, ts);
    if (severity >= 5 && has_trace) ingest_batch_add_error_trace(b, trace);
    return 0;
}

/* ---------------- metrics ---------------- */

/* One stored point: name, value, labels (borrowed), time. */
static int point(ingest_batch_t *b, const char *service, const char *name, double value, json_t *labels,
                 int64_t ts, const char *path, ingest_err_t *err)
{
    buf_t *c = &b->copy;
    if (!isfinite(value)) return ij_fail(err, 400, path, "value is not a finite number");
    char *canon = ij_canonical(labels);
    hash128_state_t h;
    hash128_init(&h);
    hash_str(&h, service, strlen(service));
    hash_str(&h, name, strlen(name));
    hash_str(&h, canon, strlen(canon));
    hash128_update(&h, &ts, sizeof(ts));
    hash128_update(&h, &value, sizeof(value));
    free(canon);
    char hex[33];
    hash128_hex(hash128_final(&h), hex);
    if (ij_col_i64(c, ts, '\t') || ij_col_text(c, service, strlen(service), '\t') ||
        ij_col_text(c, name, strlen(name), '\t') || ingest_copy_double(c, value) || buf_append_char(c, '\t'))
        return TOO_BIG(err);
    if (copy_json_col(c, labels, 0, path, "attributes", err) != 0) return -1;
    if (ij_col_text(c, hex, 32, '\n')) return TOO_BIG(err);
    b->records++;
    ingest_batch_add_day(b, ts);
    return 0;
}

static int number_of(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        char *end;
        *out = strtod(json_string_value(v), &end);
        return *end == '\0' && end != json_string_value(v) ? 0 : -1;
    }
    return -1;
}

static int data_point(json_t *dp, const char *service, const char *name, const char *kind, const char *path,
                      ingest_batch_t *b, ingest_err_t *err)
{
    int64_t ts;
    if (otlp_time(dp, "timeUnixNano", path, err, &ts) != 0) return -1;
    json_t *labels = kv_list(json_object_get(dp, "attributes"), 0);
    int rc = 0;
    char p[320], n2[IJ_MAX_NAME + 32];
    if (strcmp(kind, "histogram") == 0 || strcmp(kind, "summary") == 0 ||
        strcmp(kind, "exponentialHistogram") == 0) {
        double count = 0, sum = 0;
        snprintf(p, sizeof(p), "%.280s.count", path);
        json_t *cv = json_object_get(dp, "count"); /* OTLP's JSON leaves zero counts out */
        if (cv != NULL && number_of(cv, &count) != 0) rc = ij_fail(err, 400, p, "expected a number");
        snprintf(n2, sizeof(n2), "%s.count", name);
        if (rc == 0) rc = point(b, service, n2, count, labels, ts, path, err);
        if (rc == 0 && number_of(json_object_get(dp, "sum"), &sum) == 0) {
            snprintf(n2, sizeof(n2), "%s.sum", name);
            rc = point(b, service, n2, sum, labels, ts, path, err);
        }
        if (rc == 0 && strcmp(kind, "histogram") == 0) {
            /* cumulative bucket counts with an "le" label, as Prometheus does */
            json_t *counts = json_object_get(dp, "bucketCounts"),
                   *bounds = json_object_get(dp, "explicitBounds");
            double cum = 0;
            snprintf(n2, sizeof(n2), "%s.bucket", name);
            for (size_t i = 0; rc == 0 && i < json_array_size(counts); i++) {
                double cnt, bound;
                snprintf(p, sizeof(p), "%.250s.bucketCounts[%zu]", path, i);
                if (number_of(json_array_get(counts, i), &cnt) != 0) {
                    rc = ij_fail(err, 400, p, "expected a number");
                    break;
                }
                cum += cnt;
                json_t *l = json_deep_copy(labels);
                char le[40];
                if (i < json_array_size(bounds) && number_of(json_array_get(bounds, i), &bound) == 0) {
                    /* shortest text that reads back to the same double: 0.1, not 0.10000000000000001 */
                    for (int digits = 6; digits <= 17; digits++) {
                        snprintf(le, sizeof(le), "%.*g", digits, bound);
                        if (strtod(le, NULL) == bound) break;
                    }
                } else
                    snprintf(le, sizeof(le), "+Inf");
                json_object_set_new(l, "le", json_string(le));
                rc = point(b, service, n2, cum, l, ts, path, err);
                json_decref(l);
            }
        }
        if (rc == 0 && strcmp(kind, "summary") == 0) {
            size_t i;
            json_t *q;
            json_array_foreach(json_object_get(dp, "quantileValues"), i, q)
            {
                double qq, v;
                if (number_of(json_object_get(q, "quantile"), &qq) ||
                    number_of(json_object_get(q, "value"), &v))
                    continue;
                json_t *l = json_deep_copy(labels);
                json_object_set_new(l, "quantile", json_real(qq));
                rc = point(b, service, name, v, l, ts, path, err);
                json_decref(l);
                if (rc) break;
            }
        }
    } else {
        double v;
        json_t *x = json_object_get(dp, "asDouble");
        if (x == NULL) x = json_object_get(dp, "asInt");
        snprintf(p, sizeof(p), "%.280s.asDouble", path);
        if (number_of(x, &v) != 0)
            rc = ij_fail(err, 400, p, "expected asDouble or asInt");
        else
            rc = point(b, service, name, v, labels, ts, path, err);
    }
    json_decref(labels);
    return rc;
}

static int one_metric(json_t *m, const char *service, json_t *resource, const char *path, ingest_batch_t *b,
                      ingest_err_t *err)
{
    (void)resource;
    static const char *kinds[] = {"gauge", "sum", "histogram", "summary", "exponentialHistogram"};
    json_t *name = json_object_get(m, "name");
    char p[320];
    snprintf(p, sizeof(p), "%.280s.name", path);
    if (!json_is_string(name) || json_string_length(name) == 0)
        return ij_fail(err, 400, p, "expected a non-empty string");
    if (json_string_length(name) > IJ_MAX_NAME)
        return ij_fail(err, 400, p, "longer than %d bytes", IJ_MAX_NAME);
    for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
        json_t *body = json_object_get(m, kinds[k]);
        if (body == NULL) continue;
        size_t i;
        json_t *dp;
        json_array_foreach(json_object_get(body, "dataPoints"), i, dp)
        {
            char dpp[320];
            snprintf(dpp, sizeof(dpp), "%.250s.%s.dataPoints[%zu]", path, kinds[k], i);
            if (data_point(dp, service, json_string_value(name), kinds[k], dpp, b, err) != 0) return -1;
        }
        return 0;
    }
    return ij_fail(err, 400, path, "expected one of gauge, sum, histogram, summary, exponentialHistogram");
}

int ingest_json_otlp(ingest_kind_t kind, const char *body, size_t len, size_t max_records,
                     size_t max_copy_bytes, ingest_batch_t *out, ingest_err_t *err)
{
    ingest_batch_init(out, kind, max_copy_bytes);
    json_t *root = ij_load(body, len, err);
    if (root == NULL) return -1;
    int rc;
    switch (kind) {
    case INGEST_SPANS:
        rc = walk(root, "resourceSpans", "scopeSpans", "spans", max_records, out, err, one_span);
        break;
    case INGEST_LOGS:
        rc = walk(root, "resourceLogs", "scopeLogs", "logRecords", max_records, out, err, one_log);
        break;
    case INGEST_METRICS:
        rc = walk(root, "resourceMetrics", "scopeMetrics", "metrics", max_records, out, err, one_metric);
        break;
    default:
        rc = ij_fail(err, 404, "", "no OTLP signal of this kind");
        break;
    }
    json_decref(root);
    if (rc != 0) ingest_batch_dispose(out);
    return rc;
}
