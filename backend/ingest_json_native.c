/* Our JSON ingest formats: {"spans":[...]}, {"logs":[...]}, {"metrics":[...]}, {"events":[...]},
 * parsed in one pass with the pull scanner (common/jscan.h): no JSON tree is built; each record's
 * fields are collected, validated, and written as one COPY row. Attribute objects are validated and
 * stored as sent (PostgreSQL's jsonb normalises them). */
#include "hash.h"
#include "hexid.h"
#include "ingest_json.h"
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
    buf_t events; /* rebuilt events JSON */
    int has_exception;
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

/* events: [{"name","time","attributes"?}] rebuilt as [{"name","time_ns","attributes"}]. */
static int read_events(parser_t *p, const char *field)
{
    record_t *r = &p->rec;
    buf_t *out = &r->events;
    buf_reset(out);
    buf_append_char(out, '[');
    if (jscan_array_begin(&p->j) != 0) return field_fail(p, field, 400, "expected an array");
    int k, n = 0;
    while ((k = jscan_array_next(&p->j)) == 1) {
        char path[64];
        snprintf(path, sizeof(path), "events[%d]", n);
        if (jscan_object_begin(&p->j) != 0) return field_fail(p, path, 400, "expected an object");
        jstr_t key, name_raw = {NULL, 0}, attrs = {"{}", 2};
        int64_t ns = 0;
        int has_name = 0, has_time = 0, m;
        while ((m = jscan_object_next(&p->j, &key, &p->key)) == 1) {
            char fp[96];
            if (key.n == 4 && memcmp(key.s, "name", 4) == 0) {
                snprintf(fp, sizeof(fp), "events[%d].name", n);
                if (jscan_peek(&p->j) != JT_STRING) return field_fail(p, fp, 400, "expected a string");
                jstr_t decoded;
                const char *at = p->j.p;
                if (jscan_string(&p->j, &decoded, &p->rec.bufs[MAX_FIELDS - 1]) != 0)
                    return syntax_fail(p, fp);
                while (*at != '"')
                    at++;
                name_raw.s = at;
                name_raw.n = (size_t)(p->j.p - at);
                if (decoded.n == 0) return field_fail(p, fp, 400, "must not be empty");
                if (decoded.n > IJ_MAX_NAME) return field_fail(p, fp, 400, "too long");
                if (decoded.n == 9 && memcmp(decoded.s, "exception", 9) == 0) r->has_exception = 1;
                has_name = 1;
            } else if (key.n == 4 && memcmp(key.s, "time", 4) == 0) {
                snprintf(fp, sizeof(fp), "events[%d].time", n);
                if (read_time(p, fp, &ns) != 0) return -1;
                has_time = 1;
            } else if (key.n == 10 && memcmp(key.s, "attributes", 10) == 0) {
                snprintf(fp, sizeof(fp), "events[%d].attributes", n);
                jtype_t t = jscan_peek(&p->j);
                if (t != JT_OBJECT && t != JT_NULL) return field_fail(p, fp, 400, "expected an object");
                if (jscan_skip(&p->j, &attrs) != 0) return syntax_fail(p, fp);
                if (t == JT_NULL) attrs = (jstr_t){"{}", 2};
            } else if (jscan_skip(&p->j, NULL) != 0) {
                return syntax_fail(p, path);
            }
        }
        if (m < 0) return syntax_fail(p, path);
        if (!has_name) {
            char fp[64];
            snprintf(fp, sizeof(fp), "events[%d].name", n);
            return field_fail(p, fp, 400, "missing");
        }
        if (!has_time) {
            char fp[64];
            snprintf(fp, sizeof(fp), "events[%d].time", n);
            return field_fail(p, fp, 400, "missing");
        }
        /* every append is checked: a truncated events array would be stored as broken JSON */
        if ((n && buf_append_char(out, ',')) || buf_append_str(out, "{\"name\":") ||
            buf_append(out, name_raw.s, name_raw.n) ||
            buf_printf(out, ",\"time_ns\":%lld,\"attributes\":", (long long)ns) ||
            buf_append(out, attrs.s, attrs.n) || buf_append_char(out, '}'))
            return TOO_BIG(p);
        n++;
    }
    if (k < 0) return syntax_fail(p, field);
    if (buf_append_char(out, ']') != 0) return TOO_BIG(p);
    return 0;
}

/* Reads one record object into p->rec following `spec`. Unknown keys are skipped (validated). */
static int read_record(parser_t *p, const field_spec_t *spec, size_t nspec)
{
    record_t *r = &p->rec;
    memset(r->present, 0, sizeof(r->present));
    r->has_exception = 0;
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
        if (f == nspec) {
            if (jscan_skip(&p->j, NULL) != 0) return syntax_fail(p, NULL);
            continue;
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

/* Required string field of at most max bytes (allow_empty: "" accepted). */
static int need_str(parser_t *p, const field_spec_t *spec, int f, size_t max, int allow_empty)
{
    if (!p->rec.present[f]) return field_fail(p, spec[f].name, 400, "missing");
    if (p->rec.str[f].n == 0 && !allow_empty) return field_fail(p, spec[f].name, 400, "must not be empty");
    if (p->rec.str[f].n > max) {
        char why[64];
        snprintf(why, sizeof(why), "longer than %zu bytes", max);
        return field_fail(p, spec[f].name, 400, why);
    }
    return 0;
}

static int opt_str(parser_t *p, const field_spec_t *spec, int f, size_t max)
{
    if (!p->rec.present[f]) return 0;
    return need_str(p, spec, f, max, 1);
}

static int need(parser_t *p, const field_spec_t *spec, int f)
{
    return p->rec.present[f] ? 0 : field_fail(p, spec[f].name, 400, "missing");
}

static int id_of(parser_t *p, const field_spec_t *spec, int f, size_t nbytes, int required, char *out,
                 int *has)
{
    *has = 0;
    if (!p->rec.present[f] || (!required && p->rec.str[f].n == 0))
        return required ? field_fail(p, spec[f].name, 400, "missing") : 0;
    const char *why;
    if (hexid_parse(p->rec.str[f].s, p->rec.str[f].n, nbytes, out, &why) != 0)
        return field_fail(p, spec[f].name, 400, why);
    *has = 1;
    return 0;
}

static int col_str(buf_t *c, const record_t *r, int f, char sep)
{
    return r->present[f] ? ij_col_text(c, r->str[f].s, r->str[f].n, sep) : ij_col_null(c, sep);
}

static int col_json(buf_t *c, const record_t *r, int f, char sep)
{
    return r->present[f] ? ij_col_text(c, r->str[f].s, r->str[f].n, sep) : ij_col_text(c, "{}", 2, sep);
}

static void hash_field(hash128_state_t *h, const record_t *r, int f)
{
    if (r->present[f])
        hash128_field(h, r->str[f].s, r->str[f].n);
    else
        hash128_field(h, "\x01null", 5);
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

static int match_word(const jstr_t *s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(words[i]) == s->n && strncasecmp(words[i], s->s, s->n) == 0) return (int)i;
    return -1;
}

static int one_span(parser_t *p)
{
    const field_spec_t *sp = span_spec;
    if (read_record(p, sp, 12) != 0) return -1;
    record_t *r = &p->rec;
    char trace[33], span[17], parent[17];
    int has, has_parent;
    if (id_of(p, sp, S_TRACE, TRACE_ID_BYTES, 1, trace, &has) ||
        id_of(p, sp, S_SPAN, SPAN_ID_BYTES, 1, span, &has) ||
        id_of(p, sp, S_PARENT, SPAN_ID_BYTES, 0, parent, &has_parent) ||
        need_str(p, sp, S_SERVICE, IJ_MAX_SERVICE, 0) || need_str(p, sp, S_NAME, IJ_MAX_NAME, 0) ||
        need(p, sp, S_START) || need(p, sp, S_END) || opt_str(p, sp, S_MSG, IJ_MAX_MESSAGE))
        return -1;
    if (r->ns[S_END] < r->ns[S_START]) return field_fail(p, "end_time", 400, "end_time is before start_time");
    static const char *kinds[] = {"SERVER", "CLIENT", "INTERNAL", "PRODUCER", "CONSUMER"};
    int kind = -1;
    if (r->present[S_KIND] && (kind = match_word(&r->str[S_KIND], kinds, 5)) < 0)
        return field_fail(p, "kind", 400, "expected SERVER, CLIENT, INTERNAL, PRODUCER or CONSUMER");
    static const char *statuses[] = {"UNSET", "OK", "ERROR"};
    int status = SPAN_STATUS_UNSET;
    if (r->present[S_STATUS] && (status = match_word(&r->str[S_STATUS], statuses, 3)) < 0)
        return field_fail(p, "status", 400, "expected OK, ERROR or UNSET");
    buf_t *c = &p->b->copy;
    if (ij_col_text(c, trace, 32, '\t') || ij_col_text(c, span, 16, '\t') ||
        (has_parent ? ij_col_text(c, parent, 16, '\t') : ij_col_null(c, '\t')) ||
        col_str(c, r, S_SERVICE, '\t') || col_str(c, r, S_NAME, '\t') ||
        (kind >= 0 ? ij_col_text(c, kinds[kind], strlen(kinds[kind]), '\t') : ij_col_null(c, '\t')) ||
        ij_col_i64(c, r->ns[S_START], '\t') || ij_col_i64(c, r->ns[S_END], '\t') ||
        ij_col_i64(c, status, '\t') || col_str(c, r, S_MSG, '\t') || col_json(c, r, S_ATTRS, '\t') ||
        (r->present[S_EVENTS] ? ij_col_text(c, r->events.data, r->events.len, '\n')
                              : ij_col_text(c, "[]", 2, '\n')))
        return TOO_BIG(p);
    ingest_batch_add_day(p->b, r->ns[S_START]);
    if (status == SPAN_STATUS_ERROR || (r->present[S_EVENTS] && r->has_exception))
        ingest_batch_add_error_trace(p->b, trace);
    return 0;
}

/* ---------------- logs ---------------- */

enum { L_TS, L_SERVICE, L_LEVEL, L_MSG, L_TRACE, L_SPAN, L_STACK, L_ATTRS };
static const field_spec_t log_spec[] = {
    {"timestamp", F_TIME},  {"service", F_STRING}, {"level", F_STRING},       {"message", F_STRING},
    {"trace_id", F_STRING}, {"span_id", F_STRING}, {"stack_trace", F_STRING}, {"attributes", F_OBJECT},
};

static int one_log(parser_t *p)
{
    const field_spec_t *sp = log_spec;
    if (read_record(p, sp, 8) != 0) return -1;
    record_t *r = &p->rec;
    char trace[33], span[17];
    int has_trace, has_span;
    if (need(p, sp, L_TS) || need_str(p, sp, L_SERVICE, IJ_MAX_SERVICE, 0) ||
        need_str(p, sp, L_LEVEL, IJ_MAX_LEVEL, 0) || need_str(p, sp, L_MSG, IJ_MAX_MESSAGE, 1) ||
        id_of(p, sp, L_TRACE, TRACE_ID_BYTES, 0, trace, &has_trace) ||
        id_of(p, sp, L_SPAN, SPAN_ID_BYTES, 0, span, &has_span) || opt_str(p, sp, L_STACK, IJ_MAX_STACK))
        return -1;
    int severity = ij_severity_of(r->str[L_LEVEL].s, r->str[L_LEVEL].n);
    if (severity == 0)
        return field_fail(p, "level", 400, "expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL");
    /* same content and time: same record (attributes as sent) */
    hash128_state_t h;
    hash128_init(&h);
    hash128_update(&h, &r->ns[L_TS], sizeof(int64_t));
    hash_field(&h, r, L_SERVICE);
    hash_field(&h, r, L_LEVEL);
    hash_field(&h, r, L_MSG);
    hash128_field(&h, has_trace ? trace : "", has_trace ? 32 : 0);
    hash128_field(&h, has_span ? span : "", has_span ? 16 : 0);
    hash_field(&h, r, L_STACK);
    hash_field(&h, r, L_ATTRS);
    char hex[33];
    hash128_hex(hash128_final(&h), hex);
    buf_t *c = &p->b->copy;
    if (ij_col_i64(c, r->ns[L_TS], '\t') || col_str(c, r, L_SERVICE, '\t') || col_str(c, r, L_LEVEL, '\t') ||
        ij_col_i64(c, severity, '\t') || col_str(c, r, L_MSG, '\t') ||
        (has_trace ? ij_col_text(c, trace, 32, '\t') : ij_col_null(c, '\t')) ||
        (has_span ? ij_col_text(c, span, 16, '\t') : ij_col_null(c, '\t')) || col_str(c, r, L_STACK, '\t') ||
        col_json(c, r, L_ATTRS, '\t') || ij_col_text(c, hex, 32, '\n'))
        return TOO_BIG(p);
    ingest_batch_add_day(p->b, r->ns[L_TS]);
    if (severity >= 5 && has_trace) ingest_batch_add_error_trace(p->b, trace);
    return 0;
}

/* ---------------- metrics ---------------- */

enum { M_TS, M_SERVICE, M_NAME, M_VALUE, M_LABELS };
static const field_spec_t metric_spec[] = {
    {"timestamp", F_TIME}, {"service", F_STRING}, {"name", F_STRING},
    {"value", F_NUMBER},   {"labels", F_OBJECT},
};

static int one_metric(parser_t *p)
{
    const field_spec_t *sp = metric_spec;
    if (read_record(p, sp, 5) != 0) return -1;
    record_t *r = &p->rec;
    if (need(p, sp, M_TS) || need_str(p, sp, M_SERVICE, IJ_MAX_SERVICE, 0) ||
        need_str(p, sp, M_NAME, IJ_MAX_NAME, 0) || need(p, sp, M_VALUE))
        return -1;
    if (!isfinite(r->num[M_VALUE])) return field_fail(p, "value", 400, "not a finite number");
    hash128_state_t h;
    hash128_init(&h);
    hash_field(&h, r, M_SERVICE);
    hash_field(&h, r, M_NAME);
    hash_field(&h, r, M_LABELS);
    hash128_update(&h, &r->ns[M_TS], sizeof(int64_t));
    hash128_update(&h, &r->num[M_VALUE], sizeof(double));
    char hex[33];
    hash128_hex(hash128_final(&h), hex);
    buf_t *c = &p->b->copy;
    if (ij_col_i64(c, r->ns[M_TS], '\t') || col_str(c, r, M_SERVICE, '\t') || col_str(c, r, M_NAME, '\t') ||
        ingest_copy_double(c, r->num[M_VALUE]) || buf_append_char(c, '\t') ||
        col_json(c, r, M_LABELS, '\t') || ij_col_text(c, hex, 32, '\n'))
        return TOO_BIG(p);
    ingest_batch_add_day(p->b, r->ns[M_TS]);
    return 0;
}

/* ---------------- change events ---------------- */

enum { E_TS, E_SERVICE, E_TYPE, E_DESC, E_META };
static const field_spec_t event_spec[] = {
    {"timestamp", F_TIME},     {"service", F_STRING}, {"type", F_STRING},
    {"description", F_STRING}, {"meta", F_OBJECT},
};

static int one_event(parser_t *p)
{
    const field_spec_t *sp = event_spec;
    if (read_record(p, sp, 5) != 0) return -1;
    record_t *r = &p->rec;
    if (need(p, sp, E_TS) || need_str(p, sp, E_TYPE, IJ_MAX_TYPE, 0) ||
        (r->present[E_SERVICE] && need_str(p, sp, E_SERVICE, IJ_MAX_SERVICE, 0)) ||
        opt_str(p, sp, E_DESC, IJ_MAX_DESCRIPTION))
        return -1;
    hash128_state_t h;
    hash128_init(&h);
    hash128_update(&h, &r->ns[E_TS], sizeof(int64_t));
    hash_field(&h, r, E_SERVICE);
    hash_field(&h, r, E_TYPE);
    hash_field(&h, r, E_DESC);
    hash_field(&h, r, E_META);
    char hex[33];
    hash128_hex(hash128_final(&h), hex);
    buf_t *c = &p->b->copy;
    if (ij_col_i64(c, r->ns[E_TS], '\t') || col_str(c, r, E_SERVICE, '\t') || col_str(c, r, E_TYPE, '\t') ||
        col_str(c, r, E_DESC, '\t') || col_json(c, r, E_META, '\t') || ij_col_text(c, hex, 32, '\n'))
        return TOO_BIG(p);
    ingest_batch_add_day(p->b, r->ns[E_TS]);
    return 0;
}

/* ---------------- batch ---------------- */

typedef int (*record_fn)(parser_t *p);

static void parser_dispose(parser_t *p)
{
    for (int i = 0; i < MAX_FIELDS; i++)
        buf_dispose(&p->rec.bufs[i]);
    buf_dispose(&p->rec.events);
    buf_dispose(&p->key);
}

int ingest_json_native(ingest_kind_t kind, const char *body, size_t len, size_t max_records,
                       size_t max_copy_bytes, ingest_batch_t *out, ingest_err_t *err)
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
    buf_init(&p.rec.events, 4 * 1024 * 1024);
    buf_init(&p.key, IJ_MAX_STACK + 16);
    ingest_batch_init(out, kind, max_copy_bytes);
    jscan_init(&p.j, body, len, IJ_MAX_DEPTH);
    int rc = -1, found = 0, m;
    jstr_t key;
    if (jscan_object_begin(&p.j) != 0) {
        ij_fail(err, 400, "", "expected a JSON object");
        goto out;
    }
    while ((m = jscan_object_next(&p.j, &key, &p.key)) == 1) {
        if (key.n != strlen(p.top) || memcmp(key.s, p.top, key.n) != 0) {
            if (jscan_skip(&p.j, NULL) != 0) goto syntax;
            continue;
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
            out->records++;
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
