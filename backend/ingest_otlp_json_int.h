/* Internal to the OTLP/HTTP JSON parser (ingest_otlp_json*.c): its state and the readers its files
 * share. The public entry point is ingest_json_otlp() in ingest_json.h. Pure; one parser per call. */
#ifndef PS_INGEST_OTLP_JSON_INT_H
#define PS_INGEST_OTLP_JSON_INT_H

#include "ingest_json.h"
#include "ingest_otlp_common.h"
#include "ingest_record.h"
#include "jscan.h"

#include <stddef.h>
#include <stdint.h>

/* Skipping an unknown value may nest this deep; attribute values are bounded by INGEST_MAX_DEPTH. */
#define SCAN_MAX_DEPTH 64
/* AnyValue conversion stops past this depth (a bound on the recursion, the protobuf decoder's too);
 * the stored limit of INGEST_MAX_DEPTH levels is the record layer's, so both formats refuse the same
 * values. */
#define CONVERT_MAX_DEPTH OTLP_ANY_MAX_DEPTH
/* Attribute JSON past this is refused before the record layer sees it (its own cap is canonical). */
#define ATTR_CAP (INGEST_MAX_ATTR_BYTES + 1024)
/* JSON text of values whose decoded size is bounded elsewhere: escapes may take 6 bytes per byte. */
#define BODY_CAP (6 * INGEST_MAX_MESSAGE + 1024)
#define SPILL_CAP (6 * INGEST_MAX_STACK + 1024)
#define LIST_CAP (4 * 1024 * 1024)
#define ARRAY_CAP ((INGEST_MAX_BUCKETS + 1) * sizeof(double))

/* A string field: a slice of the body, or decoded into `buf` when it had escapes. s.s NULL: absent. */
typedef struct {
    jstr_t s;
    buf_t buf;
} text_t;

/* What a log record or span carries besides its scalar fields; kept in the parser so buffers are
 * reused from record to record. */
typedef struct {
    text_t name, trace_state, status_message;
    buf_t attrs, event_attrs, link_attrs;
    text_t event_name, link_state;
    ingest_list_t events, links;
} span_bufs_t;

typedef struct {
    text_t level, event_name, stack, message; /* message: a string body */
    buf_t body, attrs;
} log_bufs_t;

typedef struct {
    text_t name, unit;
    buf_t labels;
    buf_t bounds, counts, positive, negative, quantiles, values; /* arrays of double / uint64_t */
} metric_bufs_t;

/* The envelopes whose errors every record inside them inherits. */
enum { CTX_RESOURCE, CTX_SCOPE, CTX_METRIC, CTX_COUNT };

typedef struct {
    jscan_t j;
    ingest_batch_t *b;
    ingest_err_t *err; /* why the whole body is refused */
    size_t max_records, leaves;
    size_t text_cap; /* a decoded string is never longer than the body: never truncated */
    buf_t key, str, bytes, spill;
    char path[256];
    size_t plen;
    int bad;                /* the current record has a bad field: */
    ingest_err_t rej;       /* the first one */
    int ctx_bad[CTX_COUNT]; /* a resource, scope or metric was refused: so is each of its records */
    ingest_err_t ctx_err[CTX_COUNT];
    ingest_resource_t res;
    text_t service, schema_url;
    buf_t res_attrs;
    ingest_scope_t scope;
    text_t scope_name, scope_version;
    span_bufs_t sp;
    log_bufs_t lg;
    metric_bufs_t mt;
} parser_t;

/* Children met before the context they need: where they start, to come back to them. */
typedef struct {
    int pending;
    jscan_t at;
} later_t;

/* ---- ingest_otlp_json_read.c: paths, errors, values of the JSON mapping ----
 * Every reader consumes the value at the scanner and returns -1 only when the whole body is refused
 * (malformed JSON; p->err set). A value of the wrong type is consumed and marks the record bad
 * (oj_bad_field); null reads as absent. */

/* Refuses the body: malformed JSON, with the byte position. Returns -1. */
int oj_syntax_fail(parser_t *p);
/* An envelope of the wrong type refuses the body (400 at `path`), unless the body is malformed there.
 * Returns -1. */
int oj_envelope_fail(parser_t *p, const char *path, const char *expected);
/* A bad field of the current record, at p->path + "." + field (NULL: the record itself); the first
 * one is kept. */
void oj_bad_field(parser_t *p, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends to p->path; returns the length to give back to oj_path_pop(). */
size_t oj_path_push(parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void oj_path_pop(parser_t *p, size_t old);

/* Key match: the lowerCamelCase name or the proto's snake_case name (NULL when the same). */
int oj_is(const jstr_t *k, const char *camel, const char *snake);
/* The text (ISTR_NONE when absent) or the buffer's bytes as a record's string, borrowed. */
istr_t oj_istr_of(const text_t *t);
istr_t oj_istr_buf(const buf_t *b);

/* Skips (and validates) any value. */
int oj_skip_value(parser_t *p);
/* Consumes null and returns 1, or 0 when the value is not null. */
int oj_take_null(parser_t *p);
int oj_read_text(parser_t *p, const char *field, text_t *t);
/* Integers as numbers or decimal strings (int64/uint64/fixed64 in the JSON mapping); out is left
 * as it was when absent. */
int oj_read_u64(parser_t *p, const char *field, uint64_t *out);
int oj_read_u32(parser_t *p, const char *field, uint32_t *out);
int oj_read_i64(parser_t *p, const char *field, int64_t *out);
/* Epoch nanoseconds (fixed64): a number or a decimal string; an RFC 3339 string is tolerated. The
 * record layer checks the range. */
int oj_read_time(parser_t *p, const char *field, int64_t *ns);
/* A double: a number, or a string holding a number, "NaN", "Infinity" or "-Infinity". */
int oj_read_double(parser_t *p, const char *field, double *out, int *present);
int oj_read_bool(parser_t *p, const char *field, int *out);
/* An enum: its number, or its name (with or without the enum's prefix, e.g. "SPAN_KIND_SERVER" or
 * "SERVER"); names[i] is the name of value i (NULL: no such value). */
int oj_read_enum(parser_t *p, const char *field, const char *prefix, const char *const *names, int n,
                 int *out);
/* A trace or span id into out (2*nbytes+1 bytes) in lowercase hex; "" when absent or empty, and when
 * all zero with zero_is_absent (a log's "no trace context", as the protobuf decoder reads it). */
int oj_read_id(parser_t *p, const char *field, size_t nbytes, int zero_is_absent, char *out);

/* One AnyValue as plain JSON appended to `out` (ingest_otlp_common.h's rules): strings, booleans,
 * numbers, base64 strings for bytes, arrays, objects; an empty AnyValue is null. `raw` (may be NULL)
 * gets the text of a stringValue. `depth`: the level of the JSON value written (an attribute set is
 * level 1). Past out's cap the record is bad ("larger than"). */
int oj_any_value(parser_t *p, buf_t *out, int depth, const char *field, text_t *raw);
/* An attribute set [KeyValue] as a JSON object into `out` (reset first). `special` (may be NULL)
 * names a key whose string value is copied to `special_raw`, and left out of the object when
 * drop_special. */
int oj_attributes(parser_t *p, buf_t *out, const char *field, const char *special, text_t *special_raw,
                  int drop_special);

/* ---- ingest_otlp_json.c: records and envelopes ---- */

/* Before a record: counts it (past max_records the body is refused with a 413) and clears its error.
 * Returns 0, or -1 to refuse the body. */
int oj_record_begin(parser_t *p, const char *top);
/* After reading a record: 1 when it has a bad field, or its resource, scope or metric had one; it is
 * then counted as rejected (ingest_batch_reject). */
int oj_rejected(parser_t *p);
/* The problem found while reading an envelope's own fields becomes its records' (the first one is
 * kept). */
void oj_take_ctx(parser_t *p, int level);
/* The record layer's answer `rc` / `layer_err`: a 400 rejects the record (counted); anything else
 * refuses the body (-1). */
int oj_finish(parser_t *p, int rc, const ingest_err_t *layer_err);
/* A record that is not an object: rejected and skipped. */
int oj_not_an_object(parser_t *p);
/* Children met before their context: keeps where they start and skips them. */
int oj_defer(parser_t *p, later_t *l);

/* ---- one record each (ingest_otlp_json_{spans,logs,metrics}.c): read at the scanner, then handed to
 * the record layer or rejected. -1 only when the body is refused. ---- */

int oj_one_span(parser_t *p);
int oj_one_log(parser_t *p);
/* One metric {name, description, unit, gauge|sum|histogram|exponentialHistogram|summary}: every data
 * point is one record. Its name and unit are read before its points (exporters write them first). */
int oj_one_metric(parser_t *p);

#endif
