/* Our JSON ingest formats: {"spans":[...]}, {"logs":[...]}, {"metrics":[...]}, {"events":[...]},
 * parsed in one pass with the pull scanner (common/jscan.h): no JSON tree is built; each record's
 * fields are collected, validated, and written as one COPY row. Attribute objects are validated and
 * stored as sent (PostgreSQL's jsonb normalises them). */
#include "hash.h"
#include "hexid.h"
#include "ingest_json.h"
#include "ingest_record.h"
#include "jscan.h"
#include "rfc3339.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { F_STRING, F_TIME, F_NUMBER, F_OBJECT, F_EVENTS } field_kind_t;

typedef struct {
    const char *name;
    field_kind_t kind;
} field_spec_t;

#define MAX_FIELDS 12

/* One record's collected fields. Strings point into the body, or into `bufs` when decoded. */
typedef struct {
    int present[MAX_FIELDS];
    jstr_t str[MAX_FIELDS];
    int64_t ns[MAX_FIELDS];
    double num[MAX_FIELDS];
    buf_t bufs[MAX_FIELDS];
    ingest_list_t events;
} record_t;

typedef struct {
    jscan_t j;
    ingest_err_t *err;
    ingest_batch_t *b;
    const char *top; /* "spans", ... */
    size_t index;
    record_t rec;
    buf_t key;
} parser_t;

/* ---------------- errors ---------------- */

static int field_fail(parser_t *p, const char *field, int status, const char *why)
{
    char path[256];
    if (field)
        snprintf(path, sizeof(path), "%s[%zu].%s", p->top, p->index, field);
    else
        snprintf(path, sizeof(path), "%s[%zu]", p->top, p->index);
    return ij_fail(p->err, status, path, "%s", why);
}

static int syntax_fail(parser_t *p, const char *field)
{
    char why[160];
    snprintf(why, sizeof(why), "malformed JSON at byte %zu: %s", p->j.err_at, p->j.err ? p->j.err : "?");
    return field_fail(p, field, 400, why);
}

#define TOO_BIG(p) ij_fail((p)->err, 413, "", "batch larger than the accepted size")

/* ---------------- field readers ---------------- */

static int read_time(parser_t *p, const char *field, int64_t *ns)
{
    jtype_t t = jscan_peek(&p->j);
    const char *why;
    if (t == JT_STRING) {
        jstr_t s;
        if (jscan_string(&p->j, &s, &p->key) != 0) return syntax_fail(p, field);
        int digits = s.n > 0;
        for (size_t i = 0; i < s.n && digits; i++)
            digits = s.s[i] >= '0' && s.s[i] <= '9';
        if ((digits ? epoch_ns_parse(s.s, s.n, ns, &why) : rfc3339_parse(s.s, s.n, ns, &why)) != 0)
            return field_fail(p, field, 400, why);
        return 0;
    }
    if (t == JT_NUMBER) {
        int64_t v;
        int is_int;
        if (jscan_number(&p->j, NULL, &v, &is_int) != 0) return syntax_fail(p, field);
        if (!is_int) return field_fail(p, field, 400, "expected integer epoch nanoseconds");
        if (v < RFC3339_MIN_NS || v >= RFC3339_MAX_NS)
            return field_fail(
                p, field, 400,
                "epoch nanoseconds outside 2000-01-01..2100-01-01 (seconds or milliseconds sent?)");
        *ns = v;
        return 0;
    }
    return field_fail(p, field, 400, "expected an RFC 3339 time string or integer epoch nanoseconds");
}

/* events: [{"name","time","attributes"?}] into the record layer's list. */
static int read_events(parser_t *p, const char *field)
{
    record_t *r = &p->rec;
    ingest_list_reset(&r->events);
    if (jscan_array_begin(&p->j) != 0) return field_fail(p, field, 400, "expected an array");
    int k, n = 0;
    while ((k = jscan_array_next(&p->j)) == 1) {
        char path[64];
        snprintf(path, sizeof(path), "events[%d]", n);
        if (jscan_object_begin(&p->j) != 0) return field_fail(p, path, 400, "expected an object");
        jstr_t key, name = {NULL, 0}, attrs = {NULL, 0};
        int64_t ns = 0;
        int has_time = 0, m;
        while ((m = jscan_object_next(&p->j, &key, &p->key)) == 1) {
            char fp[96];
            if (key.n == 4 && memcmp(key.s, "name", 4) == 0) {
                snprintf(fp, sizeof(fp), "events[%d].name", n);
                if (jscan_peek(&p->j) != JT_STRING) return field_fail(p, fp, 400, "expected a string");
                if (jscan_string(&p->j, &name, &p->rec.bufs[MAX_FIELDS - 1]) != 0) return syntax_fail(p, fp);
            } else if (key.n == 4 && memcmp(key.s, "time", 4) == 0) {
                snprintf(fp, sizeof(fp), "events[%d].time", n);
                if (read_time(p, fp, &ns) != 0) return -1;
                has_time = 1;
            } else if (key.n == 10 && memcmp(key.s, "attributes", 10) == 0) {
                snprintf(fp, sizeof(fp), "events[%d].attributes", n);
                jtype_t t = jscan_peek(&p->j);
                if (t != JT_OBJECT && t != JT_NULL) return field_fail(p, fp, 400, "expected an object");
                if (jscan_skip(&p->j, &attrs) != 0) return syntax_fail(p, fp);
                if (t == JT_NULL) attrs = (jstr_t){NULL, 0};
            } else {
                snprintf(fp, sizeof(fp), "events[%d].%.*s", n, (int)(key.n > 40 ? 40 : key.n), key.s);
                return field_fail(p, fp, 400, "unknown field");
            }
        }
        if (m < 0) return syntax_fail(p, path);
        if (!has_time) {
            char fp[64];
            snprintf(fp, sizeof(fp), "events[%d].time", n);
            return field_fail(p, fp, 400, "missing");
        }
        char prefix[320];
        snprintf(prefix, sizeof(prefix), "%s[%zu].events[%d]", p->top, p->index, n);
        if (ingest_list_add_event(&r->events, (istr_t){name.s, name.n}, ns, (istr_t){attrs.s, attrs.n}, 0,
                                  prefix, p->err) != 0)
            return -1;
        n++;
    }
    if (k < 0) return syntax_fail(p, field);
    return 0;
}

/* Reads one record object into p->rec following `spec`. Unknown keys are skipped (validated). */
static int read_record(parser_t *p, const field_spec_t *spec, size_t nspec)
{
    record_t *r = &p->rec;
    memset(r->present, 0, sizeof(r->present));
    if (jscan_peek(&p->j) != JT_OBJECT) return field_fail(p, NULL, 400, "expected an object");
    jscan_object_begin(&p->j);
    jstr_t key;
    int m;
    while ((m = jscan_object_next(&p->j, &key, &p->key)) == 1) {
        size_t f = nspec;
        for (size_t i = 0; i < nspec; i++)
            if (strlen(spec[i].name) == key.n && memcmp(spec[i].name, key.s, key.n) == 0) {
                f = i;
                break;
            }
        if (f == nspec) { /* our own API: an unknown field is a mistake worth hearing about */
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)(key.n > 60 ? 60 : key.n), key.s);
            return field_fail(p, name, 400, "unknown field");
        }
        const char *name = spec[f].name;
        jtype_t t = jscan_peek(&p->j);
        if (t == JT_NULL) { /* null is the same as absent */
            if (jscan_skip(&p->j, NULL) != 0) return syntax_fail(p, name);
            r->present[f] = 0;
            continue;
        }
        switch (spec[f].kind) {
        case F_STRING:
            if (t != JT_STRING) return field_fail(p, name, 400, "expected a string");
            if (jscan_string(&p->j, &r->str[f], &r->bufs[f]) != 0) return syntax_fail(p, name);
            break;
        case F_TIME:
            if (read_time(p, name, &r->ns[f]) != 0) return -1;
            break;
        case F_NUMBER:
            if (t != JT_NUMBER) return field_fail(p, name, 400, "expected a number");
            if (jscan_double(&p->j, &r->num[f]) != 0) return syntax_fail(p, name);
            break;
        case F_OBJECT:
            if (t != JT_OBJECT) return field_fail(p, name, 400, "expected an object");
            if (jscan_skip(&p->j, &r->str[f]) != 0)
                return field_fail(p, name, 400,
                                  p->j.err && strstr(p->j.err, "deeply") ? "nested deeper than 8 levels"
                                                                         : "malformed JSON object");
            if (r->str[f].n > IJ_MAX_ATTR_BYTES) return field_fail(p, name, 400, "larger than 65536 bytes");
            break;
        case F_EVENTS:
            if (t != JT_ARRAY) return field_fail(p, name, 400, "expected an array");
            if (read_events(p, name) != 0) return -1;
            break;
        }
        r->present[f] = 1;
    }
    if (m < 0) return syntax_fail(p, NULL);
    return 0;
}

static istr_t field_str(const record_t *r, int f)
{
    return r->present[f] ? (istr_t){r->str[f].s, r->str[f].n} : ISTR_NONE;
}

static int need(parser_t *p, const field_spec_t *spec, int f)
{
    return p->rec.present[f] ? 0 : field_fail(p, spec[f].name, 400, "missing");
}

/* An id field into lowercase hex ("" when absent or empty and not required). */
static int id_of(parser_t *p, const field_spec_t *spec, int f, size_t nbytes, int required, char *out)
{
    out[0] = '\0';
    if (!p->rec.present[f] || (!required && p->rec.str[f].n == 0))
        return required ? field_fail(p, spec[f].name, 400, "missing") : 0;
    const char *why;
    if (hexid_parse(p->rec.str[f].s, p->rec.str[f].n, nbytes, out, &why) != 0)
        return field_fail(p, spec[f].name, 400, why);
    return 0;
}

static int match_word(const jstr_t *s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(words[i]) == s->n && strncasecmp(words[i], s->s, s->n) == 0) return (int)i;
    return -1;
}

static void record_prefix(const parser_t *p, char *out, size_t n)
{
    snprintf(out, n, "%s[%zu]", p->top, p->index);
}

/* ---------------- spans ---------------- */

enum {
    S_TRACE,
    S_SPAN,
    S_PARENT,
    S_SERVICE,
    S_NAME,
    S_KIND,
    S_START,
    S_END,
    S_STATUS,
    S_MSG,
    S_ATTRS,
    S_EVENTS
};
static const field_spec_t span_spec[] = {
    {"trace_id", F_STRING}, {"span_id", F_STRING},        {"parent_span_id", F_STRING}, {"service", F_STRING},
    {"name", F_STRING},     {"kind", F_STRING},           {"start_time", F_TIME},       {"end_time", F_TIME},
    {"status", F_STRING},   {"status_message", F_STRING}, {"attributes", F_OBJECT},     {"events", F_EVENTS},
};
static const char *const span_names[SF_COUNT] = {
    [SF_TRACE_ID] = "trace_id",
    [SF_SPAN_ID] = "span_id",
    [SF_PARENT] = "parent_span_id",
    [SF_SERVICE] = "service",
    [SF_NAME] = "name",
    [SF_START] = "start_time",
    [SF_END] = "end_time",
    [SF_STATUS_MESSAGE] = "status_message",
    [SF_ATTRIBUTES] = "attributes",
    [SF_EVENTS] = "events",
    [SF_LINKS] = "links",
    [SF_TRACE_STATE] = "trace_state",
};

static int one_span(parser_t *p)
{
    const field_spec_t *sp = span_spec;
    if (read_record(p, sp, 12) != 0) return -1;
    record_t *r = &p->rec;
    ingest_span_t s;
    memset(&s, 0, sizeof(s));
    if (id_of(p, sp, S_TRACE, TRACE_ID_BYTES, 1, s.trace_id) ||
        id_of(p, sp, S_SPAN, SPAN_ID_BYTES, 1, s.span_id) ||
        id_of(p, sp, S_PARENT, SPAN_ID_BYTES, 0, s.parent_span_id) || need(p, sp, S_SERVICE) ||
        need(p, sp, S_START) || need(p, sp, S_END))
        return -1;
    static const char *kinds[] = {"INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"};
    int kind = -1;
    if (r->present[S_KIND] && (kind = match_word(&r->str[S_KIND], kinds, 5)) < 0)
        return field_fail(p, "kind", 400, "expected SERVER, CLIENT, INTERNAL, PRODUCER or CONSUMER");
    static const char *statuses[] = {"UNSET", "OK", "ERROR"};
    int status = SPAN_STATUS_UNSET;
    if (r->present[S_STATUS] && (status = match_word(&r->str[S_STATUS], statuses, 3)) < 0)
        return field_fail(p, "status", 400, "expected OK, ERROR or UNSET");
    s.service = field_str(r, S_SERVICE);
    s.name = field_str(r, S_NAME);
    s.kind = kind + 1; /* SPAN_KIND_INTERNAL.. in the order above; 0 when absent */
    s.start_ns = r->ns[S_START];
    s.end_ns = r->ns[S_END];
    s.status = status;
    s.status_message = field_str(r, S_MSG);
    s.attributes = field_str(r, S_ATTRS);
    s.events = r->present[S_EVENTS] ? &r->events : NULL;
    char prefix[64];
    record_prefix(p, prefix, sizeof(prefix));
    return ingest_record_span(p->b, &s, span_names, prefix, p->err);
}

/* ---------------- logs ---------------- */

enum { L_TS, L_SERVICE, L_LEVEL, L_MSG, L_TRACE, L_SPAN, L_STACK, L_ATTRS };
static const field_spec_t log_spec[] = {
    {"timestamp", F_TIME},  {"service", F_STRING}, {"level", F_STRING},       {"message", F_STRING},
    {"trace_id", F_STRING}, {"span_id", F_STRING}, {"stack_trace", F_STRING}, {"attributes", F_OBJECT},
};
static const char *const log_names[LF_COUNT] = {
    [LF_TIME] = "timestamp",        [LF_SERVICE] = "service",       [LF_LEVEL] = "level",
    [LF_MESSAGE] = "message",       [LF_TRACE_ID] = "trace_id",     [LF_SPAN_ID] = "span_id",
    [LF_STACK] = "stack_trace",     [LF_ATTRIBUTES] = "attributes", [LF_BODY] = "message",
    [LF_EVENT_NAME] = "event_name",
};

static int one_log(parser_t *p)
{
    const field_spec_t *sp = log_spec;
    if (read_record(p, sp, 8) != 0) return -1;
    record_t *r = &p->rec;
    ingest_log_t l;
    memset(&l, 0, sizeof(l));
    if (need(p, sp, L_TS) || need(p, sp, L_SERVICE) || need(p, sp, L_LEVEL) || need(p, sp, L_MSG) ||
        id_of(p, sp, L_TRACE, TRACE_ID_BYTES, 0, l.trace_id) ||
        id_of(p, sp, L_SPAN, SPAN_ID_BYTES, 0, l.span_id))
        return -1;
    if (r->str[L_LEVEL].n == 0) return field_fail(p, "level", 400, "must not be empty");
    if (r->str[L_LEVEL].n > INGEST_MAX_LEVEL) return field_fail(p, "level", 400, "longer than 32 bytes");
    l.severity = ingest_severity_of_level(r->str[L_LEVEL].s, r->str[L_LEVEL].n);
    if (l.severity == 0)
        return field_fail(p, "level", 400, "expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL");
    l.ts_ns = r->ns[L_TS];
    l.service = field_str(r, L_SERVICE);
    l.level = field_str(r, L_LEVEL);
    l.message = field_str(r, L_MSG);
    l.stack_trace = field_str(r, L_STACK);
    l.attributes = field_str(r, L_ATTRS);
    char prefix[64];
    record_prefix(p, prefix, sizeof(prefix));
    return ingest_record_log(p->b, &l, log_names, prefix, p->err);
}

/* ---------------- metrics ---------------- */

enum { M_TS, M_SERVICE, M_NAME, M_VALUE, M_LABELS };
static const field_spec_t metric_spec[] = {
    {"timestamp", F_TIME}, {"service", F_STRING}, {"name", F_STRING},
    {"value", F_NUMBER},   {"labels", F_OBJECT},
};
static const char *const metric_names[MF_COUNT] = {
    [MF_TIME] = "timestamp", [MF_SERVICE] = "service",  [MF_NAME] = "name",       [MF_VALUE] = "value",
    [MF_LABELS] = "labels",  [MF_START] = "start_time", [MF_BUCKETS] = "buckets",
};

static int one_metric(parser_t *p)
{
    const field_spec_t *sp = metric_spec;
    if (read_record(p, sp, 5) != 0) return -1;
    record_t *r = &p->rec;
    if (need(p, sp, M_TS) || need(p, sp, M_SERVICE) || need(p, sp, M_NAME) || need(p, sp, M_VALUE)) return -1;
    ingest_metric_t m;
    memset(&m, 0, sizeof(m));
    m.kind = METRIC_GAUGE;
    m.ts_ns = r->ns[M_TS];
    m.service = field_str(r, M_SERVICE);
    m.name = field_str(r, M_NAME);
    m.value = r->num[M_VALUE];
    m.labels = field_str(r, M_LABELS);
    char prefix[64];
    record_prefix(p, prefix, sizeof(prefix));
    return ingest_record_metric(p->b, &m, metric_names, prefix, p->err);
}

/* ---------------- change events ---------------- */

enum { E_TS, E_SERVICE, E_TYPE, E_DESC, E_META };
static const field_spec_t event_spec[] = {
    {"timestamp", F_TIME},     {"service", F_STRING}, {"type", F_STRING},
    {"description", F_STRING}, {"meta", F_OBJECT},
};
static const char *const event_names[EF_COUNT] = {
    [EF_TIME] = "timestamp",          [EF_SERVICE] = "service", [EF_TYPE] = "type",
    [EF_DESCRIPTION] = "description", [EF_META] = "meta",
};

static int one_event(parser_t *p)
{
    const field_spec_t *sp = event_spec;
    if (read_record(p, sp, 5) != 0) return -1;
    record_t *r = &p->rec;
    if (need(p, sp, E_TS) || need(p, sp, E_TYPE)) return -1;
    ingest_change_t e = {.ts_ns = r->ns[E_TS],
                         .service = field_str(r, E_SERVICE),
                         .type = field_str(r, E_TYPE),
                         .description = field_str(r, E_DESC),
                         .meta = field_str(r, E_META)};
    char prefix[64];
    record_prefix(p, prefix, sizeof(prefix));
    return ingest_record_change(p->b, &e, event_names, prefix, p->err);
}

/* ---------------- batch ---------------- */

typedef int (*record_fn)(parser_t *p);

static void parser_dispose(parser_t *p)
{
    for (int i = 0; i < MAX_FIELDS; i++)
        buf_dispose(&p->rec.bufs[i]);
    ingest_list_dispose(&p->rec.events);
    buf_dispose(&p->key);
}

int ingest_json_native_limited(ingest_kind_t kind, const char *body, size_t len,
                               const ingest_limits_t *limits, ingest_batch_t *out, ingest_err_t *err)
{
    static const char *tops[] = {"spans", "logs", "metrics", "events"};
    static const record_fn fns[] = {one_span, one_log, one_metric, one_event};
    parser_t p;
    memset(&p, 0, sizeof(p));
    p.err = err;
    p.b = out;
    p.top = tops[kind];
    for (int i = 0; i < MAX_FIELDS; i++)
        buf_init(&p.rec.bufs[i], IJ_MAX_STACK + 16);
    ingest_list_init(&p.rec.events, 4 * 1024 * 1024);
    buf_init(&p.key, IJ_MAX_STACK + 16);
    ingest_batch_init_limited(out, kind, limits);
    size_t max_records = limits->max_records;
    jscan_init(&p.j, body, len, IJ_MAX_DEPTH);
    int rc = -1, found = 0, m;
    jstr_t key;
    if (jscan_object_begin(&p.j) != 0) {
        ij_fail(err, 400, "", "expected a JSON object");
        goto out;
    }
    while ((m = jscan_object_next(&p.j, &key, &p.key)) == 1) {
        if (key.n != strlen(p.top) || memcmp(key.s, p.top, key.n) != 0) {
            ij_fail(err, 400, "", "unknown field \"%.*s\" (expected \"%s\")", (int)(key.n > 60 ? 60 : key.n),
                    key.s, p.top);
            goto out;
        }
        found = 1;
        if (jscan_peek(&p.j) != JT_ARRAY) {
            ij_fail(err, 400, p.top, "expected an array");
            goto out;
        }
        jscan_array_begin(&p.j);
        int k;
        while ((k = jscan_array_next(&p.j)) == 1) {
            if (out->records >= max_records) {
                ij_fail(err, 413, p.top, "more than %zu records; at most %zu per batch", max_records,
                        max_records);
                goto out;
            }
            if (fns[kind](&p) != 0) goto out;
            p.index++;
        }
        if (k < 0) {
            ij_fail(err, 400, p.top, "malformed JSON at byte %zu: %s", p.j.err_at, p.j.err);
            goto out;
        }
    }
    if (m < 0 || jscan_finish(&p.j) != 0) goto syntax;
    if (!found) {
        ij_fail(err, 400, p.top, "missing");
        goto out;
    }
    rc = 0;
    goto out;
syntax:
    ij_fail(err, 400, "", "malformed JSON at byte %zu: %s", p.j.err_at, p.j.err ? p.j.err : "?");
out:
    parser_dispose(&p);
    if (rc != 0) ingest_batch_dispose(out);
    return rc;
}

int ingest_json_native(ingest_kind_t kind, const char *body, size_t len, size_t max_records,
                       size_t max_copy_bytes, ingest_batch_t *out, ingest_err_t *err)
{
    ingest_limits_t limits = ingest_limits_default(max_records, max_copy_bytes);
    return ingest_json_native_limited(kind, body, len, &limits, out, err);
}
