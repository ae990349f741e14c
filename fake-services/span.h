/* Spans of the simulated services: random W3C-sized ids, the traceparent header in and out (through
 * common/hexid.h), and the ingest record of a finished span ({"trace_id","span_id","parent_span_id",
 * "service","name","kind","start_time","end_time","status",...} with epoch-nanosecond times). A span_t
 * belongs to one thread. */
#ifndef PS_FAKE_SPAN_H
#define PS_FAKE_SPAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SPAN_TRACE_ID_LEN 32
#define SPAN_ID_LEN 16
#define SPAN_TRACEPARENT_LEN 55

typedef struct {
    char trace_id[SPAN_TRACE_ID_LEN + 1];
    char span_id[SPAN_ID_LEN + 1];
    char parent_id[SPAN_ID_LEN + 1]; /* "" for a root span */
    char name[96];
    const char *kind; /* "SERVER", "CLIENT" or "INTERNAL" (a literal) */
    int64_t start_ns;
    json_t *attributes; /* owned until span_end() */
    json_t *events;     /* owned until span_end(); NULL while empty */
} span_t;

/* Writes `nbytes` random bytes as lowercase hex (2*nbytes digits + NUL) into out; never all zero. */
void span_new_id(char *out, size_t nbytes);
/* Epoch nanoseconds now. */
int64_t span_now_ns(void);

/* Starts a span of `trace_id` under `parent_id` (NULL or "" for a root) with a fresh span id. */
void span_start(span_t *s, const char *trace_id, const char *parent_id, const char *name, const char *kind);
void span_set_str(span_t *s, const char *key, const char *value);
void span_set_int(span_t *s, const char *key, long long value);
/* Records an "exception" event now (OpenTelemetry semantic attributes). */
void span_add_exception(span_t *s, const char *type, const char *message, const char *stacktrace);
/* "00-<trace>-<span>-01" for a call made from inside `s`, into out (56 bytes). */
void span_traceparent(const span_t *s, char out[SPAN_TRACEPARENT_LEN + 1]);
/* Ends the span now and returns its ingest record (caller owns it); `status_message` may be NULL. The
 * span's attributes and events move into the record; the span must not be used afterwards except for
 * its ids. */
json_t *span_end(span_t *s, const char *service, int error, const char *status_message);

#endif
