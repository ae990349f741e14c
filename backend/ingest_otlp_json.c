/* OTLP/HTTP with JSON encoding (ExportTraceServiceRequest, ExportLogsServiceRequest,
 * ExportMetricsServiceRequest, in the protocol's JSON mapping) in one pass with the pull scanner
 * (common/jscan.h): no tree is built. Each span, log record or metric data point is read into a typed
 * record (ingest_record.h), whose layer validates it and writes its COPY row, so OTLP JSON and OTLP
 * protobuf give the same rows for the same records.
 *
 * The JSON mapping: field names in lowerCamelCase (the proto's snake_case names are accepted too);
 * ids in hex (base64, which some exporters send, is tolerated); enums as integers or names;
 * 64-bit integers as strings or numbers; unknown fields ignored; AnyValue turned into plain JSON.
 *
 * Partial success: a record with a bad field is counted with ingest_batch_reject() and skipped; a
 * malformed body, a bad envelope (resourceSpans not an array...), too many records or a batch over
 * its byte cap refuse the whole body.
 *
 * Member order is free in JSON, but a record needs its resource and scope before its row is written:
 * when the children of an envelope come before (or might come before) the context they need, their
 * position is kept, the rest of the object is read, and the scanner comes back to them. Exporters
 * write the proto's field order, so scopes and records are read once; the one field that follows its
 * children (ResourceSpans.schemaUrl) costs one skip of them, a fast validating pass. */
#include "ingest_otlp_json_int.h"
#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OTLP_SERVICE_KEY "service.name"

/* ---------------- records ---------------- */

int oj_finish(parser_t *p, int rc, const ingest_err_t *layer_err)
{
    if (rc == 0) return 0;
    if (layer_err->status != 400) {
        *p->err = *layer_err;
        return -1;
    }
    ingest_batch_reject(p->b, layer_err);
    return 0;
}

int oj_record_begin(parser_t *p, const char *top)
{
    if (++p->leaves > p->max_records)
        return ij_fail(p->err, 413, top, "more than %zu records; at most %zu per batch", p->max_records,
                       p->max_records);
    p->bad = 0;
    return 0;
}

int oj_rejected(parser_t *p)
{
    for (int c = 0; c < CTX_COUNT; c++)
        if (p->ctx_bad[c]) {
            ingest_batch_reject(p->b, &p->ctx_err[c]);
            return 1;
        }
    if (p->bad) {
        ingest_batch_reject(p->b, &p->rej);
        return 1;
    }
    return 0;
}

void oj_take_ctx(parser_t *p, int level)
{
    if (p->bad && !p->ctx_bad[level]) {
        p->ctx_bad[level] = 1;
        p->ctx_err[level] = p->rej;
    }
    p->bad = 0;
}

int oj_not_an_object(parser_t *p)
{
    oj_bad_field(p, NULL, "expected an object");
    if (oj_skip_value(p) != 0) return -1;
    ingest_batch_reject(p->b, &p->rej);
    return 0;
}

/* ---------------- deferred children ---------------- */

int oj_defer(parser_t *p, later_t *l)
{
    l->pending = 1;
    l->at = p->j;
    return oj_skip_value(p);
}

/* A signal's envelope names: resourceSpans / scopeSpans / spans and so on. */
typedef struct {
    const char *top, *top_snake, *scopes, *scopes_snake, *leaves, *leaves_snake;
    int (*leaf)(parser_t *p);
    int counts_leaves; /* each leaf is one record (spans, logs); metrics count their points */
} signal_t;

static int leaves(parser_t *p, const signal_t *sig)
{
    size_t old = oj_path_push(p, ".%s", sig->leaves);
    int rc = -1, e;
    if (oj_take_null(p)) {
        rc = 0;
        goto out;
    }
    if (jscan_peek(&p->j) != JT_ARRAY) {
        rc = oj_envelope_fail(p, p->path, "an array");
        goto out;
    }
    jscan_array_begin(&p->j);
    size_t i = 0;
    while ((e = jscan_array_next(&p->j)) == 1) {
        size_t at = oj_path_push(p, "[%zu]", i++);
        if (sig->counts_leaves && oj_record_begin(p, sig->top) != 0) goto out;
        if (sig->leaf(p) != 0) goto out;
        oj_path_pop(p, at);
    }
    rc = e < 0 ? oj_syntax_fail(p) : 0;
out:
    oj_path_pop(p, old);
    return rc;
}

static int read_scope(parser_t *p)
{
    if (oj_take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        oj_bad_field(p, "scope", "expected an object");
        return oj_skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r = oj_is(&k, "name", NULL)      ? oj_read_text(p, "scope.name", &p->scope_name)
                : oj_is(&k, "version", NULL) ? oj_read_text(p, "scope.version", &p->scope_version)
                                             : oj_skip_value(p);
        if (r != 0) return -1;
    }
    return m < 0 ? oj_syntax_fail(p) : 0;
}

/* One ScopeSpans / ScopeLogs / ScopeMetrics {scope, <leaves>, schemaUrl}. */
static int one_scope(parser_t *p, const signal_t *sig)
{
    if (jscan_peek(&p->j) != JT_OBJECT) return oj_envelope_fail(p, p->path, "an object");
    p->scope_name.s.s = p->scope_version.s.s = NULL;
    p->ctx_bad[CTX_SCOPE] = 0;
    p->bad = 0;
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, has_scope = 0;
    later_t later = {0};
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (oj_is(&k, "scope", NULL)) {
            has_scope = 1;
            r = read_scope(p);
        } else if (oj_is(&k, sig->leaves, sig->leaves_snake)) {
            if (has_scope) {
                p->scope.name = oj_istr_of(&p->scope_name);
                p->scope.version = oj_istr_of(&p->scope_version);
                oj_take_ctx(p, CTX_SCOPE);
            }
            r = has_scope ? leaves(p, sig) : oj_defer(p, &later);
        } else {
            r = oj_skip_value(p);
        }
        if (r != 0) return -1;
    }
    if (m < 0) return oj_syntax_fail(p);
    if (later.pending) {
        p->scope.name = oj_istr_of(&p->scope_name);
        p->scope.version = oj_istr_of(&p->scope_version);
        oj_take_ctx(p, CTX_SCOPE);
        jscan_t here = p->j;
        p->j = later.at;
        if (leaves(p, sig) != 0) return -1;
        p->j = here;
    }
    return 0;
}

static int scopes(parser_t *p, const signal_t *sig)
{
    size_t old = oj_path_push(p, ".%s", sig->scopes);
    int rc = -1, e;
    if (oj_take_null(p)) {
        rc = 0;
        goto out;
    }
    if (jscan_peek(&p->j) != JT_ARRAY) {
        rc = oj_envelope_fail(p, p->path, "an array");
        goto out;
    }
    jscan_array_begin(&p->j);
    size_t i = 0;
    while ((e = jscan_array_next(&p->j)) == 1) {
        size_t at = oj_path_push(p, "[%zu]", i++);
        if (one_scope(p, sig) != 0) goto out;
        oj_path_pop(p, at);
    }
    rc = e < 0 ? oj_syntax_fail(p) : 0;
out:
    oj_path_pop(p, old);
    return rc;
}

/* Resource {oj_attributes, droppedAttributesCount}: service.name is taken from the attributes. */
static int read_resource(parser_t *p, int *has_attrs)
{
    if (oj_take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        oj_bad_field(p, "resource", "expected an object");
        return oj_skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (oj_is(&k, "attributes", NULL)) {
            *has_attrs = 1;
            r = oj_attributes(p, &p->res_attrs, "resource.attributes", OTLP_SERVICE_KEY, &p->service, 0);
        } else if (oj_is(&k, "droppedAttributesCount", "dropped_attributes_count")) {
            r = oj_read_u32(p, "resource.droppedAttributesCount", &p->res.dropped_attributes);
        } else {
            r = oj_skip_value(p);
        }
        if (r != 0) return -1;
    }
    return m < 0 ? oj_syntax_fail(p) : 0;
}

/* The resource is complete: its hash is computed and its row added (once per batch). */
static int resource_done(parser_t *p, int has_attrs)
{
    p->res.service = oj_istr_of(&p->service);
    p->res.attributes = has_attrs ? oj_istr_buf(&p->res_attrs) : ISTR_NONE;
    p->res.schema_url = oj_istr_of(&p->schema_url);
    oj_take_ctx(p, CTX_RESOURCE);
    if (p->ctx_bad[CTX_RESOURCE]) return 0;
    ingest_err_t e;
    char prefix[sizeof(p->path) + 16];
    snprintf(prefix, sizeof(prefix), "%s.resource", p->path);
    if (ingest_record_resource(p->b, &p->res, prefix, &e) == 0) return 0;
    if (e.status != 400) {
        *p->err = e;
        return -1;
    }
    p->ctx_bad[CTX_RESOURCE] = 1;
    p->ctx_err[CTX_RESOURCE] = e;
    return 0;
}

/* One ResourceSpans / ResourceLogs / ResourceMetrics {resource, <scopes>, schemaUrl}. The schema URL
 * is part of the resource's identity and exporters write it after the scopes: these are read after
 * the whole object unless both came first. */
static int one_resource(parser_t *p, const signal_t *sig)
{
    if (jscan_peek(&p->j) != JT_OBJECT) return oj_envelope_fail(p, p->path, "an object");
    memset(&p->res, 0, sizeof(p->res));
    p->service.s.s = p->schema_url.s.s = NULL;
    memset(p->ctx_bad, 0, sizeof(p->ctx_bad));
    p->bad = 0;
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, has_resource = 0, has_schema = 0, has_attrs = 0, done = 0;
    later_t later = {0};
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (oj_is(&k, "resource", NULL)) {
            has_resource = 1;
            r = read_resource(p, &has_attrs);
        } else if (oj_is(&k, "schemaUrl", "schema_url")) {
            has_schema = 1;
            r = oj_read_text(p, "schemaUrl", &p->schema_url);
        } else if (oj_is(&k, sig->scopes, sig->scopes_snake)) {
            if (has_resource && has_schema && !done) {
                done = 1;
                if (resource_done(p, has_attrs) != 0) return -1;
            }
            r = done ? scopes(p, sig) : oj_defer(p, &later);
        } else {
            r = oj_skip_value(p);
        }
        if (r != 0) return -1;
    }
    if (m < 0) return oj_syntax_fail(p);
    if (!done && resource_done(p, has_attrs) != 0) return -1;
    if (later.pending) {
        jscan_t here = p->j;
        p->j = later.at;
        if (scopes(p, sig) != 0) return -1;
        p->j = here;
    }
    return 0;
}

static const signal_t signals[] = {
    [INGEST_SPANS] = {"resourceSpans", "resource_spans", "scopeSpans", "scope_spans", "spans", NULL,
                      oj_one_span, 1},
    [INGEST_LOGS] = {"resourceLogs", "resource_logs", "scopeLogs", "scope_logs", "logRecords", "log_records",
                     oj_one_log, 1},
    [INGEST_METRICS] = {"resourceMetrics", "resource_metrics", "scopeMetrics", "scope_metrics", "metrics",
                        NULL, oj_one_metric, 0},
};

static int export_request(parser_t *p, const signal_t *sig)
{
    if (jscan_peek(&p->j) != JT_OBJECT) return oj_envelope_fail(p, "", "a JSON object");
    jscan_object_begin(&p->j);
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        if (!oj_is(&k, sig->top, sig->top_snake)) {
            if (oj_skip_value(p) != 0) return -1;
            continue;
        }
        if (oj_take_null(p)) continue;
        if (jscan_peek(&p->j) != JT_ARRAY) return oj_envelope_fail(p, sig->top, "an array");
        jscan_array_begin(&p->j);
        int e;
        size_t i = 0;
        while ((e = jscan_array_next(&p->j)) == 1) {
            oj_path_push(p, "%s[%zu]", sig->top, i++);
            if (one_resource(p, sig) != 0) return -1;
            oj_path_pop(p, 0);
        }
        if (e < 0) return oj_syntax_fail(p);
    }
    if (m < 0 || jscan_finish(&p->j) != 0) return oj_syntax_fail(p);
    return 0;
}

/* ---------------- parser ---------------- */

static void text_init(text_t *t, size_t cap)
{
    t->s.s = NULL;
    t->s.n = 0;
    buf_init(&t->buf, cap);
}

static void parser_init(parser_t *p, size_t body_len)
{
    memset(p, 0, sizeof(*p));
    size_t cap = body_len + 16;
    p->text_cap = cap;
    buf_init(&p->key, cap);
    buf_init(&p->str, cap);
    buf_init(&p->bytes, cap);
    buf_init(&p->spill, SPILL_CAP);
    text_init(&p->service, cap);
    text_init(&p->schema_url, cap);
    buf_init(&p->res_attrs, ATTR_CAP);
    text_init(&p->scope_name, cap);
    text_init(&p->scope_version, cap);
    span_bufs_t *sb = &p->sp;
    text_init(&sb->name, cap), text_init(&sb->trace_state, cap), text_init(&sb->status_message, cap);
    text_init(&sb->event_name, cap), text_init(&sb->link_state, cap);
    buf_init(&sb->attrs, ATTR_CAP), buf_init(&sb->event_attrs, ATTR_CAP), buf_init(&sb->link_attrs, ATTR_CAP);
    ingest_list_init(&sb->events, LIST_CAP);
    ingest_list_init(&sb->links, LIST_CAP);
    log_bufs_t *lb = &p->lg;
    text_init(&lb->level, cap), text_init(&lb->event_name, cap), text_init(&lb->stack, cap);
    text_init(&lb->message, cap);
    buf_init(&lb->body, BODY_CAP), buf_init(&lb->attrs, ATTR_CAP);
    metric_bufs_t *mb = &p->mt;
    text_init(&mb->name, cap), text_init(&mb->unit, cap);
    buf_init(&mb->labels, ATTR_CAP);
    buf_init(&mb->bounds, ARRAY_CAP), buf_init(&mb->counts, ARRAY_CAP), buf_init(&mb->positive, ARRAY_CAP);
    buf_init(&mb->negative, ARRAY_CAP), buf_init(&mb->quantiles, ARRAY_CAP), buf_init(&mb->values, ARRAY_CAP);
}

static void parser_dispose(parser_t *p)
{
    buf_t *bufs[] = {&p->key,
                     &p->str,
                     &p->bytes,
                     &p->spill,
                     &p->service.buf,
                     &p->schema_url.buf,
                     &p->res_attrs,
                     &p->scope_name.buf,
                     &p->scope_version.buf,
                     &p->sp.name.buf,
                     &p->sp.trace_state.buf,
                     &p->sp.status_message.buf,
                     &p->sp.event_name.buf,
                     &p->sp.link_state.buf,
                     &p->sp.attrs,
                     &p->sp.event_attrs,
                     &p->sp.link_attrs,
                     &p->lg.level.buf,
                     &p->lg.event_name.buf,
                     &p->lg.stack.buf,
                     &p->lg.message.buf,
                     &p->lg.body,
                     &p->lg.attrs,
                     &p->mt.name.buf,
                     &p->mt.unit.buf,
                     &p->mt.labels,
                     &p->mt.bounds,
                     &p->mt.counts,
                     &p->mt.positive,
                     &p->mt.negative,
                     &p->mt.quantiles,
                     &p->mt.values};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(*bufs); i++)
        buf_dispose(bufs[i]);
    ingest_list_dispose(&p->sp.events);
    ingest_list_dispose(&p->sp.links);
}

int ingest_json_otlp_limited(ingest_kind_t kind, const char *body, size_t len, const ingest_limits_t *limits,
                             ingest_batch_t *out, ingest_err_t *err)
{
    ingest_batch_init_limited(out, kind, limits);
    size_t max_records = limits->max_records;
    if (kind != INGEST_SPANS && kind != INGEST_LOGS && kind != INGEST_METRICS) {
        ingest_batch_dispose(out);
        return ij_fail(err, 404, "", "no OTLP signal of this kind");
    }
    parser_t *p = xmalloc(sizeof(*p));
    parser_init(p, len);
    p->b = out;
    p->err = err;
    p->max_records = max_records;
    jscan_init(&p->j, body, len, SCAN_MAX_DEPTH);
    int rc = export_request(p, &signals[kind]);
    parser_dispose(p);
    free(p);
    if (rc != 0) ingest_batch_dispose(out);
    return rc;
}

int ingest_json_otlp(ingest_kind_t kind, const char *body, size_t len, size_t max_records,
                     size_t max_copy_bytes, ingest_batch_t *out, ingest_err_t *err)
{
    ingest_limits_t limits = ingest_limits_default(max_records, max_copy_bytes);
    return ingest_json_otlp_limited(kind, body, len, &limits, out, err);
}
