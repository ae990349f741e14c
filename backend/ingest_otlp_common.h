/* OpenTelemetry semantics shared by the two OTLP encodings (protobuf: ingest_otlp_proto.c, JSON:
 * ingest_otlp_json.c), so one record sent either way becomes the same record (ingest_record.h):
 *   - AnyValue → JSON text: string, bool, int (exact int64; a JSON intValue string past 64 bits is
 *     kept as its digits), double (shortest exact form; NaN/±Infinity as strings, see jwrite.h), bytes
 *     (base64 string, OTLP's JSON form), array, kvlist (object, pairs in the order sent); an AnyValue
 *     with no value set is null;
 *   - resource → service: the string value of the resource attribute service.name; absent (the layer
 *     then stores "unknown_service") when missing, empty or not a string;
 *   - severity: SeverityNumber → class, else severityText → class, else INFO; the level stored is
 *     severityText as sent when present and at most INGEST_MAX_LEVEL bytes, else the class name;
 *   - a log's body: a string is the message; any other value is stored as JSON text (body column) and
 *     its compact JSON text is the message; no body is the empty message;
 *   - a log attribute "exception.stacktrace" with a string value is taken out of the attributes into
 *     the log's stack_trace;
 *   - span kind and status code: OTLP's numbers (unknown kinds unspecified, unknown codes unset).
 * The error signals (log severity >= ERROR with a trace id, span status ERROR, an "exception" event)
 * are derived by the record layer itself from these fields.
 *
 * The encodings reach their values through otlp_any_ops_t, so the rules above are written once.
 * Pure; any thread. */
#ifndef PS_INGEST_OTLP_COMMON_H
#define PS_INGEST_OTLP_COMMON_H

#include "ingest_record.h"

#include <stdint.h>

/* Conversion of AnyValue nesting stops with a 400 past this depth (a guard for the recursion; the
 * stored limit, INGEST_MAX_DEPTH, is checked by the record layer with its own 400). */
#define OTLP_ANY_MAX_DEPTH (INGEST_MAX_DEPTH + 8)

typedef enum {
    OTLP_ANY_EMPTY = 0, /* no value set: null */
    OTLP_ANY_STRING,    /* str */
    OTLP_ANY_BOOL,      /* b */
    OTLP_ANY_INT,       /* i */
    OTLP_ANY_INT_TEXT,  /* str: decimal digits as sent that do not fit 64 bits (JSON only) */
    OTLP_ANY_DOUBLE,    /* d */
    OTLP_ANY_BYTES,     /* str: raw bytes (protobuf). JSON's bytesValue is already base64: STRING */
    OTLP_ANY_ARRAY,     /* n values, read with ops->array_item */
    OTLP_ANY_KVLIST     /* n pairs, read with ops->kv_item on `list` */
} otlp_any_type_t;

typedef struct {
    otlp_any_type_t type;
    istr_t str;
    int64_t i;
    double d;
    int b;
    size_t n;         /* ARRAY, KVLIST */
    const void *list; /* ARRAY, KVLIST: the encoding's handle of the elements */
} otlp_any_t;

/* How one encoding exposes its AnyValues. Handles are the encoding's own pointers (a protobuf-c
 * message, a json_t...), borrowed. */
typedef struct {
    /* Reads the value behind handle v (NULL: an absent value, read as EMPTY). */
    void (*read)(const void *v, otlp_any_t *out);
    /* The handle of the i-th (< n) value of an array `list`. */
    const void *(*array_item)(const void *list, size_t i);
    /* The i-th (< n) pair of a key-value list `list`: its key (s == NULL: no key, the pair is skipped)
     * and the handle of its value. */
    const void *(*kv_item)(const void *list, size_t i, istr_t *key);
} otlp_any_ops_t;

/* Sets err (status, path, printf reason) and returns -1. */
int ingest_otlp_fail(ingest_err_t *err, int status, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends the JSON text of AnyValue v to out. Returns 0, or -1 with a 400 at `path` when out's cap is
 * reached ("longer than <cap> bytes") or the value nests deeper than OTLP_ANY_MAX_DEPTH; out is then
 * left as it was. */
int ingest_otlp_any_json(buf_t *out, const otlp_any_ops_t *ops, const void *v, const char *path,
                         ingest_err_t *err) __attribute__((warn_unused_result));

/* Appends the JSON object of the n pairs of key-value list `list` (attributes, labels). When `stack`
 * is not NULL, a pair "exception.stacktrace" whose value is a string is left out of the object and
 * its value returned in *stack (borrowed from the encoding; ISTR_NONE when there is none). Returns 0,
 * or -1 with a 400 at `path` as ingest_otlp_any_json(). */
int ingest_otlp_attrs_json(buf_t *out, const otlp_any_ops_t *ops, const void *list, size_t n, istr_t *stack,
                           const char *path, ingest_err_t *err) __attribute__((warn_unused_result));

/* The service of a resource from its n attribute pairs; ISTR_NONE when service.name is missing, not a
 * string or empty (the record layer then uses "unknown_service"). Borrowed from the encoding. */
istr_t ingest_otlp_service(const otlp_any_ops_t *ops, const void *attrs, size_t n);

/* Severity class (SEV_*) of a log from its SeverityNumber (0: not sent) and severityText (ISTR_NONE or
 * empty: not sent); *level is the level to store (borrows `text` or a static class name). */
int ingest_otlp_severity(int64_t number, istr_t text, istr_t *level);

/* A log's body: *message and *body_json are set; a string body is the message (borrowed, body_json
 * absent); an absent or empty body is the message ""; any other value's JSON text is written to
 * `scratch` (reset first) and is both. Returns 0, or -1 with a 400 at `path` (too deep, or longer
 * than scratch's cap). */
int ingest_otlp_log_body(buf_t *scratch, const otlp_any_ops_t *ops, const void *body, istr_t *message,
                         istr_t *body_json, const char *path, ingest_err_t *err)
    __attribute__((warn_unused_result));

/* SPAN_KIND_* of OTLP's Span.kind number (outside 0..5: unspecified). */
int ingest_otlp_span_kind(int64_t kind);
/* SPAN_STATUS_* of OTLP's Status.code (1 OK, 2 ERROR, anything else unset). */
int ingest_otlp_span_status(int64_t code);

/* OTLP's field names (its JSON mapping's lowerCamelCase) of the record layer's fields, for the error
 * paths of both encodings (ingest_record.h: SF_*, LF_*). */
extern const char *const otlp_span_names[SF_COUNT];
extern const char *const otlp_log_names[LF_COUNT];

#endif
