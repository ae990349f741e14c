/* The one record layer of ingest. Every parser (our JSON, OTLP/HTTP JSON, OTLP protobuf over HTTP or
 * gRPC) decodes its wire format into the typed records below and hands each record to
 * ingest_record_*(), which alone
 *   - checks limits (lengths, times, ids) and the acceptance window of times,
 *   - puts attributes into canonical JSON (keys sorted at every level, compact, numbers normalised),
 *   - with REDACT_AT_INGEST (the batch's `redact`), replaces secrets (redact.h) in free texts and in
 *     every string of attributes, bodies, events and links before anything is hashed or stored,
 *   - computes the record's identity (spans: trace, span and start; logs, metric points and change
 *     events: a content hash over canonical fields), and
 *   - appends the record's COPY row to the batch (ingest_batch.h; columns listed there).
 * So the same record sent through any route is the same row with the same identity: a re-send
 * through another protocol is stored once.
 *
 * Errors: -1 with `err` set. err->status 400 is a bad record (err->path = prefix + "." + the field's
 * name taken from the caller's `names` table); the batch is left exactly as it was, so an OTLP parser
 * may count the record as rejected (partial success) and go on, while our JSON refuses the whole
 * body. err->status 413 means the batch is over its byte cap: the whole body must be refused.
 *
 * Strings are borrowed (istr_t: bytes and length, not NUL-terminated; s == NULL means absent) and
 * only read during the call. Pure: no I/O; any thread (one batch per thread). */
#ifndef PS_INGEST_RECORD_H
#define PS_INGEST_RECORD_H

#include "ingest_batch.h"

#include <stdint.h>

typedef struct {
    const char *s; /* NULL: absent */
    size_t n;
} istr_t;

#define ISTR_NONE ((istr_t){NULL, 0})
#define ISTR_LIT(lit) ((istr_t){(lit), sizeof(lit) - 1})

/* Limits on what one record may carry (each violation is a 400 naming the field). */
#define INGEST_MAX_SERVICE 256
#define INGEST_MAX_NAME 1024
#define INGEST_MAX_LEVEL 32
#define INGEST_MAX_MESSAGE 65536
#define INGEST_MAX_STACK 262144
#define INGEST_MAX_TYPE 64
#define INGEST_MAX_DESCRIPTION 4096
#define INGEST_MAX_ATTR_BYTES 65536 /* canonical JSON of one attribute set */
#define INGEST_MAX_DEPTH 8          /* nesting of attribute values */
#define INGEST_MAX_TRACE_STATE 512
#define INGEST_MAX_BUCKETS 4096 /* histogram buckets / summary quantiles per point */

/* ---------------- shared parts ---------------- */

/* A resource (OTLP): the entity that produced the records. Stored once in the `resources` table and
 * referred to by hash from every row. Fill service and attributes, then call ingest_record_resource(),
 * which sets `hash`. */
typedef struct {
    istr_t service;    /* service.name; absent or empty: "unknown_service" (OTLP's rule) */
    istr_t attributes; /* JSON object text of all resource attributes (any key order) */
    istr_t schema_url;
    uint32_t dropped_attributes;
    char hash[33]; /* set by ingest_record_resource(): identity of the canonical resource */
} ingest_resource_t;

/* The instrumentation scope (OTLP). */
typedef struct {
    istr_t name;
    istr_t version;
} ingest_scope_t;

/* Builds the JSON array of a span's events or links, in the one stored shape:
 *   events: [{"name":s,"time_ns":n,"attributes":{...}[,"dropped_attributes_count":n]}]
 *   links:  [{"trace_id":hex,"span_id":hex[,"trace_state":s][,"flags":n],"attributes":{...}
 *            [,"dropped_attributes_count":n]}]
 * init/reset/dispose like buf_t; `max` caps the JSON text. */
typedef struct {
    buf_t json;
    size_t count;
    int has_exception; /* an event named "exception" was added */
    buf_t scratch;
} ingest_list_t;

void ingest_list_init(ingest_list_t *l, size_t max);
void ingest_list_reset(ingest_list_t *l);
void ingest_list_dispose(ingest_list_t *l);
/* Each returns 0, or -1 with err (400 naming prefix.<field>, or 413). On failure the list is
 * unchanged. */
int ingest_list_add_event(ingest_list_t *l, istr_t name, int64_t time_ns, istr_t attributes,
                          uint32_t dropped_attributes, const char *prefix, ingest_err_t *err);
int ingest_list_add_link(ingest_list_t *l, const char *trace_id, const char *span_id, istr_t trace_state,
                         uint32_t flags, istr_t attributes, uint32_t dropped_attributes, const char *prefix,
                         ingest_err_t *err);

/* ---------------- spans ---------------- */

/* Span kinds, OTLP's numbering (stored as their names: SERVER, CLIENT, ...). */
enum {
    SPAN_KIND_UNSPECIFIED = 0,
    SPAN_KIND_INTERNAL = 1,
    SPAN_KIND_SERVER = 2,
    SPAN_KIND_CLIENT = 3,
    SPAN_KIND_PRODUCER = 4,
    SPAN_KIND_CONSUMER = 5
};

/* Field names of a span as the wire format spells them, for error paths (index: SF_*). */
enum {
    SF_TRACE_ID,
    SF_SPAN_ID,
    SF_PARENT,
    SF_SERVICE,
    SF_NAME,
    SF_START,
    SF_END,
    SF_STATUS_MESSAGE,
    SF_ATTRIBUTES,
    SF_EVENTS,
    SF_LINKS,
    SF_TRACE_STATE,
    SF_COUNT
};

typedef struct {
    const ingest_resource_t *resource; /* NULL: none (our JSON) */
    const ingest_scope_t *scope;       /* NULL: none */
    char trace_id[33];                 /* lowercase hex (hexid.h); required */
    char span_id[17];                  /* required */
    char parent_span_id[17];           /* "" when a root span */
    istr_t trace_state;
    uint32_t flags;
    istr_t service; /* absent: the resource's service */
    istr_t name;
    int kind; /* SPAN_KIND_* */
    int64_t start_ns, end_ns;
    int status; /* SPAN_STATUS_* (ingest_batch.h) */
    istr_t status_message;
    istr_t attributes;           /* JSON object text; absent: {} */
    const ingest_list_t *events; /* NULL: none */
    const ingest_list_t *links;  /* NULL: none */
    uint32_t dropped_attributes, dropped_events, dropped_links;
} ingest_span_t;

int ingest_record_span(ingest_batch_t *b, const ingest_span_t *s, const char *const names[SF_COUNT],
                       const char *prefix, ingest_err_t *err);

/* ---------------- logs ---------------- */

enum {
    LF_TIME,
    LF_SERVICE,
    LF_LEVEL,
    LF_MESSAGE,
    LF_TRACE_ID,
    LF_SPAN_ID,
    LF_STACK,
    LF_ATTRIBUTES,
    LF_BODY,
    LF_EVENT_NAME,
    LF_COUNT
};

typedef struct {
    const ingest_resource_t *resource;
    const ingest_scope_t *scope;
    int64_t ts_ns;       /* the record's time; 0: unknown, observed_ns is used */
    int64_t observed_ns; /* 0: not sent */
    istr_t service;      /* absent: the resource's service */
    istr_t level;        /* as sent; absent: the name of `severity` */
    int severity;        /* class 1..6 (ingest_severity_*); required */
    int severity_number; /* OTLP's 1..24; 0 when not sent */
    istr_t message;      /* the body as text ("" allowed) */
    istr_t body;         /* JSON text of a body that is not a string (map, array, number...); else absent */
    char trace_id[33];   /* "" when none */
    char span_id[17];    /* "" when none */
    istr_t stack_trace;
    istr_t attributes; /* JSON object text; absent: {} */
    istr_t event_name;
    uint32_t flags, dropped_attributes;
} ingest_log_t;

int ingest_record_log(ingest_batch_t *b, const ingest_log_t *l, const char *const names[LF_COUNT],
                      const char *prefix, ingest_err_t *err);

/* Severity classes stored in logs.severity. */
enum { SEV_TRACE = 1, SEV_DEBUG, SEV_INFO, SEV_WARN, SEV_ERROR, SEV_FATAL };
/* Class of a level name (TRACE, DEBUG, INFO, WARN/WARNING, ERROR, FATAL/CRITICAL/PANIC, any case); 0
 * when unknown. */
int ingest_severity_of_level(const char *level, size_t n);
/* Class of OTLP's SeverityNumber 1..24; 0 for 0 (unspecified) or out of range. */
int ingest_severity_of_number(int64_t number);
/* "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL" for classes 1..6. */
const char *ingest_severity_name(int severity);

/* ---------------- metric points ---------------- */

typedef enum {
    METRIC_GAUGE = 0,
    METRIC_SUM = 1,
    METRIC_HISTOGRAM = 2,
    METRIC_EXP_HISTOGRAM = 3,
    METRIC_SUMMARY = 4
} ingest_metric_kind_t;

/* OTLP's AggregationTemporality numbering. */
enum { TEMPORALITY_UNSPECIFIED = 0, TEMPORALITY_DELTA = 1, TEMPORALITY_CUMULATIVE = 2 };

typedef struct {
    uint64_t count;
    double sum, min, max;
    int has_sum, has_min, has_max;
    const double *bounds; /* nbounds explicit bounds */
    size_t nbounds;
    const uint64_t *counts; /* nbounds + 1 bucket counts (or 0 when none were sent) */
    size_t ncounts;
} ingest_histogram_t;

typedef struct {
    uint64_t count;
    double sum, min, max;
    int has_sum, has_min, has_max;
    int32_t scale;
    uint64_t zero_count;
    double zero_threshold;
    int32_t positive_offset, negative_offset;
    const uint64_t *positive, *negative;
    size_t npositive, nnegative;
} ingest_exp_histogram_t;

typedef struct {
    uint64_t count;
    double sum;
    const double *quantiles, *values; /* n pairs */
    size_t n;
} ingest_summary_t;

enum { MF_TIME, MF_SERVICE, MF_NAME, MF_VALUE, MF_LABELS, MF_START, MF_BUCKETS, MF_COUNT };

/* One point. `value`: gauges and sums their value; histograms, exponential histograms and summaries
 * their count (their shape goes in the `hist` column as JSON, from the pointer of their kind). */
typedef struct {
    const ingest_resource_t *resource;
    const ingest_scope_t *scope;
    istr_t service; /* absent: the resource's service */
    istr_t name;
    istr_t unit;
    ingest_metric_kind_t kind;
    int temporality;  /* TEMPORALITY_*; gauges: unspecified */
    int monotonic;    /* sums */
    int64_t start_ns; /* 0: not sent */
    int64_t ts_ns;
    double value;
    istr_t labels; /* JSON object text; absent: {} */
    const ingest_histogram_t *histogram;
    const ingest_exp_histogram_t *exp_histogram;
    const ingest_summary_t *summary;
} ingest_metric_t;

int ingest_record_metric(ingest_batch_t *b, const ingest_metric_t *m, const char *const names[MF_COUNT],
                         const char *prefix, ingest_err_t *err);

/* ---------------- change events (our JSON only) ---------------- */

enum { EF_TIME, EF_SERVICE, EF_TYPE, EF_DESCRIPTION, EF_META, EF_COUNT };

typedef struct {
    int64_t ts_ns;
    istr_t service; /* absent: the event concerns no one service */
    istr_t type;
    istr_t description;
    istr_t meta; /* JSON object text; absent: {} */
} ingest_change_t;

int ingest_record_change(ingest_batch_t *b, const ingest_change_t *e, const char *const names[EF_COUNT],
                         const char *prefix, ingest_err_t *err);

/* ---------------- resources ---------------- */

/* Canonicalises the resource, sets r->hash, and adds the resource to the batch's resources (once per
 * batch; the writer stores each in the `resources` table before the rows). Returns 0, or -1 with err
 * naming prefix.<attributes|service.name>. */
int ingest_record_resource(ingest_batch_t *b, ingest_resource_t *r, const char *prefix, ingest_err_t *err);

#endif
