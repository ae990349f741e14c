/* The record layer (see ingest_record.h): limits, times, canonical attributes, identity and the COPY
 * row of every record, whatever format it came in. */
#include "ingest_record.h"
#include "alloc.h"
#include "hash.h"
#include "jcanon.h"
#include "jwrite.h"
#include "redact.h"

#include <jansson.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define UNKNOWN_SERVICE "unknown_service"

/* ---------------- errors ---------------- */

static int fail(ingest_err_t *err, int status, const char *prefix, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(ingest_err_t *err, int status, const char *prefix, const char *field, const char *fmt, ...)
{
    err->status = status;
    if (field && prefix && *prefix)
        snprintf(err->path, sizeof(err->path), "%.200s.%.50s", prefix, field);
    else
        snprintf(err->path, sizeof(err->path), "%.250s", field ? field : prefix ? prefix : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    return -1;
}

static int too_big(ingest_err_t *err)
{
    return fail(err, 413, "", NULL, "batch larger than the accepted size");
}

/* Undoes a partly written row: the batch is left exactly as before the record. */
static void rewind_to(buf_t *b, size_t mark)
{
    b->len = mark;
    if (b->data) b->data[mark] = '\0';
}

/* ---------------- checks ---------------- */

static int check_str(istr_t s, size_t max, int required, int allow_empty, const char *prefix,
                     const char *field, ingest_err_t *err)
{
    if (s.s == NULL) return required ? fail(err, 400, prefix, field, "missing") : 0;
    if (s.n == 0 && !allow_empty) return fail(err, 400, prefix, field, "must not be empty");
    if (s.n > max) return fail(err, 400, prefix, field, "longer than %zu bytes", max);
    if (memchr(s.s, '\0', s.n)) return fail(err, 400, prefix, field, "contains a NUL byte");
    return 0;
}

static int check_time(const ingest_batch_t *b, int64_t ns, const char *prefix, const char *field,
                      ingest_err_t *err)
{
    if (ns < b->min_ns || ns >= b->max_ns)
        return fail(err, 400, prefix, field,
                    "time %lld ns is outside the accepted range [%lld, %lld) (too old for retention or too "
                    "far in the future)",
                    (long long)ns, (long long)b->min_ns, (long long)b->max_ns);
    return 0;
}

static int is_hex_id(const char *id, size_t len)
{
    if (strlen(id) != len) return 0;
    int nonzero = 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
        nonzero |= c != '0';
    }
    return nonzero;
}

static int check_id(const char *id, size_t len, int required, const char *prefix, const char *field,
                    ingest_err_t *err)
{
    if (id[0] == '\0') return required ? fail(err, 400, prefix, field, "missing") : 0;
    if (!is_hex_id(id, len))
        return fail(err, 400, prefix, field, "expected %zu lowercase hex digits, not all zero", len);
    return 0;
}

/* The service of a record: its own, else its resource's, else OTLP's "unknown_service". */
static int service_of(istr_t own, const ingest_resource_t *res, const char *prefix, const char *field,
                      ingest_err_t *err, istr_t *out)
{
    if (own.s == NULL && res != NULL) own = res->service;
    if (own.s == NULL && res == NULL) return fail(err, 400, prefix, field, "missing");
    if (own.s == NULL || own.n == 0) {
        if (res == NULL) return fail(err, 400, prefix, field, "must not be empty");
        own = ISTR_LIT(UNKNOWN_SERVICE);
    }
    if (check_str(own, INGEST_MAX_SERVICE, 1, 0, prefix, field, err) != 0) return -1;
    *out = own;
    return 0;
}

/* Canonical JSON of an attribute set (an object; absent: {}) appended to `out` (a scratch buffer). */
static int canon_object(istr_t in, int must_be_object, buf_t *out, const char *prefix, const char *field,
                        ingest_err_t *err)
{
    buf_reset(out);
    if (in.s == NULL) return buf_append(out, must_be_object ? "{}" : "null", must_be_object ? 2 : 4);
    const char *why = NULL;
    int rc = jcanon(in.s, in.n, INGEST_MAX_DEPTH, out, &why);
    if (rc == -2 || (rc == 0 && out->len > INGEST_MAX_ATTR_BYTES))
        return fail(err, 400, prefix, field, "larger than %d bytes", INGEST_MAX_ATTR_BYTES);
    if (rc != 0) {
        const char *deep = why && strstr(why, "deep") ? "nested deeper than 8 levels" : NULL;
        return fail(err, 400, prefix, field, "%s", deep ? deep : why ? why : "malformed JSON");
    }
    if (must_be_object && out->data[0] != '{') return fail(err, 400, prefix, field, "expected an object");
    return 0;
}

/* ---------------- redaction at ingest (REDACT_AT_INGEST) ---------------- */
/* With b->redact set, every free text and every string inside attributes, bodies, events and links is
 * stored as redact.h (the one module that decides what is secret) rewrites it, and identities are
 * hashed on that stored form, so a re-send of the same record is still the same record. Limits are
 * checked on the text as sent (the 400 names what the client sent); a redacted text may be a little
 * longer (redact_bound). */

/* The text to store for `s`: `s` itself, or (when redacting) its redacted copy in `tmp`, which must
 * outlive the use of *out. Returns 0, or -1 (413) when `tmp`'s cap would be exceeded. */
static int stored_text(const ingest_batch_t *b, istr_t s, buf_t *tmp, istr_t *out, ingest_err_t *err)
{
    *out = s;
    if (!b->redact || s.s == NULL || s.n == 0) return 0;
    buf_reset(tmp);
    if (redact_append(tmp, s.s, s.n) != 0) {
        buf_reset(tmp);
        return too_big(err);
    }
    *out = (istr_t){tmp->data ? tmp->data : "", tmp->len};
    return 0;
}

/* A JSON value as jansson reads it; integers past 64 bits (which jcanon keeps as digits) are read as
 * doubles rather than refused. NULL when unreadable (not expected: the text was validated). */
static json_t *load_any(const char *text, size_t n)
{
    json_error_t e;
    json_t *v = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (v == NULL) v = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &e);
    return v;
}

/* The JSON text `in` (n bytes) with every string redacted (redact_json: keys that name a secret lose
 * their whole value), dumped compact into `out` (reset first), canonical again when `canonical`.
 * Returns 0, or -1 with err (400 naming prefix.field when unreadable, 413 when over the cap). */
static int redact_json_text(const char *in, size_t n, int canonical, buf_t *out, const char *prefix,
                            const char *field, ingest_err_t *err)
{
    buf_reset(out);
    json_t *v = load_any(in, n);
    if (v == NULL) return fail(err, 400, prefix, field, "could not be read for redaction");
    json_t *clean = redact_json(v);
    json_decref(v);
    char *text = json_dumps(clean, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(clean);
    int rc = -1;
    if (text == NULL) {
        rc = fail(err, 400, prefix, field, "could not be written after redaction");
    } else if (canonical) {
        const char *why = NULL;
        int c = jcanon(text, strlen(text), INGEST_MAX_DEPTH, out, &why);
        rc = c == 0    ? 0
             : c == -2 ? too_big(err)
                       : fail(err, 400, prefix, field, "%s after redaction", why ? why : "malformed");
    } else {
        rc = buf_append(out, text, strlen(text)) != 0 ? too_big(err) : 0;
    }
    free(text);
    return rc;
}

/* Redacts, in place, the canonical JSON in `canon` (using `tmp`); nothing when the batch does not
 * redact or redaction would change nothing (redact_json_text_changes()). */
static int redact_canon(const ingest_batch_t *b, buf_t *canon, buf_t *tmp, const char *prefix,
                        const char *field, ingest_err_t *err)
{
    if (!b->redact || (canon->len == 2 && memcmp(canon->data, "{}", 2) == 0) ||
        !redact_json_text_changes(canon->data, canon->len))
        return 0; /* nothing secret: the canonical text stands (no tree built) */
    if (redact_json_text(canon->data, canon->len, 1, tmp, prefix, field, err) != 0) return -1;
    buf_reset(canon);
    return buf_append(canon, tmp->data, tmp->len) != 0 ? too_big(err) : 0;
}

/* ---------------- COPY columns ---------------- */

static int col_text(buf_t *c, const char *s, size_t n, char sep)
{
    return ingest_copy_text(c, s, n) != 0 || buf_append_char(c, sep) != 0 ? -1 : 0;
}

static int col_istr(buf_t *c, istr_t s, char sep)
{
    return s.s ? col_text(c, s.s, s.n, sep)
               : (ingest_copy_null(c) != 0 || buf_append_char(c, sep) != 0 ? -1 : 0);
}

static int col_null(buf_t *c, char sep)
{
    return ingest_copy_null(c) != 0 || buf_append_char(c, sep) != 0 ? -1 : 0;
}

static int col_i64(buf_t *c, int64_t v, char sep)
{
    return ingest_copy_i64(c, v) != 0 || buf_append_char(c, sep) != 0 ? -1 : 0;
}

static int col_id(buf_t *c, const char *id, char sep)
{
    return id[0] ? col_text(c, id, strlen(id), sep) : col_null(c, sep);
}

static int col_resource(buf_t *c, const ingest_resource_t *r, char sep)
{
    return r ? col_text(c, r->hash, 32, sep) : col_null(c, sep);
}

static int col_scope(buf_t *c, const ingest_scope_t *s)
{
    istr_t none = ISTR_NONE;
    return col_istr(c, s && s->name.s && s->name.n ? s->name : none, '\t') ||
           col_istr(c, s && s->version.s && s->version.n ? s->version : none, '\t');
}

/* ---------------- hashing ---------------- */

static void hash_istr(hash128_state_t *h, istr_t s)
{
    if (s.s)
        hash128_field(h, s.s, s.n);
    else
        hash128_field(h, "\x01null", 5);
}

static void hash_text(hash128_state_t *h, const char *s, size_t n)
{
    hash128_field(h, s, n);
}

/* ---------------- resources ---------------- */

int ingest_record_resource(ingest_batch_t *b, ingest_resource_t *r, const char *prefix, ingest_err_t *err)
{
    istr_t service;
    if (service_of(r->service, r, prefix, "attributes.service.name", err, &service) != 0) return -1;
    buf_t *canon = &b->scratch[0];
    if (canon_object(r->attributes, 1, canon, prefix, "attributes", err) != 0 ||
        redact_canon(b, canon, &b->redacted[0], prefix, "attributes", err) != 0)
        return -1;
    hash128_state_t h;
    hash128_init(&h);
    hash_istr(&h, service);
    hash_text(&h, canon->data, canon->len);
    hash_istr(&h, r->schema_url);
    hash128_hex(hash128_final(&h), r->hash);
    for (size_t i = 0; i < b->nresources; i++)
        if (memcmp(b->resource_hashes[i], r->hash, 32) == 0) return 0; /* already in this batch */
    buf_t *c = &b->resources;
    size_t mark = c->len;
    if (col_text(c, r->hash, 32, '\t') || col_istr(c, service, '\t') ||
        col_text(c, canon->data, canon->len, '\t') || col_istr(c, r->schema_url, '\t') ||
        col_i64(c, r->dropped_attributes, '\n')) {
        rewind_to(c, mark);
        return too_big(err);
    }
    b->resource_hashes = xrealloc(b->resource_hashes, (b->nresources + 1) * sizeof(*b->resource_hashes));
    memcpy(b->resource_hashes[b->nresources++], r->hash, 33);
    return 0;
}

/* ---------------- events and links ---------------- */

void ingest_list_init(ingest_list_t *l, size_t max)
{
    memset(l, 0, sizeof(*l));
    buf_init(&l->json, max);
    buf_init(&l->scratch, INGEST_MAX_ATTR_BYTES + 16);
}

void ingest_list_reset(ingest_list_t *l)
{
    buf_reset(&l->json);
    l->count = 0;
    l->has_exception = 0;
}

void ingest_list_dispose(ingest_list_t *l)
{
    if (l == NULL) return;
    buf_dispose(&l->json);
    buf_dispose(&l->scratch);
}

static int list_open(ingest_list_t *l)
{
    return jw_char(&l->json, l->count ? ',' : '[');
}

int ingest_list_add_event(ingest_list_t *l, istr_t name, int64_t time_ns, istr_t attributes,
                          uint32_t dropped_attributes, const char *prefix, ingest_err_t *err)
{
    if (check_str(name, INGEST_MAX_NAME, 1, 0, prefix, "name", err) != 0 ||
        canon_object(attributes, 1, &l->scratch, prefix, "attributes", err) != 0)
        return -1;
    buf_t *j = &l->json;
    size_t mark = j->len;
    if (list_open(l) || jw_raw(j, "{\"name\":", 8) || jw_string(j, name.s, name.n) ||
        jw_raw(j, ",\"time_ns\":", 11) || jw_i64(j, time_ns) || jw_raw(j, ",\"attributes\":", 14) ||
        jw_raw(j, l->scratch.data, l->scratch.len) ||
        (dropped_attributes &&
         (jw_raw(j, ",\"dropped_attributes_count\":", 28) || jw_u64(j, dropped_attributes))) ||
        jw_char(j, '}')) {
        rewind_to(j, mark);
        return too_big(err);
    }
    l->count++;
    if (name.n == 9 && memcmp(name.s, "exception", 9) == 0) l->has_exception = 1;
    return 0;
}

int ingest_list_add_link(ingest_list_t *l, const char *trace_id, const char *span_id, istr_t trace_state,
                         uint32_t flags, istr_t attributes, uint32_t dropped_attributes, const char *prefix,
                         ingest_err_t *err)
{
    if (check_id(trace_id, 32, 1, prefix, "traceId", err) ||
        check_id(span_id, 16, 1, prefix, "spanId", err) ||
        check_str(trace_state, INGEST_MAX_TRACE_STATE, 0, 1, prefix, "traceState", err) ||
        canon_object(attributes, 1, &l->scratch, prefix, "attributes", err))
        return -1;
    buf_t *j = &l->json;
    size_t mark = j->len;
    if (list_open(l) || jw_raw(j, "{\"trace_id\":\"", 13) || jw_raw(j, trace_id, 32) ||
        jw_raw(j, "\",\"span_id\":\"", 13) || jw_raw(j, span_id, 16) || jw_char(j, '"') ||
        (trace_state.s && trace_state.n &&
         (jw_raw(j, ",\"trace_state\":", 15) || jw_string(j, trace_state.s, trace_state.n))) ||
        (flags && (jw_raw(j, ",\"flags\":", 9) || jw_u64(j, flags))) || jw_raw(j, ",\"attributes\":", 14) ||
        jw_raw(j, l->scratch.data, l->scratch.len) ||
        (dropped_attributes &&
         (jw_raw(j, ",\"dropped_attributes_count\":", 28) || jw_u64(j, dropped_attributes))) ||
        jw_char(j, '}')) {
        rewind_to(j, mark);
        return too_big(err);
    }
    l->count++;
    return 0;
}

/* A COPY column holding the list's JSON array ("[]" when empty or NULL): the open array is written
 * then closed, so the list itself stays reusable. */
static int col_list(buf_t *c, const ingest_list_t *l, char sep)
{
    if (l == NULL || l->count == 0) return col_text(c, "[]", 2, sep);
    return ingest_copy_text(c, l->json.data, l->json.len) != 0 || buf_append_char(c, ']') != 0 ||
                   buf_append_char(c, sep) != 0
               ? -1
               : 0;
}

/* The JSON array to store for a list (events or links): NULL when stored as it is (col_list), else
 * its redacted text in `out`, built through `tmp`. */
static int stored_list(const ingest_batch_t *b, const ingest_list_t *l, buf_t *tmp, buf_t *out,
                       const buf_t **stored, const char *prefix, const char *field, ingest_err_t *err)
{
    *stored = NULL;
    if (!b->redact || l == NULL || l->count == 0) return 0;
    buf_reset(tmp);
    if (buf_append(tmp, l->json.data, l->json.len) != 0 || buf_append_char(tmp, ']') != 0)
        return too_big(err);
    if (!redact_json_text_changes(tmp->data, tmp->len)) return 0; /* stored as it is */
    if (redact_json_text(tmp->data, tmp->len, 0, out, prefix, field, err) != 0) return -1;
    *stored = out;
    return 0;
}

static int col_stored_list(buf_t *c, const ingest_list_t *l, const buf_t *stored, char sep)
{
    return stored ? col_text(c, stored->data, stored->len, sep) : col_list(c, l, sep);
}

/* ---------------- spans ---------------- */

static const char *kind_name(int kind)
{
    static const char *names[] = {NULL, "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"};
    return kind >= 1 && kind <= 5 ? names[kind] : NULL;
}

int ingest_record_span(ingest_batch_t *b, const ingest_span_t *s, const char *const names[SF_COUNT],
                       const char *prefix, ingest_err_t *err)
{
    istr_t service;
    if (check_id(s->trace_id, 32, 1, prefix, names[SF_TRACE_ID], err) ||
        check_id(s->span_id, 16, 1, prefix, names[SF_SPAN_ID], err) ||
        (strspn(s->parent_span_id, "0") != strlen(s->parent_span_id) && /* all zero: a root span */
         check_id(s->parent_span_id, 16, 0, prefix, names[SF_PARENT], err)) ||
        service_of(s->service, s->resource, prefix, names[SF_SERVICE], err, &service) ||
        check_str(s->name, INGEST_MAX_NAME, 1, 0, prefix, names[SF_NAME], err) ||
        check_time(b, s->start_ns, prefix, names[SF_START], err) ||
        check_time(b, s->end_ns, prefix, names[SF_END], err) ||
        check_str(s->status_message, INGEST_MAX_MESSAGE, 0, 1, prefix, names[SF_STATUS_MESSAGE], err) ||
        check_str(s->trace_state, INGEST_MAX_TRACE_STATE, 0, 1, prefix, names[SF_TRACE_STATE], err))
        return -1;
    if (s->end_ns < s->start_ns)
        return fail(err, 400, prefix, names[SF_END], "%s is before %s", names[SF_END], names[SF_START]);
    buf_t *attrs = &b->scratch[0];
    if (canon_object(s->attributes, 1, attrs, prefix, names[SF_ATTRIBUTES], err) != 0) return -1;
    istr_t msg = s->status_message.s && s->status_message.n ? s->status_message : ISTR_NONE, name;
    const buf_t *events, *links;
    if (redact_canon(b, attrs, &b->scratch[1], prefix, names[SF_ATTRIBUTES], err) ||
        stored_text(b, msg, &b->redacted[0], &msg, err) ||
        stored_text(b, s->name, &b->redacted[1], &name, err) ||
        stored_list(b, s->events, &b->scratch[1], &b->redacted[2], &events, prefix, names[SF_EVENTS], err) ||
        stored_list(b, s->links, &b->scratch[1], &b->redacted[3], &links, prefix, names[SF_LINKS], err))
        return -1;
    int has_parent = is_hex_id(s->parent_span_id, 16);
    const char *kind = kind_name(s->kind);
    istr_t ts = s->trace_state.s && s->trace_state.n ? s->trace_state : ISTR_NONE;
    buf_t *c = &b->copy;
    size_t mark = c->len;
    if (col_text(c, s->trace_id, 32, '\t') || col_text(c, s->span_id, 16, '\t') ||
        (has_parent ? col_text(c, s->parent_span_id, 16, '\t') : col_null(c, '\t')) ||
        col_istr(c, service, '\t') || col_istr(c, name, '\t') ||
        (kind ? col_text(c, kind, strlen(kind), '\t') : col_null(c, '\t')) || col_i64(c, s->start_ns, '\t') ||
        col_i64(c, s->end_ns, '\t') || col_i64(c, s->status, '\t') || col_istr(c, msg, '\t') ||
        col_text(c, attrs->data, attrs->len, '\t') || col_stored_list(c, s->events, events, '\t') ||
        col_resource(c, s->resource, '\t') || col_scope(c, s->scope) || col_istr(c, ts, '\t') ||
        (s->flags ? col_i64(c, s->flags, '\t') : col_null(c, '\t')) ||
        col_stored_list(c, s->links, links, '\t') || col_i64(c, s->dropped_attributes, '\t') ||
        col_i64(c, s->dropped_events, '\t') || col_i64(c, s->dropped_links, '\n')) {
        rewind_to(c, mark);
        return too_big(err);
    }
    b->records++;
    ingest_batch_add_day(b, s->start_ns);
    if (s->status == SPAN_STATUS_ERROR || (s->events && s->events->has_exception))
        ingest_batch_add_error_trace(b, s->trace_id);
    return 0;
}

/* ---------------- logs ---------------- */

int ingest_severity_of_level(const char *level, size_t n)
{
    static const struct {
        const char *name;
        int sev;
    } levels[] = {{"TRACE", SEV_TRACE},      {"DEBUG", SEV_DEBUG},    {"INFO", SEV_INFO},
                  {"INFORMATION", SEV_INFO}, {"NOTICE", SEV_INFO},    {"WARN", SEV_WARN},
                  {"WARNING", SEV_WARN},     {"ERROR", SEV_ERROR},    {"ERR", SEV_ERROR},
                  {"FATAL", SEV_FATAL},      {"CRITICAL", SEV_FATAL}, {"PANIC", SEV_FATAL},
                  {"EMERG", SEV_FATAL},      {"ALERT", SEV_FATAL},    {"CRIT", SEV_FATAL}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(*levels); i++)
        if (strlen(levels[i].name) == n && strncasecmp(levels[i].name, level, n) == 0) return levels[i].sev;
    return 0;
}

int ingest_severity_of_number(int64_t number)
{
    if (number <= 0 || number > 24) return 0;
    return (int)((number - 1) / 4) +
           1; /* 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL */
}

const char *ingest_severity_name(int severity)
{
    static const char *names[] = {"INFO", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    return severity >= 1 && severity <= 6 ? names[severity] : names[0];
}

int ingest_record_log(ingest_batch_t *b, const ingest_log_t *l, const char *const names[LF_COUNT],
                      const char *prefix, ingest_err_t *err)
{
    istr_t service;
    int64_t ts = l->ts_ns ? l->ts_ns : l->observed_ns;
    if (ts == 0) return fail(err, 400, prefix, names[LF_TIME], "missing");
    if (check_time(b, ts, prefix, names[LF_TIME], err) ||
        service_of(l->service, l->resource, prefix, names[LF_SERVICE], err, &service) ||
        check_str(l->message, INGEST_MAX_MESSAGE, 1, 1, prefix, names[LF_MESSAGE], err) ||
        check_id(l->trace_id, 32, 0, prefix, names[LF_TRACE_ID], err) ||
        check_id(l->span_id, 16, 0, prefix, names[LF_SPAN_ID], err) ||
        check_str(l->stack_trace, INGEST_MAX_STACK, 0, 1, prefix, names[LF_STACK], err) ||
        check_str(l->event_name, INGEST_MAX_NAME, 0, 1, prefix, names[LF_EVENT_NAME], err))
        return -1;
    if (l->severity < SEV_TRACE || l->severity > SEV_FATAL)
        return fail(err, 400, prefix, names[LF_LEVEL], "expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL");
    istr_t level = l->level;
    if (level.s == NULL || level.n == 0 || level.n > INGEST_MAX_LEVEL || memchr(level.s, '\0', level.n)) {
        const char *name = ingest_severity_name(l->severity);
        level = (istr_t){name, strlen(name)};
    }
    buf_t *attrs = &b->scratch[0], *body = &b->scratch[1];
    if (canon_object(l->attributes, 1, attrs, prefix, names[LF_ATTRIBUTES], err) != 0) return -1;
    if (l->body.s && canon_object(l->body, 0, body, prefix, names[LF_BODY], err) != 0) return -1;
    istr_t message, stack = l->stack_trace.s && l->stack_trace.n ? l->stack_trace : ISTR_NONE;
    if (redact_canon(b, attrs, &b->redacted[2], prefix, names[LF_ATTRIBUTES], err) ||
        (l->body.s && redact_canon(b, body, &b->redacted[2], prefix, names[LF_BODY], err)) ||
        stored_text(b, l->message, &b->redacted[0], &message, err) ||
        stored_text(b, stack, &b->redacted[1], &stack, err))
        return -1;
    /* Identity: what every format can say of a log line (not the level's spelling, the scope or the
     * resource's other attributes), so one line re-sent through another route is the same record. */
    hash128_state_t h;
    hash128_init(&h);
    hash128_update(&h, &ts, sizeof(ts));
    hash_istr(&h, service);
    unsigned char sev = (unsigned char)l->severity;
    hash128_update(&h, &sev, 1);
    hash_istr(&h, message);
    hash_text(&h, l->trace_id, strlen(l->trace_id));
    hash_text(&h, l->span_id, strlen(l->span_id));
    hash_istr(&h, stack);
    hash_text(&h, attrs->data, attrs->len);
    char hex[33];
    hash128_hex(hash128_final(&h), hex);
    istr_t event_name = l->event_name.s && l->event_name.n ? l->event_name : ISTR_NONE;
    buf_t *c = &b->copy;
    size_t mark = c->len;
    if (col_i64(c, ts, '\t') || col_istr(c, service, '\t') || col_istr(c, level, '\t') ||
        col_i64(c, l->severity, '\t') || col_istr(c, message, '\t') || col_id(c, l->trace_id, '\t') ||
        col_id(c, l->span_id, '\t') || col_istr(c, stack, '\t') ||
        col_text(c, attrs->data, attrs->len, '\t') || col_text(c, hex, 32, '\t') ||
        col_resource(c, l->resource, '\t') || col_scope(c, l->scope) ||
        (l->severity_number ? col_i64(c, l->severity_number, '\t') : col_null(c, '\t')) ||
        (l->observed_ns ? col_i64(c, l->observed_ns, '\t') : col_null(c, '\t')) ||
        (l->body.s ? col_text(c, body->data, body->len, '\t') : col_null(c, '\t')) ||
        (l->flags ? col_i64(c, l->flags, '\t') : col_null(c, '\t')) || col_istr(c, event_name, '\t') ||
        col_i64(c, l->dropped_attributes, '\n')) {
        rewind_to(c, mark);
        return too_big(err);
    }
    b->records++;
    ingest_batch_add_day(b, ts);
    if (l->severity >= SEV_ERROR && l->trace_id[0]) ingest_batch_add_error_trace(b, l->trace_id);
    return 0;
}

/* ---------------- metric points ---------------- */

static int jw_u64_array(buf_t *j, const uint64_t *v, size_t n)
{
    if (jw_char(j, '[')) return -1;
    for (size_t i = 0; i < n; i++)
        if ((i && jw_char(j, ',')) || jw_u64(j, v[i])) return -1;
    return jw_char(j, ']');
}

static int jw_double_array(buf_t *j, const double *v, size_t n)
{
    if (jw_char(j, '[')) return -1;
    for (size_t i = 0; i < n; i++)
        if ((i && jw_char(j, ',')) || jw_double(j, v[i])) return -1;
    return jw_char(j, ']');
}

static int jw_opt(buf_t *j, const char *key, int has, double v)
{
    if (!has) return 0;
    return jw_char(j, ',') || jw_string(j, key, strlen(key)) || jw_char(j, ':') || jw_double(j, v);
}

/* The `hist` column's JSON (migration 005 draws the shapes). Returns 0, -1 for a bad shape (err set),
 * -2 when over the cap. */
static int hist_json(const ingest_metric_t *m, buf_t *j, const char *prefix, const char *field,
                     ingest_err_t *err)
{
    buf_reset(j);
    if (m->kind == METRIC_HISTOGRAM && m->histogram) {
        const ingest_histogram_t *h = m->histogram;
        if (h->nbounds > INGEST_MAX_BUCKETS || h->ncounts > INGEST_MAX_BUCKETS + 1)
            return fail(err, 400, prefix, field, "more than %d buckets", INGEST_MAX_BUCKETS);
        if (h->ncounts != 0 && h->ncounts != h->nbounds + 1)
            return fail(err, 400, prefix, field, "%zu bucket counts for %zu explicit bounds (expected %zu)",
                        h->ncounts, h->nbounds, h->nbounds + 1);
        for (size_t i = 0; i < h->nbounds; i++)
            if (!isfinite(h->bounds[i]) || (i && h->bounds[i] <= h->bounds[i - 1]))
                return fail(err, 400, prefix, field, "explicit bounds must be finite and increasing");
        if (jw_raw(j, "{\"count\":", 9) || jw_u64(j, h->count) || jw_opt(j, "sum", h->has_sum, h->sum) ||
            jw_opt(j, "min", h->has_min, h->min) || jw_opt(j, "max", h->has_max, h->max) ||
            jw_raw(j, ",\"bounds\":", 10) || jw_double_array(j, h->bounds, h->nbounds) ||
            jw_raw(j, ",\"counts\":", 10) || jw_u64_array(j, h->counts, h->ncounts) || jw_char(j, '}'))
            return -2;
        return 0;
    }
    if (m->kind == METRIC_EXP_HISTOGRAM && m->exp_histogram) {
        const ingest_exp_histogram_t *h = m->exp_histogram;
        if (h->npositive > INGEST_MAX_BUCKETS || h->nnegative > INGEST_MAX_BUCKETS)
            return fail(err, 400, prefix, field, "more than %d buckets", INGEST_MAX_BUCKETS);
        if (h->scale < -10 || h->scale > 20) return fail(err, 400, prefix, field, "scale outside -10..20");
        if (jw_raw(j, "{\"count\":", 9) || jw_u64(j, h->count) || jw_opt(j, "sum", h->has_sum, h->sum) ||
            jw_opt(j, "min", h->has_min, h->min) || jw_opt(j, "max", h->has_max, h->max) ||
            jw_raw(j, ",\"scale\":", 9) || jw_i64(j, h->scale) || jw_raw(j, ",\"zero_count\":", 14) ||
            jw_u64(j, h->zero_count) || jw_raw(j, ",\"zero_threshold\":", 18) ||
            jw_double(j, h->zero_threshold) || jw_raw(j, ",\"positive\":{\"offset\":", 22) ||
            jw_i64(j, h->positive_offset) || jw_raw(j, ",\"counts\":", 10) ||
            jw_u64_array(j, h->positive, h->npositive) || jw_raw(j, "},\"negative\":{\"offset\":", 23) ||
            jw_i64(j, h->negative_offset) || jw_raw(j, ",\"counts\":", 10) ||
            jw_u64_array(j, h->negative, h->nnegative) || jw_raw(j, "}}", 2))
            return -2;
        return 0;
    }
    if (m->kind == METRIC_SUMMARY && m->summary) {
        const ingest_summary_t *s = m->summary;
        if (s->n > INGEST_MAX_BUCKETS)
            return fail(err, 400, prefix, field, "more than %d quantiles", INGEST_MAX_BUCKETS);
        if (jw_raw(j, "{\"count\":", 9) || jw_u64(j, s->count) || jw_raw(j, ",\"sum\":", 7) ||
            jw_double(j, s->sum) || jw_raw(j, ",\"quantiles\":[", 14))
            return -2;
        for (size_t i = 0; i < s->n; i++) {
            if (!(s->quantiles[i] >= 0 && s->quantiles[i] <= 1))
                return fail(err, 400, prefix, field, "quantile outside 0..1");
            if ((i && jw_char(j, ',')) || jw_char(j, '[') || jw_double(j, s->quantiles[i]) ||
                jw_char(j, ',') || jw_double(j, s->values[i]) || jw_char(j, ']'))
                return -2;
        }
        return jw_raw(j, "]}", 2) ? -2 : 0;
    }
    return 1; /* no shape: a gauge or a sum */
}

int ingest_record_metric(ingest_batch_t *b, const ingest_metric_t *m, const char *const names[MF_COUNT],
                         const char *prefix, ingest_err_t *err)
{
    istr_t service;
    if (check_time(b, m->ts_ns, prefix, names[MF_TIME], err) ||
        service_of(m->service, m->resource, prefix, names[MF_SERVICE], err, &service) ||
        check_str(m->name, INGEST_MAX_NAME, 1, 0, prefix, names[MF_NAME], err) ||
        check_str(m->unit, INGEST_MAX_TYPE, 0, 1, prefix, "unit", err))
        return -1;
    if (!isfinite(m->value)) return fail(err, 400, prefix, names[MF_VALUE], "not a finite number");
    if (m->start_ns < 0 || (m->start_ns && m->start_ns > m->ts_ns))
        return fail(err, 400, prefix, names[MF_START], "start is after the point's time");
    buf_t *labels = &b->scratch[0], *hist = &b->scratch[1];
    if (canon_object(m->labels, 1, labels, prefix, names[MF_LABELS], err) != 0 ||
        redact_canon(b, labels, &b->redacted[0], prefix, names[MF_LABELS], err) != 0)
        return -1;
    int shape = hist_json(m, hist, prefix, names[MF_BUCKETS], err);
    if (shape == -1) return -1;
    if (shape == -2) return too_big(err);
    hash128_state_t h;
    hash128_init(&h);
    hash_istr(&h, service);
    hash_istr(&h, m->name);
    hash_text(&h, labels->data, labels->len);
    hash128_update(&h, &m->ts_ns, sizeof(m->ts_ns));
    hash128_update(&h, &m->value, sizeof(m->value));
    if (m->kind != METRIC_GAUGE) { /* gauges hash as they always did */
        unsigned char shape_bytes[3] = {(unsigned char)m->kind, (unsigned char)m->temporality,
                                        (unsigned char)(m->monotonic != 0)};
        hash128_update(&h, shape_bytes, sizeof(shape_bytes));
        if (shape == 0) hash_text(&h, hist->data, hist->len);
    }
    char hex[33];
    hash128_hex(hash128_final(&h), hex);
    istr_t unit = m->unit.s && m->unit.n ? m->unit : ISTR_NONE;
    buf_t *c = &b->copy;
    size_t mark = c->len;
    if (col_i64(c, m->ts_ns, '\t') || col_istr(c, service, '\t') || col_istr(c, m->name, '\t') ||
        ingest_copy_double(c, m->value) || buf_append_char(c, '\t') ||
        col_text(c, labels->data, labels->len, '\t') || col_text(c, hex, 32, '\t') ||
        col_resource(c, m->resource, '\t') || col_scope(c, m->scope) || col_i64(c, m->kind, '\t') ||
        col_i64(c, m->temporality, '\t') || col_text(c, m->monotonic ? "t" : "f", 1, '\t') ||
        (m->start_ns ? col_i64(c, m->start_ns, '\t') : col_null(c, '\t')) || col_istr(c, unit, '\t') ||
        (shape == 0 ? col_text(c, hist->data, hist->len, '\n') : col_null(c, '\n'))) {
        rewind_to(c, mark);
        return too_big(err);
    }
    b->records++;
    ingest_batch_add_day(b, m->ts_ns);
    return 0;
}

/* ---------------- change events ---------------- */

int ingest_record_change(ingest_batch_t *b, const ingest_change_t *e, const char *const names[EF_COUNT],
                         const char *prefix, ingest_err_t *err)
{
    if (check_time(b, e->ts_ns, prefix, names[EF_TIME], err) ||
        check_str(e->service, INGEST_MAX_SERVICE, 0, 0, prefix, names[EF_SERVICE], err) ||
        check_str(e->type, INGEST_MAX_TYPE, 1, 0, prefix, names[EF_TYPE], err) ||
        check_str(e->description, INGEST_MAX_DESCRIPTION, 0, 1, prefix, names[EF_DESCRIPTION], err))
        return -1;
    buf_t *meta = &b->scratch[0];
    istr_t description;
    if (canon_object(e->meta, 1, meta, prefix, names[EF_META], err) != 0 ||
        redact_canon(b, meta, &b->redacted[0], prefix, names[EF_META], err) != 0 ||
        stored_text(b, e->description, &b->redacted[1], &description, err) != 0)
        return -1;
    hash128_state_t h;
    hash128_init(&h);
    hash128_update(&h, &e->ts_ns, sizeof(e->ts_ns));
    hash_istr(&h, e->service);
    hash_istr(&h, e->type);
    hash_istr(&h, description);
    hash_text(&h, meta->data, meta->len);
    char hex[33];
    hash128_hex(hash128_final(&h), hex);
    buf_t *c = &b->copy;
    size_t mark = c->len;
    if (col_i64(c, e->ts_ns, '\t') || col_istr(c, e->service, '\t') || col_istr(c, e->type, '\t') ||
        col_istr(c, description, '\t') || col_text(c, meta->data, meta->len, '\t') ||
        col_text(c, hex, 32, '\n')) {
        rewind_to(c, mark);
        return too_big(err);
    }
    b->records++;
    ingest_batch_add_day(b, e->ts_ns);
    return 0;
}
