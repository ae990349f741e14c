/* Span ids, traceparent and span records (see span.h). */
#include "span.h"
#include "hexid.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void span_new_id(char *out, size_t nbytes)
{
    unsigned char b[16];
    if (nbytes > sizeof(b)) nbytes = sizeof(b);
    if (getrandom(b, nbytes, 0) != (ssize_t)nbytes) {
        /* getrandom only fails before the kernel's pool is ready; the clock is unique enough for a fake */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
        for (size_t i = 0; i < nbytes; i++, x = x * 6364136223846793005ull + 1442695040888963407ull)
            b[i] = (unsigned char)(x >> 56);
    }
    b[nbytes - 1] |= 1; /* W3C: an all-zero id is invalid */
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

int64_t span_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void span_start(span_t *s, const char *trace_id, const char *parent_id, const char *name, const char *kind)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->trace_id, sizeof(s->trace_id), "%s", trace_id);
    span_new_id(s->span_id, SPAN_ID_LEN / 2);
    if (parent_id) snprintf(s->parent_id, sizeof(s->parent_id), "%s", parent_id);
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->kind = kind;
    s->attributes = json_object();
    s->start_ns = span_now_ns();
}

void span_set_str(span_t *s, const char *key, const char *value)
{
    json_object_set_new(s->attributes, key, json_string(value ? value : ""));
}

void span_set_int(span_t *s, const char *key, long long value)
{
    json_object_set_new(s->attributes, key, json_integer((json_int_t)value));
}

void span_add_exception(span_t *s, const char *type, const char *message, const char *stacktrace)
{
    if (s->events == NULL) s->events = json_array();
    json_array_append_new(s->events, json_pack("{s:s,s:I,s:{s:s,s:s,s:s}}", "name", "exception", "time",
                                               (json_int_t)span_now_ns(), "attributes", "exception.type",
                                               type, "exception.message", message ? message : "",
                                               "exception.stacktrace", stacktrace ? stacktrace : ""));
}

void span_traceparent(const span_t *s, char out[SPAN_TRACEPARENT_LEN + 1])
{
    traceparent_format(s->trace_id, s->span_id, out);
}

json_t *span_end(span_t *s, const char *service, int error, const char *status_message)
{
    int64_t end = span_now_ns();
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:o}", "trace_id", s->trace_id, "span_id", s->span_id,
                  "service", service, "name", s->name, "kind", s->kind, "start_time", (json_int_t)s->start_ns,
                  "end_time", (json_int_t)(end > s->start_ns ? end : s->start_ns), "status",
                  error ? "ERROR" : "OK", "attributes", s->attributes);
    s->attributes = NULL;
    if (s->parent_id[0]) json_object_set_new(o, "parent_span_id", json_string(s->parent_id));
    if (status_message) json_object_set_new(o, "status_message", json_string(status_message));
    if (s->events) json_object_set_new(o, "events", s->events);
    s->events = NULL;
    return o;
}
