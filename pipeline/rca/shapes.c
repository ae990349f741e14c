/* Trace shapes (see shapes.h). Spans are matched by (parent id, service, name) for retries and by the
 * http status attributes OTel defines for client errors. */
#include "shapes.h"

#include "alloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_HISTORY_CONFIDENCE 0.25 /* a largest self time with nothing to compare it with */
#define NO_FAULT_CONFIDENCE 0.8

static int same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Case-insensitive search of `needle` (lower case) in the first 4 KiB of `s`. */
static int mentions(const char *s, const char *needle)
{
    if (s == NULL) return 0;
    size_t n = strlen(needle);
    for (size_t i = 0; s[i] && i < 4096; i++) {
        size_t k = 0;
        while (k < n && s[i + k] && tolower((unsigned char)s[i + k]) == needle[k])
            k++;
        if (k == n) return 1;
    }
    return 0;
}

static int has_exception(const rca_span_t *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(s->events, i, e)
    {
        if (same(json_string_value(json_object_get(e, "name")), "exception")) return 1;
    }
    return 0;
}

static int failed(const rca_span_t *s)
{
    return s->status == RCA_STATUS_ERROR || has_exception(s);
}

int rca_shapes_is_timeout(const rca_span_t *span)
{
    static const char *words[] = {"timeout", "timed out", "deadline"};
    for (int w = 0; w < 3; w++) {
        if (mentions(span->status_message, words[w])) return 1;
        size_t i;
        json_t *e;
        json_array_foreach(span->events, i, e)
        {
            json_t *a = json_object_get(e, "attributes");
            if (mentions(json_string_value(json_object_get(a, "exception.type")), words[w]) ||
                mentions(json_string_value(json_object_get(a, "exception.message")), words[w]))
                return 1;
        }
    }
    return 0;
}

/* The HTTP status a span answered or received (OTel's old and new attribute names); 0 when none. */
static long http_status(const rca_span_t *s)
{
    static const char *keys[] = {"http.response.status_code", "http.status_code"};
    for (int k = 0; k < 2; k++) {
        json_t *v = json_object_get(s->attributes, keys[k]);
        if (json_is_integer(v)) return (long)json_integer_value(v);
        if (json_is_string(v)) return strtol(json_string_value(v), NULL, 10);
    }
    return 0;
}

static int client_error(const rca_span_t *s)
{
    long code = http_status(s);
    return code >= 400 && code < 500;
}

/* Marks span i and everything below it (children found by parent id; quadratic in the worst case,
 * bounded by the depth-first stack). */
static void ignore_subtree(const rca_trace_t *tr, uint8_t *ignore, size_t i)
{
    size_t *stack = xmalloc((tr->nspans + 1) * sizeof(size_t)), sp = 0;
    stack[sp++] = i;
    while (sp > 0) {
        size_t k = stack[--sp];
        if (ignore[k]) continue;
        ignore[k] = 1;
        for (size_t c = 0; c < tr->nspans && sp < tr->nspans; c++)
            if (!ignore[c] && tr->spans[c].parent_span_id &&
                same(tr->spans[c].parent_span_id, tr->spans[k].span_id))
                stack[sp++] = c;
    }
    free(stack);
}

/* A failed attempt followed, under the same parent, by a later attempt of the same operation that did
 * not fail: the retry recovered, so the failed attempt (and what failed below it) is not the cause. */
static void mark_recovered(const rca_trace_t *tr, rca_shapes_t *out)
{
    for (size_t i = 0; i < tr->nspans; i++) {
        const rca_span_t *s = &tr->spans[i];
        if (!failed(s) || s->parent_span_id == NULL || out->ignore[i]) continue;
        for (size_t j = 0; j < tr->nspans; j++) {
            const rca_span_t *r = &tr->spans[j];
            if (j == i || failed(r) || r->start_ns < s->end_ns ||
                !same(r->parent_span_id, s->parent_span_id) || !same(r->service, s->service) ||
                !same(r->name, s->name))
                continue;
            ignore_subtree(tr, out->ignore, i);
            out->recovered++;
            break;
        }
    }
}

/* Every entry span OK and every failure a 4xx: the caller handled a client error; nothing is broken. */
static int handled_client_errors(const rca_trace_t *tr)
{
    int any = 0;
    for (size_t i = 0; i < tr->nspans; i++) {
        const rca_span_t *s = &tr->spans[i];
        int root = s->parent_span_id == NULL || *s->parent_span_id == '\0';
        if (root && failed(s)) return 0;
        if (!root && failed(s)) {
            if (!client_error(s)) return 0;
            any = 1;
        }
    }
    for (size_t i = 0; i < tr->nlogs; i++)
        if (tr->logs[i].severity >= 5) return 0;
    return any;
}

static int fell_back(const rca_trace_t *tr)
{
    for (size_t i = 0; i < tr->nlogs; i++)
        if (tr->logs[i].severity >= 4 &&
            (mentions(tr->logs[i].message, "falling back") || mentions(tr->logs[i].message, "fall back") ||
             mentions(tr->logs[i].message, "fallback")))
            return 1;
    for (size_t i = 0; i < tr->nspans; i++) {
        const char *key;
        json_t *v;
        json_object_foreach(tr->spans[i].attributes, key, v)
        {
            if (mentions(key, "fallback") && !json_is_false(v) && !json_is_null(v)) return 1;
        }
    }
    return 0;
}

void rca_shapes_read(const rca_trace_t *tr, rca_shapes_t *out)
{
    memset(out, 0, sizeof(*out));
    out->ignore = xcalloc(tr->nspans + 1, 1);
    out->no_fault = handled_client_errors(tr);
    if (out->no_fault) {
        for (size_t i = 0; i < tr->nspans; i++)
            out->ignore[i] = failed(&tr->spans[i]);
        return;
    }
    mark_recovered(tr, out);
    out->fallback = fell_back(tr);
}

void rca_shapes_dispose(rca_shapes_t *s)
{
    if (s == NULL) return;
    free(s->ignore);
    memset(s, 0, sizeof(*s));
}

int rca_shapes_ignored(const rca_shapes_t *s, const rca_trace_t *tr, const rca_span_t *span)
{
    if (s->ignore == NULL || span < tr->spans || span >= tr->spans + tr->nspans) return 0;
    return s->ignore[span - tr->spans];
}

static void append_summary(json_t *report, const char *sentence)
{
    const char *old = json_string_value(json_object_get(report, "summary"));
    size_t n = (old ? strlen(old) : 0) + strlen(sentence) + 2;
    char *text = xmalloc(n);
    snprintf(text, n, "%s%s%s", old ? old : "", old && *old ? " " : "", sentence);
    json_object_set_new(report, "summary", json_string(text));
    free(text);
}

void rca_shapes_annotate(const rca_shapes_t *s, int slow, int had_history, json_t *report, json_t *evidence)
{
    if (report == NULL) return;
    if (s->no_fault) {
        json_object_set_new(
            report, "summary",
            json_string("No fault: the only failures were client errors (4xx) that the caller "
                        "handled, and the request answered OK."));
        json_object_set_new(report, "explanation", json_string("no fault: handled client errors only"));
        json_object_set_new(report, "impact", json_string("none: the request succeeded"));
        json_object_set_new(report, "verdict", json_string("conclusive"));
        json_object_set_new(report, "confidence", json_real(NO_FAULT_CONFIDENCE));
        json_object_set_new(report, "remediation", json_array());
        if (evidence) json_object_set_new(evidence, "kind", json_string("no_fault"));
        return;
    }
    if (slow && !had_history) {
        append_summary(report, "There was no history for these operations to compare with: this is the "
                               "largest self time on the critical path, not a known regression.");
        json_object_set_new(report, "confidence", json_real(NO_HISTORY_CONFIDENCE));
    }
    if (s->recovered) {
        char note[160];
        snprintf(note, sizeof(note), "%d failed attempt%s recovered by a later retry %s not the cause.",
                 s->recovered, s->recovered > 1 ? "s" : "", s->recovered > 1 ? "are" : "is");
        append_summary(report, note);
    }
}
