/* The deterministic report, written in plain English from the evidence object alone (see
 * evidence.h): whatever it says can be traced to a field of the evidence. */
#include "evidence.h"
#include "buf.h"
#include "signals.h"
#include "strutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SENTENCE_MAX 4096
#define REPORT_LOG_IDS 10 /* cited log ids listed in the report's evidence */

static const char *gs(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static double gnum(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static void ms_text(double ms, char *out, size_t outlen)
{
    an_fmt_duration((int64_t)llround(ms * 1e6), out, outlen);
}

/* "inventory → payment → gateway" from the propagation path, consecutive repeats collapsed. */
static void chain_text(const json_t *ev, buf_t *b)
{
    const json_t *path = json_object_get(ev, "propagation_path"), *p;
    const char *prev = NULL;
    size_t i;
    json_array_foreach(path, i, p)
    {
        const char *svc = gs(p, "service");
        if (svc == NULL || (prev && strcmp(prev, svc) == 0)) continue;
        buf_printf(b, "%s%s", prev ? " \u2192 " : "", svc);
        prev = svc;
    }
}

/* "TimeoutException: db timeout after 3000 ms" (type and message of the root-cause span). */
static void exception_text(const json_t *exc, const json_t *root, buf_t *b)
{
    const char *type = gs(exc, "type"), *msg = gs(exc, "message");
    if (exc && type && *type) {
        buf_printf(b, "%s%s%s", type, msg && *msg ? ": " : "", msg ? msg : "");
        const char *rt = gs(exc, "root_cause_type"), *rm = gs(exc, "root_cause_message");
        if (rt && *rt && strcmp(rt, type) != 0)
            buf_printf(b, " (caused by %s%s%s)", rt, rm && *rm ? ": " : "", rm ? rm : "");
    } else if (gs(root, "status_message")) {
        buf_printf(b, "error status: %s", gs(root, "status_message"));
    } else {
        buf_append_str(b, "an error status");
    }
}

static void summary_error(const json_t *ev, const json_t *root, buf_t *b)
{
    const json_t *exc = json_object_get(root, "exception");
    const json_t *caller = json_object_get(root, "caused_timeout_in");
    char dur[48];
    if (caller) {
        ms_text(gnum(root, "duration_ms"), dur, sizeof(dur));
        buf_printf(b,
                   "%s was slow in span %s (%s): it ran for %s and was still running when %s gave up in %s",
                   gs(root, "service"), gs(root, "span_id"), gs(root, "operation"), dur,
                   gs(caller, "service"), gs(caller, "operation"));
        if (gs(caller, "status_message")) buf_printf(b, " (%s)", gs(caller, "status_message"));
    } else {
        buf_printf(b, "%s failed in span %s (%s) with ", gs(root, "service"), gs(root, "span_id"),
                   gs(root, "operation"));
        exception_text(exc, root, b);
    }
    buf_append_str(b, "; the failure propagated ");
    chain_text(ev, b);
    const json_t *vi = json_object_get(ev, "verdict_inputs");
    if (!json_is_true(json_object_get(vi, "surfaced"))) buf_append_str(b, ", where a caller returned OK");
    buf_append_str(b, ".");
}

static void summary_slow(const json_t *ev, const json_t *root, buf_t *b)
{
    char self[48], total[48], base[48];
    ms_text(gnum(root, "self_ms"), self, sizeof(self));
    ms_text(gnum(json_object_get(ev, "window"), "duration_ms"), total, sizeof(total));
    buf_printf(b, "%s was slow in span %s (%s): %s of its own time on the critical path of a %s trace",
               gs(root, "service"), gs(root, "span_id"), gs(root, "operation"), self, total);
    if (json_is_number(json_object_get(root, "baseline_p50_ms"))) {
        ms_text(gnum(root, "baseline_p50_ms"), base, sizeof(base));
        buf_printf(b, ", against a usual %s for this operation", base);
    }
    buf_append_str(b, ".");
}

static json_t *summary(const json_t *ev)
{
    const json_t *root = json_object_get(ev, "root_cause");
    const char *kind = gs(ev, "kind");
    buf_t b;
    buf_init(&b, SENTENCE_MAX);
    if (!json_is_object(root))
        buf_printf(&b,
                   "No failing span and no clearly slow span was found in trace %s; the evidence is "
                   "inconclusive.",
                   gs(ev, "trace_id"));
    else if (kind && strcmp(kind, "slow") == 0)
        summary_slow(ev, root, &b);
    else
        summary_error(ev, root, &b);
    json_t *s = an_json_str(b.data, b.len, SENTENCE_MAX, NULL);
    buf_dispose(&b);
    return s;
}

static json_t *impact(const json_t *ev)
{
    const json_t *entry = json_object_get(ev, "entry"), *counts = json_object_get(ev, "counts");
    const json_t *retries = json_object_get(ev, "retries");
    const char *kind = gs(ev, "kind");
    char dur[48];
    buf_t b;
    buf_init(&b, SENTENCE_MAX);
    if (!json_is_object(entry)) {
        buf_append_str(&b, "The trace has no spans.");
    } else {
        ms_text(gnum(entry, "duration_ms"), dur, sizeof(dur));
        const char *st = gs(entry, "status");
        const char *outcome = kind && strcmp(kind, "slow") == 0 ? "was slow"
                              : st && strcmp(st, "error") == 0  ? "failed"
                                                                : "ended without an error status";
        buf_printf(&b, "The request %s at %s %s after %s; %lld of %lld spans failed across %zu services.",
                   gs(entry, "operation"), gs(entry, "service"), outcome, dur,
                   (long long)json_integer_value(json_object_get(counts, "failed_spans")),
                   (long long)json_integer_value(json_object_get(counts, "distinct_spans")),
                   json_array_size(json_object_get(ev, "services")));
    }
    if (json_is_object(retries))
        buf_printf(&b, " %s (%s) was called %lld times by the same caller.", gs(retries, "service"),
                   gs(retries, "operation"),
                   (long long)json_integer_value(json_object_get(retries, "attempts")));
    json_t *s = an_json_str(b.data, b.len, SENTENCE_MAX, NULL);
    buf_dispose(&b);
    return s;
}

static void add_id(json_t *ids, const char *id)
{
    if (id == NULL || *id == '\0') return;
    size_t i;
    json_t *x;
    json_array_foreach(ids, i, x) if (strcmp(json_string_value(x), id) == 0) return;
    json_array_append_new(ids, json_string(id));
}

static json_t *evidence_ids(const json_t *ev)
{
    json_t *ids = json_array(), *x;
    const json_t *root = json_object_get(ev, "root_cause");
    size_t i;
    add_id(ids, gs(root, "id"));
    add_id(ids, gs(json_object_get(root, "exception"), "source"));
    add_id(ids, gs(json_object_get(root, "caused_timeout_in"), "id"));
    json_array_foreach(json_object_get(ev, "propagation_path"), i, x) add_id(ids, gs(x, "id"));
    json_array_foreach(json_object_get(ev, "logs"), i, x) if (i < REPORT_LOG_IDS) add_id(ids, gs(x, "id"));
    return ids;
}

static int mentions(const json_t *exc, const json_t *root, const char *needle)
{
    const char *fields[] = {gs(exc, "type"), gs(exc, "message"), gs(exc, "root_cause_type"),
                            gs(exc, "root_cause_message"), gs(root, "status_message")};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (fields[i] && an_contains_ci(fields[i], strlen(fields[i]), needle)) return 1;
    return 0;
}

static void add_line(json_t *a, buf_t *b)
{
    json_array_append_new(a, an_json_str(b->data, b->len, SENTENCE_MAX, NULL));
    buf_reset(b);
}

/* The fix suggested by the kind of failure, by keywords of the exception and status message. */
static void remedy_for_failure(const json_t *root, json_t *out, buf_t *b)
{
    const json_t *exc = json_object_get(root, "exception"), *frame = json_object_get(exc, "frame");
    const char *svc = gs(root, "service"), *op = gs(root, "operation");
    if (json_object_get(root, "caused_timeout_in") || mentions(exc, root, "timeout") ||
        mentions(exc, root, "timed out") || mentions(exc, root, "deadline"))
        buf_printf(b,
                   "Check the latency and capacity of %s (%s) and what it waits on; review the timeouts "
                   "and retry budgets of its callers.",
                   svc, op);
    else if (mentions(exc, root, "refused") || mentions(exc, root, "unreachable") ||
             mentions(exc, root, "connect"))
        buf_printf(b, "Check that the dependency %s (%s) connects to is up and reachable.", svc, op);
    else if (mentions(exc, root, "outofmemory") || mentions(exc, root, "out of memory") ||
             mentions(exc, root, "heap space"))
        buf_printf(b, "Check the memory limits and usage of %s; look for a leak or oversized requests.", svc);
    else if (mentions(exc, root, "null") || mentions(exc, root, "nil pointer") ||
             mentions(exc, root, "undefined") || mentions(exc, root, "nonetype"))
        buf_printf(b, "Handle the missing value in %s (%s).", svc, op);
    else
        buf_printf(b, "Inspect %s (%s) and its error logs for why it failed.", svc, op);
    add_line(out, b);
    if (json_is_object(frame)) {
        buf_printf(b, "Start at %s (%s:%lld).", gs(frame, "function"), gs(frame, "file"),
                   (long long)json_integer_value(json_object_get(frame, "line")));
        add_line(out, b);
    }
}

static json_t *remediation(const json_t *ev)
{
    json_t *out = json_array();
    const json_t *root = json_object_get(ev, "root_cause"), *retries = json_object_get(ev, "retries");
    const json_t *sus = json_array_get(json_object_get(ev, "suspects"), 0);
    const char *kind = gs(ev, "kind");
    buf_t b;
    buf_init(&b, SENTENCE_MAX);
    if (!json_is_object(root)) {
        buf_append_str(&b,
                       "Collect more telemetry for this trace (error statuses, exception events, logs with "
                       "span ids) and analyse it again.");
        add_line(out, &b);
    } else if (kind && strcmp(kind, "slow") == 0) {
        buf_printf(&b, "Profile %s (%s): find what its own time is spent on (locks, queries, CPU).",
                   gs(root, "service"), gs(root, "operation"));
        add_line(out, &b);
    } else {
        remedy_for_failure(root, out, &b);
    }
    if (json_is_object(retries)) {
        buf_printf(&b, "Retries of %s (%s) did not help: add backoff or fail fast.", gs(retries, "service"),
                   gs(retries, "operation"));
        add_line(out, &b);
    }
    if (json_is_object(sus) && gnum(sus, "score") >= 0.5) {
        char ago[48];
        an_fmt_duration((int64_t)json_integer_value(json_object_get(sus, "delta_ms")) * 1000000, ago,
                        sizeof(ago));
        buf_printf(&b, "Review the %s of %s %s before the failure (%s) and roll it back if it matches.",
                   gs(sus, "type"), gs(sus, "service") ? gs(sus, "service") : "the system", ago,
                   gs(sus, "description") && *gs(sus, "description") ? gs(sus, "description")
                                                                     : "no description");
        add_line(out, &b);
    }
    buf_dispose(&b);
    return out;
}

static double confidence(const json_t *ev)
{
    const json_t *root = json_object_get(ev, "root_cause"), *vi = json_object_get(ev, "verdict_inputs");
    const char *kind = gs(ev, "kind");
    if (!json_is_object(root)) return 0.2;
    const json_t *exc = json_object_get(root, "exception");
    double c;
    if (kind && strcmp(kind, "slow") == 0)
        c = json_is_number(json_object_get(root, "baseline_p50_ms")) ? 0.7 : 0.6;
    else if (json_object_get(root, "caused_timeout_in"))
        c = 0.75;
    else if (json_is_object(exc))
        c = json_is_object(json_object_get(exc, "frame")) ? 0.9 : 0.85;
    else
        c = 0.7;
    if (json_is_true(json_object_get(vi, "clock_skew_corrected"))) c -= 0.1;
    if (json_integer_value(json_object_get(vi, "orphans")) > 0) c -= 0.1;
    if (kind && strcmp(kind, "error") == 0 && !json_is_true(json_object_get(vi, "surfaced"))) c -= 0.1;
    return analysis_round(c < 0.05 ? 0.05 : c, 2);
}

static json_t *report_root(const json_t *root)
{
    if (!json_is_object(root))
        return json_pack("{s:n,s:n,s:n,s:n}", "service", "span_id", "operation", "exception");
    const json_t *exc = json_object_get(root, "exception");
    const char *type = gs(exc, "type");
    json_t *o = json_object();
    json_object_set(o, "service", json_object_get(root, "service"));
    json_object_set(o, "span_id", json_object_get(root, "span_id"));
    json_object_set(o, "operation", json_object_get(root, "operation"));
    json_object_set_new(o, "exception", type && *type ? json_string(type) : json_null());
    return o;
}

json_t *analysis_report_build(const json_t *ev)
{
    const json_t *root = json_object_get(ev, "root_cause");
    json_t *r = json_object();
    json_object_set_new(r, "summary", summary(ev));
    json_object_set_new(r, "root_cause", report_root(root));
    json_object_set_new(r, "impact", impact(ev));
    json_object_set_new(r, "evidence", evidence_ids(ev));
    json_object_set_new(r, "remediation", remediation(ev));
    json_object_set_new(r, "confidence", json_real(confidence(ev)));
    json_object_set_new(r, "verdict", json_string(json_is_object(root) ? "conclusive" : "inconclusive"));
    json_object_set_new(r, "generated_by", json_string("deterministic"));
    return r;
}
