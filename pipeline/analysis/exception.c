/* Exceptions of spans (see exception.h). */
#include "exception.h"
#include "alloc.h"
#include "strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS_JSON (1024 * 1024) /* events text past this is not parsed */

static json_t *load_events(const analysis_span_t *s)
{
    if (s->events_json == NULL || strstr(s->events_json, "exception") == NULL) return NULL;
    size_t n = strlen(s->events_json);
    if (n > MAX_EVENTS_JSON) return NULL;
    json_t *ev = json_loadb(s->events_json, n, 0, NULL);
    if (!json_is_array(ev)) {
        json_decref(ev);
        return NULL;
    }
    return ev;
}

static int is_exception_event(json_t *e)
{
    json_t *attrs = json_object_get(e, "attributes");
    const char *name = json_string_value(json_object_get(e, "name"));
    if (name && strcmp(name, "exception") == 0) return 1;
    return json_object_get(attrs, "exception.type") || json_object_get(attrs, "exception.message");
}

static int64_t event_time(json_t *e)
{
    json_t *t = json_object_get(e, "time");
    if (t == NULL) t = json_object_get(e, "time_ns");
    if (json_is_integer(t)) return json_integer_value(t);
    if (json_is_real(t)) return (int64_t)json_real_value(t);
    if (json_is_string(t)) return strtoll(json_string_value(t), NULL, 10);
    return 0;
}

/* The last exception event by time (the later one in the array on a tie), borrowed from ev. */
static json_t *last_exception_event(json_t *ev)
{
    json_t *best = NULL, *e;
    int64_t best_t = 0;
    size_t i;
    json_array_foreach(ev, i, e)
    {
        if (!json_is_object(e) || !is_exception_event(e)) continue;
        int64_t t = event_time(e);
        if (best == NULL || t >= best_t) {
            best = e;
            best_t = t;
        }
    }
    return best;
}

int analysis_span_has_exception(const analysis_span_t *s)
{
    json_t *ev = load_events(s);
    int found = ev && last_exception_event(ev) != NULL;
    json_decref(ev);
    return found;
}

static void copy_slice(char *dst, size_t cap, an_slice_t s)
{
    an_copy(dst, cap, s.p, s.n);
}

static void copy_str(char *dst, size_t cap, const char *s)
{
    an_copy(dst, cap, s, s ? strlen(s) : 0);
}

/* Parses `text` into out->stack; fills what the event or log did not say. Returns 1 when parsed. */
static int take_stack(analysis_exc_info_t *out, const char *text)
{
    size_t n = strlen(text);
    if (n > ANALYSIS_ST_MAX_INPUT) n = an_utf8_cut(text, n, ANALYSIS_ST_MAX_INPUT);
    char *copy = xstrndup(text, n);
    if (analysis_stacktrace_parse(copy, n, &out->stack) != 0) {
        free(copy);
        return 0;
    }
    free(out->text);
    out->text = copy;
    out->has_stack = 1;
    const analysis_exception_t *top = &out->stack.chain[0], *root = analysis_stacktrace_root(&out->stack);
    if (out->type[0] == '\0') copy_slice(out->type, sizeof(out->type), top->type);
    if (out->message[0] == '\0') copy_slice(out->message, sizeof(out->message), top->message);
    copy_slice(out->root_type, sizeof(out->root_type), root->type);
    copy_slice(out->root_message, sizeof(out->root_message), root->message);
    const analysis_frame_t *f = analysis_stacktrace_app_frame(&out->stack);
    if (f) {
        out->has_frame = 1;
        copy_slice(out->frame_function, sizeof(out->frame_function), f->function);
        copy_slice(out->frame_file, sizeof(out->frame_file), f->file);
        out->frame_line = f->line;
    }
    return 1;
}

static int from_event(const analysis_tree_t *t, int x, analysis_exc_info_t *out)
{
    const analysis_span_t *s = t->nodes[x].span;
    json_t *ev = load_events(s);
    json_t *e = ev ? last_exception_event(ev) : NULL;
    if (e == NULL) {
        json_decref(ev);
        return 0;
    }
    json_t *attrs = json_object_get(e, "attributes");
    snprintf(out->source, sizeof(out->source), "span:%.80s", s->span_id);
    copy_str(out->type, sizeof(out->type), json_string_value(json_object_get(attrs, "exception.type")));
    copy_str(out->message, sizeof(out->message),
             json_string_value(json_object_get(attrs, "exception.message")));
    const char *st = json_string_value(json_object_get(attrs, "exception.stacktrace"));
    if (st == NULL || !take_stack(out, st)) {
        copy_str(out->root_type, sizeof(out->root_type), out->type);
        copy_str(out->root_message, sizeof(out->root_message), out->message);
    }
    json_decref(ev);
    out->present = out->type[0] || out->message[0] || out->has_stack;
    return out->present;
}

/* The first error log of the span with a stack trace (its stack_trace column, else a message that
 * holds one). */
static int from_logs(const analysis_logs_t *logs, int x, analysis_exc_info_t *out)
{
    for (int pass = 0; pass < 2; pass++)
        for (int k = logs->first[x]; k < logs->first[x + 1]; k++) {
            const analysis_logref_t *r = &logs->logs[logs->of_node[k]];
            if (r->severity < ANALYSIS_SEV_ERROR) continue;
            const char *text = pass == 0 ? r->log->stack_trace : r->log->message;
            if (text == NULL || text[0] == '\0' || (pass == 1 && strchr(text, '\n') == NULL)) continue;
            if (!take_stack(out, text)) continue;
            analysis_log_id((size_t)logs->of_node[k], out->source, sizeof(out->source));
            out->present = 1;
            return 1;
        }
    return 0;
}

int analysis_exception_of(const analysis_tree_t *t, const analysis_logs_t *logs, int x,
                          analysis_exc_info_t *out)
{
    memset(out, 0, sizeof(*out));
    if (x < 0 || (size_t)x >= t->nnodes) return 0;
    if (!from_event(t, x, out)) {
        analysis_exc_info_dispose(out);
        memset(out, 0, sizeof(*out));
        from_logs(logs, x, out);
    }
    return 0;
}

void analysis_exc_info_dispose(analysis_exc_info_t *e)
{
    if (e == NULL) return;
    free(e->text);
    e->text = NULL;
    e->has_stack = 0;
}
