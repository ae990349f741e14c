/* OTLP/HTTP JSON: one span (with its events and links) read into an ingest_span_t. */
#include "ingest_otlp_json_int.h"
#include "hexid.h"

#include <string.h>

/* Enum names the JSON mapping may send instead of numbers. */
static const char *const span_kind_names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                              "CLIENT",      "PRODUCER", "CONSUMER"};
static const char *const status_code_names[] = {"UNSET", "OK", "ERROR"};

static int span_status(parser_t *p, ingest_span_t *s)
{
    if (oj_take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        oj_bad_field(p, "status", "expected an object");
        return oj_skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, code = 0;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int rc;
        if (oj_is(&k, "code", NULL))
            rc = oj_read_enum(p, "status.code", "STATUS_CODE_", status_code_names, 3, &code);
        else if (oj_is(&k, "message", NULL))
            rc = oj_read_text(p, "status.message", &p->sp.status_message);
        else
            rc = oj_skip_value(p);
        if (rc != 0) return -1;
    }
    if (m < 0) return oj_syntax_fail(p);
    s->status = ingest_otlp_span_status(code);
    return 0;
}

/* One event {timeUnixNano, name, oj_attributes, droppedAttributesCount} added to the span's list. */
static int span_event(parser_t *p, size_t i)
{
    size_t old = oj_path_push(p, ".events[%zu]", i);
    int rc = -1;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        oj_bad_field(p, NULL, "expected an object");
        rc = oj_skip_value(p);
        goto out;
    }
    jscan_object_begin(&p->j);
    span_bufs_t *sb = &p->sp;
    sb->event_name.s.s = NULL;
    buf_reset(&sb->event_attrs);
    int64_t t = 0;
    uint32_t dropped = 0;
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (oj_is(&k, "timeUnixNano", "time_unix_nano"))
            r = oj_read_time(p, "timeUnixNano", &t);
        else if (oj_is(&k, "name", NULL))
            r = oj_read_text(p, "name", &sb->event_name);
        else if (oj_is(&k, "attributes", NULL))
            r = oj_attributes(p, &sb->event_attrs, "attributes", NULL, NULL, 0);
        else if (oj_is(&k, "droppedAttributesCount", "dropped_attributes_count"))
            r = oj_read_u32(p, "droppedAttributesCount", &dropped);
        else
            r = oj_skip_value(p);
        if (r != 0) goto out;
    }
    if (m < 0) {
        rc = oj_syntax_fail(p);
        goto out;
    }
    rc = 0;
    if (p->bad) goto out;
    ingest_err_t e;
    istr_t attrs = sb->event_attrs.len ? oj_istr_buf(&sb->event_attrs) : ISTR_NONE;
    if (ingest_list_add_event(&sb->events, oj_istr_of(&sb->event_name), t, attrs, dropped, p->path, &e) !=
        0) {
        if (e.status != 400) {
            *p->err = e;
            rc = -1;
        } else if (!p->bad) {
            p->bad = 1;
            p->rej = e;
        }
    }
out:
    oj_path_pop(p, old);
    return rc;
}

/* One link {traceId, spanId, traceState, oj_attributes, droppedAttributesCount, flags}. */
static int span_link(parser_t *p, size_t i)
{
    size_t old = oj_path_push(p, ".links[%zu]", i);
    int rc = -1;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        oj_bad_field(p, NULL, "expected an object");
        rc = oj_skip_value(p);
        goto out;
    }
    jscan_object_begin(&p->j);
    span_bufs_t *sb = &p->sp;
    sb->link_state.s.s = NULL;
    buf_reset(&sb->link_attrs);
    char trace[33] = "", span[17] = "";
    uint32_t dropped = 0, flags = 0;
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (oj_is(&k, "traceId", "trace_id"))
            r = oj_read_id(p, "traceId", TRACE_ID_BYTES, 0, trace);
        else if (oj_is(&k, "spanId", "span_id"))
            r = oj_read_id(p, "spanId", SPAN_ID_BYTES, 0, span);
        else if (oj_is(&k, "traceState", "trace_state"))
            r = oj_read_text(p, "traceState", &sb->link_state);
        else if (oj_is(&k, "attributes", NULL))
            r = oj_attributes(p, &sb->link_attrs, "attributes", NULL, NULL, 0);
        else if (oj_is(&k, "droppedAttributesCount", "dropped_attributes_count"))
            r = oj_read_u32(p, "droppedAttributesCount", &dropped);
        else if (oj_is(&k, "flags", NULL))
            r = oj_read_u32(p, "flags", &flags);
        else
            r = oj_skip_value(p);
        if (r != 0) goto out;
    }
    if (m < 0) {
        rc = oj_syntax_fail(p);
        goto out;
    }
    rc = 0;
    if (p->bad) goto out;
    ingest_err_t e;
    istr_t attrs = sb->link_attrs.len ? oj_istr_buf(&sb->link_attrs) : ISTR_NONE;
    if (ingest_list_add_link(&sb->links, trace, span, oj_istr_of(&sb->link_state), flags, attrs, dropped,
                             p->path, &e) != 0) {
        if (e.status != 400) {
            *p->err = e;
            rc = -1;
        } else if (!p->bad) {
            p->bad = 1;
            p->rej = e;
        }
    }
out:
    oj_path_pop(p, old);
    return rc;
}

/* events or links: an array read one element at a time by `fn`. */
static int span_list(parser_t *p, const char *field, int (*fn)(parser_t *, size_t))
{
    if (oj_take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_ARRAY) {
        oj_bad_field(p, field, "expected an array");
        return oj_skip_value(p);
    }
    jscan_array_begin(&p->j);
    int e;
    size_t i = 0;
    while ((e = jscan_array_next(&p->j)) == 1)
        if (fn(p, i++) != 0) return -1;
    return e < 0 ? oj_syntax_fail(p) : 0;
}

static int span_field(parser_t *p, const jstr_t *k, ingest_span_t *s, int *has_attrs)
{
    span_bufs_t *sb = &p->sp;
    if (oj_is(k, "traceId", "trace_id")) return oj_read_id(p, "traceId", TRACE_ID_BYTES, 0, s->trace_id);
    if (oj_is(k, "spanId", "span_id")) return oj_read_id(p, "spanId", SPAN_ID_BYTES, 0, s->span_id);
    if (oj_is(k, "parentSpanId", "parent_span_id"))
        return oj_read_id(p, "parentSpanId", SPAN_ID_BYTES, 0, s->parent_span_id);
    if (oj_is(k, "name", NULL)) return oj_read_text(p, "name", &sb->name);
    if (oj_is(k, "kind", NULL)) return oj_read_enum(p, "kind", "SPAN_KIND_", span_kind_names, 6, &s->kind);
    if (oj_is(k, "startTimeUnixNano", "start_time_unix_nano"))
        return oj_read_time(p, "startTimeUnixNano", &s->start_ns);
    if (oj_is(k, "endTimeUnixNano", "end_time_unix_nano"))
        return oj_read_time(p, "endTimeUnixNano", &s->end_ns);
    if (oj_is(k, "attributes", NULL)) {
        *has_attrs = 1;
        return oj_attributes(p, &sb->attrs, "attributes", NULL, NULL, 0);
    }
    if (oj_is(k, "traceState", "trace_state")) return oj_read_text(p, "traceState", &sb->trace_state);
    if (oj_is(k, "flags", NULL)) return oj_read_u32(p, "flags", &s->flags);
    if (oj_is(k, "status", NULL)) return span_status(p, s);
    if (oj_is(k, "events", NULL)) {
        s->events = &sb->events;
        return span_list(p, "events", span_event);
    }
    if (oj_is(k, "links", NULL)) {
        s->links = &sb->links;
        return span_list(p, "links", span_link);
    }
    if (oj_is(k, "droppedAttributesCount", "dropped_attributes_count"))
        return oj_read_u32(p, "droppedAttributesCount", &s->dropped_attributes);
    if (oj_is(k, "droppedEventsCount", "dropped_events_count"))
        return oj_read_u32(p, "droppedEventsCount", &s->dropped_events);
    if (oj_is(k, "droppedLinksCount", "dropped_links_count"))
        return oj_read_u32(p, "droppedLinksCount", &s->dropped_links);
    return oj_skip_value(p);
}

int oj_one_span(parser_t *p)
{
    if (jscan_peek(&p->j) != JT_OBJECT) return oj_not_an_object(p);
    span_bufs_t *sb = &p->sp;
    ingest_span_t s;
    memset(&s, 0, sizeof(s));
    s.resource = &p->res;
    s.scope = &p->scope;
    sb->name.s.s = sb->trace_state.s.s = sb->status_message.s.s = NULL;
    ingest_list_reset(&sb->events);
    ingest_list_reset(&sb->links);
    int has_attrs = 0, m;
    jscan_object_begin(&p->j);
    jstr_t k;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1)
        if (span_field(p, &k, &s, &has_attrs) != 0) return -1;
    if (m < 0) return oj_syntax_fail(p);
    if (oj_rejected(p)) return 0;
    s.kind = ingest_otlp_span_kind(s.kind);
    s.name = oj_istr_of(&sb->name);
    s.trace_state = oj_istr_of(&sb->trace_state);
    s.status_message = oj_istr_of(&sb->status_message);
    s.attributes = has_attrs ? oj_istr_buf(&sb->attrs) : ISTR_NONE;
    ingest_err_t e;
    return oj_finish(p, ingest_record_span(p->b, &s, otlp_span_names, p->path, &e), &e);
}
