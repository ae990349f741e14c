/* OTLP protobuf requests into the record layer (see ingest_otlp_proto.h).
 *
 * A request is checked by a wire-format walk first (otlp_wire.h: names a malformed field, bounds
 * nesting and the memory unpacking needs), then unpacked by protobuf-c into a per-call arena (one
 * block sized by the walk, freed at once), then walked resources → scopes → records, each record
 * filled into ingest_record.h's types with the OTLP rules of ingest_otlp_common.h. */
#include "ingest_otlp_proto.h"

#include "ingest_otlp_common.h"
#include "ingest_record.h"
#include "otlp_wire.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv_t;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope_t;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource_t;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span_t;
typedef Opentelemetry__Proto__Logs__V1__LogRecord pb_log_t;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric_t;

#define EVENTS_MAX_BYTES (1u << 20) /* JSON text of one span's events, and of its links */
#define ATTRS_MAX_BYTES (INGEST_MAX_ATTR_BYTES + 4096)

/* ---------------- per-call arena for protobuf-c ---------------- */

/* Chunks of memory handed out by a bump pointer; nothing is freed before the end of the call. The
 * first chunk is the wire walk's estimate; more chunks may follow (a message field sent twice is
 * merged by protobuf-c) up to `cap` bytes in all, past which allocation fails and unpacking stops. */
typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} chunk_t;

typedef struct {
    chunk_t *head;
    size_t total, cap;
    int exhausted;
} arena_t;

static void *arena_alloc(void *data, size_t n)
{
    arena_t *a = data;
    n = (n + 15) & ~(size_t)15;
    if (a->head == NULL || a->head->size - a->head->used < n) {
        size_t size = n > (64u << 10) ? n : (64u << 10);
        if (a->head == NULL) size = n; /* the first request sizes the first chunk exactly */
        if (size > a->cap - a->total || a->cap < a->total) {
            a->exhausted = 1;
            return NULL;
        }
        chunk_t *c = malloc(sizeof(*c) + size);
        if (c == NULL) {
            a->exhausted = 1;
            return NULL;
        }
        c->next = a->head;
        c->size = size;
        c->used = 0;
        a->head = c;
        a->total += size;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

static void arena_free_nothing(void *data, void *p)
{
    (void)data;
    (void)p;
}

static void arena_dispose(arena_t *a)
{
    for (chunk_t *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
}

/* ---------------- AnyValue accessors (ingest_otlp_common.h) ---------------- */

static void any_read(const void *v, otlp_any_t *out)
{
    const pb_any_t *a = v;
    memset(out, 0, sizeof(*out));
    if (a == NULL) return;
    switch (a->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        out->type = OTLP_ANY_STRING;
        out->str = (istr_t){a->string_value, strlen(a->string_value)};
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        out->type = OTLP_ANY_BOOL;
        out->b = a->bool_value != 0;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        out->type = OTLP_ANY_INT;
        out->i = a->int_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        out->type = OTLP_ANY_DOUBLE;
        out->d = a->double_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        out->type = OTLP_ANY_BYTES;
        out->str = (istr_t){(const char *)a->bytes_value.data, a->bytes_value.len};
        if (out->str.s == NULL) out->str.s = "";
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
        out->type = OTLP_ANY_ARRAY;
        out->n = a->array_value ? a->array_value->n_values : 0;
        out->list = a->array_value ? (const void *)a->array_value->values : NULL;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        out->type = OTLP_ANY_KVLIST;
        out->n = a->kvlist_value ? a->kvlist_value->n_values : 0;
        out->list = a->kvlist_value ? (const void *)a->kvlist_value->values : NULL;
        break;
    default:
        break;
    }
}

static const void *array_item(const void *list, size_t i)
{
    return ((pb_any_t *const *)list)[i];
}

static const void *kv_item(const void *list, size_t i, istr_t *key)
{
    const pb_kv_t *kv = ((pb_kv_t *const *)list)[i];
    *key = (istr_t){kv->key, strlen(kv->key)};
    return kv->value;
}

static const otlp_any_ops_t PB_OPS = {any_read, array_item, kv_item};

/* ---------------- decoding context ---------------- */

typedef struct {
    ingest_batch_t *b;
    ingest_err_t *err;
    ingest_err_t rec_err; /* a record's refusal */
    buf_t attrs, body, resource_attrs, quantiles;
    ingest_list_t events, links;
    char path[256];
} ctx_t;

static istr_t str_of(const char *s)
{
    return s && *s ? (istr_t){s, strlen(s)} : ISTR_NONE;
}

static int64_t ns_of(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* A refused record: a 400 is counted (partial success) and 0 returned so the walk goes on; anything
 * else fails the call. */
static int refused(ctx_t *c)
{
    if (c->rec_err.status != 400) {
        *c->err = c->rec_err;
        return -1;
    }
    ingest_batch_reject(c->b, &c->rec_err);
    return 0;
}

static int bad(ctx_t *c, const char *field, const char *why)
{
    char p[256];
    snprintf(p, sizeof(p), "%.200s.%s", c->path, field);
    ingest_otlp_fail(&c->rec_err, 400, p, "%s", why);
    return -1;
}

/* Raw id bytes → lowercase hex. Empty: "" (absent); `required` makes that a bad record. All-zero ids
 * are invalid (W3C); `zero_is_absent` reads them as absent instead. */
static int id_hex(ctx_t *c, ProtobufCBinaryData id, size_t nbytes, int required, int zero_is_absent,
                  const char *field, char *out)
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\0';
    if (id.len == 0) return required ? bad(c, field, "missing") : 0;
    if (id.len != nbytes) return bad(c, field, nbytes == 16 ? "expected 16 bytes" : "expected 8 bytes");
    int zero = 1;
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[id.data[i] >> 4];
        out[2 * i + 1] = hex[id.data[i] & 15];
        zero &= id.data[i] == 0;
    }
    out[2 * nbytes] = '\0';
    if (!zero) return 0;
    out[0] = '\0';
    return zero_is_absent ? 0 : bad(c, field, "all-zero id");
}

static int attrs_of(ctx_t *c, buf_t *into, pb_kv_t **kv, size_t n, istr_t *stack, istr_t *json)
{
    char p[256];
    snprintf(p, sizeof(p), "%.200s.attributes", c->path);
    buf_reset(into);
    if (ingest_otlp_attrs_json(into, &PB_OPS, kv, n, stack, p, &c->rec_err) != 0) return -1;
    *json = (istr_t){into->data, into->len};
    return 0;
}

/* Resource and scope of one resource group. A refused resource refuses its `records` records. */
static int resource_of(ctx_t *c, const pb_resource_t *r, const char *schema_url, ingest_resource_t *res,
                       int *ok)
{
    memset(res, 0, sizeof(*res));
    *ok = 0;
    if (r) {
        res->service = ingest_otlp_service(&PB_OPS, r->attributes, r->n_attributes);
        res->dropped_attributes = r->dropped_attributes_count;
    }
    res->schema_url = str_of(schema_url);
    if (attrs_of(c, &c->resource_attrs, r ? r->attributes : NULL, r ? r->n_attributes : 0, NULL,
                 &res->attributes) != 0)
        return refused(c);
    char p[256];
    snprintf(p, sizeof(p), "%.200s.resource", c->path);
    if (ingest_record_resource(c->b, res, p, &c->rec_err) != 0) return refused(c);
    *ok = 1;
    return 0;
}

static void reject_n(ctx_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ingest_batch_reject(c->b, &c->rec_err);
}

static ingest_scope_t scope_of(const pb_scope_t *s)
{
    return (ingest_scope_t){s ? str_of(s->name) : ISTR_NONE, s ? str_of(s->version) : ISTR_NONE};
}

/* ---------------- traces ---------------- */

static int span_lists(ctx_t *c, const pb_span_t *s)
{
    char p[256];
    ingest_list_reset(&c->events);
    ingest_list_reset(&c->links);
    for (size_t i = 0; i < s->n_events; i++) {
        const Opentelemetry__Proto__Trace__V1__Span__Event *e = s->events[i];
        istr_t attrs;
        snprintf(p, sizeof(p), "%.200s.events[%zu]", c->path, i);
        if (attrs_of(c, &c->attrs, e->attributes, e->n_attributes, NULL, &attrs) != 0 ||
            ingest_list_add_event(&c->events, (istr_t){e->name, strlen(e->name)}, ns_of(e->time_unix_nano),
                                  attrs, e->dropped_attributes_count, p, &c->rec_err) != 0)
            return -1;
    }
    for (size_t i = 0; i < s->n_links; i++) {
        const Opentelemetry__Proto__Trace__V1__Span__Link *l = s->links[i];
        char trace[33], span[17], field[64];
        istr_t attrs;
        snprintf(p, sizeof(p), "%.200s.links[%zu]", c->path, i);
        snprintf(field, sizeof(field), "links[%zu].traceId", i);
        if (id_hex(c, l->trace_id, 16, 1, 0, field, trace) != 0) return -1;
        snprintf(field, sizeof(field), "links[%zu].spanId", i);
        if (id_hex(c, l->span_id, 8, 1, 0, field, span) != 0 ||
            attrs_of(c, &c->attrs, l->attributes, l->n_attributes, NULL, &attrs) != 0 ||
            ingest_list_add_link(&c->links, trace, span, str_of(l->trace_state), l->flags, attrs,
                                 l->dropped_attributes_count, p, &c->rec_err) != 0)
            return -1;
    }
    return 0;
}

static int one_span(ctx_t *c, const pb_span_t *s, const ingest_resource_t *res, const ingest_scope_t *scope)
{
    ingest_span_t r = {.resource = res, .scope = scope};
    if (id_hex(c, s->trace_id, 16, 1, 0, "traceId", r.trace_id) != 0 ||
        id_hex(c, s->span_id, 8, 1, 0, "spanId", r.span_id) != 0 ||
        id_hex(c, s->parent_span_id, 8, 0, 0, "parentSpanId", r.parent_span_id) != 0 || span_lists(c, s) != 0)
        return refused(c);
    /* attributes last: the events and links used c->attrs as scratch */
    if (attrs_of(c, &c->attrs, s->attributes, s->n_attributes, NULL, &r.attributes) != 0) return refused(c);
    r.trace_state = str_of(s->trace_state);
    r.flags = s->flags;
    r.name = (istr_t){s->name, strlen(s->name)};
    r.kind = ingest_otlp_span_kind(s->kind);
    r.start_ns = ns_of(s->start_time_unix_nano);
    r.end_ns = ns_of(s->end_time_unix_nano);
    r.status = ingest_otlp_span_status(s->status ? s->status->code : 0);
    r.status_message = s->status ? str_of(s->status->message) : ISTR_NONE;
    r.events = s->n_events ? &c->events : NULL;
    r.links = s->n_links ? &c->links : NULL;
    r.dropped_attributes = s->dropped_attributes_count;
    r.dropped_events = s->dropped_events_count;
    r.dropped_links = s->dropped_links_count;
    if (ingest_record_span(c->b, &r, otlp_span_names, c->path, &c->rec_err) != 0) return refused(c);
    return 0;
}

static int traces(ctx_t *c, const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req)
{
    for (size_t i = 0; i < req->n_resource_spans; i++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[i];
        ingest_resource_t res;
        int ok;
        snprintf(c->path, sizeof(c->path), "resourceSpans[%zu]", i);
        if (resource_of(c, rs->resource, rs->schema_url, &res, &ok) != 0) return -1;
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[j];
            ingest_scope_t scope = scope_of(ss->scope);
            if (!ok) {
                reject_n(c, ss->n_spans);
                continue;
            }
            for (size_t k = 0; k < ss->n_spans; k++) {
                snprintf(c->path, sizeof(c->path), "resourceSpans[%zu].scopeSpans[%zu].spans[%zu]", i, j, k);
                if (one_span(c, ss->spans[k], &res, &scope) != 0) return -1;
            }
        }
    }
    return 0;
}

static size_t count_spans(const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_resource_spans; i++)
        for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
            n += req->resource_spans[i]->scope_spans[j]->n_spans;
    return n;
}

/* ---------------- logs ---------------- */

static int one_log(ctx_t *c, const pb_log_t *l, const ingest_resource_t *res, const ingest_scope_t *scope)
{
    ingest_log_t r = {.resource = res, .scope = scope};
    char p[256];
    snprintf(p, sizeof(p), "%.200s.body", c->path);
    /* all-zero ids in logs mean "no trace context" for some SDKs: read as absent */
    if (id_hex(c, l->trace_id, 16, 0, 1, "traceId", r.trace_id) != 0 ||
        id_hex(c, l->span_id, 8, 0, 1, "spanId", r.span_id) != 0 ||
        attrs_of(c, &c->attrs, l->attributes, l->n_attributes, &r.stack_trace, &r.attributes) != 0 ||
        ingest_otlp_log_body(&c->body, &PB_OPS, l->body, &r.message, &r.body, p, &c->rec_err) != 0)
        return refused(c);
    r.ts_ns = ns_of(l->time_unix_nano);
    r.observed_ns = ns_of(l->observed_time_unix_nano);
    r.severity_number = (int)l->severity_number;
    r.severity = ingest_otlp_severity(l->severity_number, str_of(l->severity_text), &r.level);
    r.event_name = str_of(l->event_name);
    r.flags = l->flags;
    r.dropped_attributes = l->dropped_attributes_count;
    if (ingest_record_log(c->b, &r, otlp_log_names, c->path, &c->rec_err) != 0) return refused(c);
    return 0;
}

static int logs(ctx_t *c, const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req)
{
    for (size_t i = 0; i < req->n_resource_logs; i++) {
        const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[i];
        ingest_resource_t res;
        int ok;
        snprintf(c->path, sizeof(c->path), "resourceLogs[%zu]", i);
        if (resource_of(c, rl->resource, rl->schema_url, &res, &ok) != 0) return -1;
        for (size_t j = 0; j < rl->n_scope_logs; j++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[j];
            ingest_scope_t scope = scope_of(sl->scope);
            if (!ok) {
                reject_n(c, sl->n_log_records);
                continue;
            }
            for (size_t k = 0; k < sl->n_log_records; k++) {
                snprintf(c->path, sizeof(c->path), "resourceLogs[%zu].scopeLogs[%zu].logRecords[%zu]", i, j,
                         k);
                if (one_log(c, sl->log_records[k], &res, &scope) != 0) return -1;
            }
        }
    }
    return 0;
}

static size_t count_logs(const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_resource_logs; i++)
        for (size_t j = 0; j < req->resource_logs[i]->n_scope_logs; j++)
            n += req->resource_logs[i]->scope_logs[j]->n_log_records;
    return n;
}

/* ---------------- metrics ---------------- */

static const char *const METRIC_NAMES[MF_COUNT] = {
    [MF_TIME] = "timeUnixNano",   [MF_SERVICE] = "resource.attributes.service.name",
    [MF_NAME] = "name",           [MF_VALUE] = "asDouble",
    [MF_LABELS] = "attributes",   [MF_START] = "startTimeUnixNano",
    [MF_BUCKETS] = "bucketCounts"};

typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_number_t;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_hist_t;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint pb_exp_t;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint pb_summary_t;

/* What every kind of point shares. */
static int point_common(ctx_t *c, ingest_metric_t *m, pb_kv_t **attrs, size_t nattrs, uint64_t start,
                        uint64_t time)
{
    m->start_ns = ns_of(start);
    m->ts_ns = ns_of(time);
    return attrs_of(c, &c->attrs, attrs, nattrs, NULL, &m->labels);
}

static int number_point(ctx_t *c, ingest_metric_t *m, const pb_number_t *p)
{
    if (point_common(c, m, p->attributes, p->n_attributes, p->start_time_unix_nano, p->time_unix_nano) != 0)
        return -1;
    if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE)
        m->value = p->as_double;
    else if (p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT)
        m->value = (double)p->as_int;
    else
        return bad(c, "asDouble", "expected asDouble or asInt");
    return 0;
}

static int hist_point(ctx_t *c, ingest_metric_t *m, ingest_histogram_t *h, const pb_hist_t *p)
{
    if (point_common(c, m, p->attributes, p->n_attributes, p->start_time_unix_nano, p->time_unix_nano) != 0)
        return -1;
    *h = (ingest_histogram_t){.count = p->count,
                              .sum = p->sum,
                              .min = p->min,
                              .max = p->max,
                              .has_sum = p->_sum_case != 0,
                              .has_min = p->_min_case != 0,
                              .has_max = p->_max_case != 0,
                              .bounds = p->explicit_bounds,
                              .nbounds = p->n_explicit_bounds,
                              .counts = p->bucket_counts,
                              .ncounts = p->n_bucket_counts};
    m->histogram = h;
    m->value = (double)p->count;
    return 0;
}

static int exp_point(ctx_t *c, ingest_metric_t *m, ingest_exp_histogram_t *e, const pb_exp_t *p)
{
    if (point_common(c, m, p->attributes, p->n_attributes, p->start_time_unix_nano, p->time_unix_nano) != 0)
        return -1;
    *e = (ingest_exp_histogram_t){.count = p->count,
                                  .sum = p->sum,
                                  .min = p->min,
                                  .max = p->max,
                                  .has_sum = p->_sum_case != 0,
                                  .has_min = p->_min_case != 0,
                                  .has_max = p->_max_case != 0,
                                  .scale = p->scale,
                                  .zero_count = p->zero_count,
                                  .zero_threshold = p->zero_threshold};
    if (p->positive) {
        e->positive_offset = p->positive->offset;
        e->positive = p->positive->bucket_counts;
        e->npositive = p->positive->n_bucket_counts;
    }
    if (p->negative) {
        e->negative_offset = p->negative->offset;
        e->negative = p->negative->bucket_counts;
        e->nnegative = p->negative->n_bucket_counts;
    }
    m->exp_histogram = e;
    m->value = (double)p->count;
    return 0;
}

static int summary_point(ctx_t *c, ingest_metric_t *m, ingest_summary_t *s, const pb_summary_t *p)
{
    if (point_common(c, m, p->attributes, p->n_attributes, p->start_time_unix_nano, p->time_unix_nano) != 0)
        return -1;
    size_t n = p->n_quantile_values;
    if (n > INGEST_MAX_BUCKETS) return bad(c, "quantileValues", "more quantiles than accepted");
    buf_reset(&c->quantiles);
    for (size_t i = 0; i < n; i++)
        if (buf_append(&c->quantiles, &p->quantile_values[i]->quantile, sizeof(double)) != 0)
            return bad(c, "quantileValues", "more quantiles than accepted");
    for (size_t i = 0; i < n; i++)
        if (buf_append(&c->quantiles, &p->quantile_values[i]->value, sizeof(double)) != 0)
            return bad(c, "quantileValues", "more quantiles than accepted");
    const double *q = (const double *)(void *)c->quantiles.data;
    *s = (ingest_summary_t){
        .count = p->count, .sum = p->sum, .quantiles = q, .values = n ? q + n : NULL, .n = n};
    m->summary = s;
    m->value = (double)p->count;
    return 0;
}

/* Data point `i` of metric `pm` as the record `m` (kind-specific shape in the structs given). */
static int one_point(ctx_t *c, const pb_metric_t *pm, size_t i, ingest_metric_t *m)
{
    ingest_histogram_t h;
    ingest_exp_histogram_t e;
    ingest_summary_t s;
    int rc;
    switch (pm->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        m->kind = METRIC_GAUGE;
        rc = number_point(c, m, pm->gauge->data_points[i]);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        m->kind = METRIC_SUM;
        m->temporality = pm->sum->aggregation_temporality;
        m->monotonic = pm->sum->is_monotonic != 0;
        rc = number_point(c, m, pm->sum->data_points[i]);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        m->kind = METRIC_HISTOGRAM;
        m->temporality = pm->histogram->aggregation_temporality;
        rc = hist_point(c, m, &h, pm->histogram->data_points[i]);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        m->kind = METRIC_EXP_HISTOGRAM;
        m->temporality = pm->exponential_histogram->aggregation_temporality;
        rc = exp_point(c, m, &e, pm->exponential_histogram->data_points[i]);
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        m->kind = METRIC_SUMMARY;
        rc = summary_point(c, m, &s, pm->summary->data_points[i]);
        break;
    default:
        return bad(c, "data", "expected one of gauge, sum, histogram, exponentialHistogram, summary");
    }
    if (rc != 0) return -1;
    return ingest_record_metric(c->b, m, METRIC_NAMES, c->path, &c->rec_err);
}

static size_t points_of(const pb_metric_t *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        return m->gauge->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return m->sum->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return m->histogram->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        return m->exponential_histogram->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        return m->summary->n_data_points;
    default:
        return 0;
    }
}

static const char *data_name(const pb_metric_t *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        return "gauge";
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return "sum";
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return "histogram";
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        return "exponentialHistogram";
    default:
        return "summary";
    }
}

static int one_metric(ctx_t *c, const pb_metric_t *pm, const ingest_resource_t *res,
                      const ingest_scope_t *scope)
{
    size_t n = points_of(pm);
    size_t plen = strlen(c->path);
    if (n == 0 && pm->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA__NOT_SET) {
        /* a metric with no data: one refused record, so the sender hears of it */
        bad(c, "data", "expected one of gauge, sum, histogram, exponentialHistogram, summary");
        return refused(c);
    }
    for (size_t i = 0; i < n; i++) {
        ingest_metric_t m = {.resource = res,
                             .scope = scope,
                             .name = (istr_t){pm->name, strlen(pm->name)},
                             .unit = str_of(pm->unit)};
        snprintf(c->path + plen, sizeof(c->path) - plen, ".%s.dataPoints[%zu]", data_name(pm), i);
        if (one_point(c, pm, i, &m) != 0 && refused(c) != 0) return -1;
    }
    c->path[plen] = '\0';
    return 0;
}

static int metrics(ctx_t *c,
                   const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req)
{
    for (size_t i = 0; i < req->n_resource_metrics; i++) {
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = req->resource_metrics[i];
        ingest_resource_t res;
        int ok;
        snprintf(c->path, sizeof(c->path), "resourceMetrics[%zu]", i);
        if (resource_of(c, rm->resource, rm->schema_url, &res, &ok) != 0) return -1;
        for (size_t j = 0; j < rm->n_scope_metrics; j++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[j];
            ingest_scope_t scope = scope_of(sm->scope);
            for (size_t k = 0; k < sm->n_metrics; k++) {
                if (!ok) {
                    reject_n(c, points_of(sm->metrics[k]));
                    continue;
                }
                snprintf(c->path, sizeof(c->path), "resourceMetrics[%zu].scopeMetrics[%zu].metrics[%zu]", i,
                         j, k);
                if (one_metric(c, sm->metrics[k], &res, &scope) != 0) return -1;
            }
        }
    }
    return 0;
}

static size_t
count_points(const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_resource_metrics; i++)
        for (size_t j = 0; j < req->resource_metrics[i]->n_scope_metrics; j++)
            for (size_t k = 0; k < req->resource_metrics[i]->scope_metrics[j]->n_metrics; k++)
                n += points_of(req->resource_metrics[i]->scope_metrics[j]->metrics[k]);
    return n;
}

/* ---------------- entry ---------------- */

static const ProtobufCMessageDescriptor *request_of(ingest_kind_t kind)
{
    switch (kind) {
    case INGEST_SPANS:
        return &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor;
    case INGEST_LOGS:
        return &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor;
    case INGEST_METRICS:
        return &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor;
    default:
        return NULL;
    }
}

static void ctx_init(ctx_t *c, ingest_batch_t *b, ingest_err_t *err)
{
    memset(c, 0, sizeof(*c));
    c->b = b;
    c->err = err;
    buf_init(&c->attrs, ATTRS_MAX_BYTES);
    buf_init(&c->resource_attrs, ATTRS_MAX_BYTES);
    buf_init(&c->body, INGEST_MAX_MESSAGE);
    buf_init(&c->quantiles, 2 * INGEST_MAX_BUCKETS * sizeof(double));
    ingest_list_init(&c->events, EVENTS_MAX_BYTES);
    ingest_list_init(&c->links, EVENTS_MAX_BYTES);
}

static void ctx_dispose(ctx_t *c)
{
    buf_dispose(&c->attrs);
    buf_dispose(&c->resource_attrs);
    buf_dispose(&c->body);
    buf_dispose(&c->quantiles);
    ingest_list_dispose(&c->events);
    ingest_list_dispose(&c->links);
}

/* Walks the unpacked request; counts its records first (more than max_records: 413). */
static int decode(ctx_t *c, ingest_kind_t kind, const ProtobufCMessage *msg, size_t max_records)
{
    size_t n = kind == INGEST_SPANS  ? count_spans((const void *)msg)
               : kind == INGEST_LOGS ? count_logs((const void *)msg)
                                     : count_points((const void *)msg);
    if (n > max_records)
        return ingest_otlp_fail(c->err, 413, "", "%zu records, more than %zu in one request", n, max_records);
    if (kind == INGEST_SPANS) return traces(c, (const void *)msg);
    if (kind == INGEST_LOGS) return logs(c, (const void *)msg);
    return metrics(c, (const void *)msg);
}

int ingest_otlp_proto_limited(ingest_kind_t kind, const uint8_t *body, size_t len,
                              const ingest_limits_t *limits, ingest_batch_t *out, ingest_err_t *err)
{
    ingest_batch_init_limited(out, kind, limits);
    size_t max_records = limits->max_records;
    const ProtobufCMessageDescriptor *d = request_of(kind);
    if (d == NULL) {
        ingest_batch_dispose(out);
        return ingest_otlp_fail(err, 404, "", "no OTLP signal of this kind");
    }
    otlp_wire_t w;
    if (otlp_wire_check(d, body, len, &w) != 0) {
        ingest_batch_dispose(out);
        return ingest_otlp_fail(err, 400, w.path, "malformed protobuf (%s): %s at byte %zu", d->short_name,
                                w.why, w.offset);
    }
    arena_t arena = {.cap = OTLP_PROTO_MEM_BASE + OTLP_PROTO_MEM_PER_BYTE * len};
    if (w.need > arena.cap) {
        ingest_batch_dispose(out);
        return ingest_otlp_fail(err, 413, "", "decoding would need %zu bytes of memory, more than %zu",
                                w.need, arena.cap);
    }
    ProtobufCAllocator alloc = {arena_alloc, arena_free_nothing, &arena};
    /* the first chunk: everything the walk expects, in one allocation */
    void *first = arena_alloc(&arena, w.need);
    if (first != NULL) arena.head->used = 0;
    ProtobufCMessage *msg = first ? protobuf_c_message_unpack(d, &alloc, len, body) : NULL;
    int rc = -1;
    if (msg == NULL) {
        if (arena.exhausted)
            ingest_otlp_fail(err, 413, "", "decoding needs more than %zu bytes of memory", arena.cap);
        else
            ingest_otlp_fail(err, 400, "", "malformed protobuf (%s)", d->short_name);
    } else {
        ctx_t c;
        ctx_init(&c, out, err);
        rc = decode(&c, kind, msg, max_records);
        ctx_dispose(&c);
    }
    arena_dispose(&arena);
    if (rc != 0) ingest_batch_dispose(out);
    return rc;
}

int ingest_otlp_proto(ingest_kind_t kind, const uint8_t *body, size_t len, size_t max_records,
                      size_t max_copy_bytes, ingest_batch_t *out, ingest_err_t *err)
{
    ingest_limits_t limits = ingest_limits_default(max_records, max_copy_bytes);
    return ingest_otlp_proto_limited(kind, body, len, &limits, out, err);
}
