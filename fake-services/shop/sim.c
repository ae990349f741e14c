/* Call-tree walk in virtual time (see sim.h). */
#include "sim.h"

#include "logline.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MS 1000000LL      /* ns per ms */
#define NOISE_LOG_P 0.004 /* unrelated WARN/ERROR lines per request served */
#define TAIL_P 0.01       /* the heavy tail of self time */
#define NOT_FOUND_P 0.01  /* a handled 4xx at the entry */
#define GC_WARN_P 0.3     /* a GC pause that also logs a WARN */

/* SERVE_NOT_FOUND: this server answers 404 (a handled client error); SERVE_GETS_404: this server's
 * first call gets that 404 and it answers its own client 404 without further calls. */
enum { SERVE_NOT_FOUND = 1, SERVE_GETS_404 = 2 };

typedef struct {
    char trace[33];
} req_t;

/* ---- output ---- */

/* One span row; `exception` is the type of the exception the span recorded (OTel's span.recordException),
 * NULL for none (an empty ExceptionType field). */
static void span_out(sim_t *s, const req_t *q, const char *id, const char *parent, int svc, const char *name,
                     int64_t start, int64_t end, sim_status_t status, const char *exception)
{
    s->n_spans++;
    if (s->spans == NULL) return;
    gzw_printf(s->spans, "%s,%s,%s,%s,%s,%lld,%lld,%lld,%d,%s\n", q->trace, id, parent, s->t->svc[svc].pod,
               name, (long long)start, (long long)end, (long long)((end - start) / 1000), (int)status,
               exception ? exception : "");
}

static void log_out(sim_t *s, const req_t *q, int svc, const char *span, int64_t ts, logline_level_t level,
                    int line, const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void log_out(sim_t *s, const req_t *q, int svc, const char *span, int64_t ts, logline_level_t level,
                    int line, const char *fmt, ...)
{
    s->n_logs++;
    if (s->logs == NULL) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof(msg)) {
        s->logs->failed = 1;
        return;
    }
    logline_write(s->logs, &s->t->svc[svc], q->trace, span, ts, level, line, msg);
}

/* "pkg.Exception: reason" and a three-frame stack on the following lines. */
static void stack_text(char *out, size_t cap, const topo_service_t *sv, const topo_op_t *o,
                       const char *reason)
{
    char pkg[TOPO_NAME];
    size_t k = 0;
    for (const char *p = sv->name; *p && k + 1 < sizeof(pkg); p++)
        if (*p != '-') pkg[k++] = *p;
    pkg[k] = '\0';
    int base = (int)strlen(sv->cls) - 7; /* "PaymentService" -> "Payment" for the controller's name */
    snprintf(out, cap,
             "%s: %s\n\tat com.shop.%s.%s.%s(%s.java:%d)\n\tat "
             "com.shop.%s.%.*sController.%s(%.*sController.java:%d)"
             "\n\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)",
             sv->exception, reason, pkg, sv->cls, o->method, sv->cls, o->log_line + 21, pkg, base, sv->cls,
             o->method, base, sv->cls, o->log_line / 3 + 17);
}

/* ---- the walk ---- */

static int64_t serve(sim_t *s, req_t *q, int svc, int op, const char *parent, int64_t start, int flags,
                     sim_status_t *status);

static int64_t ms_ns(double ms)
{
    return (int64_t)(ms * (double)MS);
}

/* One network hop; the network-delay fault adds its delay when either end is the faulty pod. */
static int64_t hop(sim_t *s, int from, int to, int64_t at)
{
    double ms = prng_uniform(s->r, 0.5, 2.0);
    if (fault_on(s->f, FAULT_NETWORK_DELAY, from, at) || fault_on(s->f, FAULT_NETWORK_DELAY, to, at))
        ms += s->f->ms * prng_uniform(s->r, 0.9, 1.1);
    return ms_ns(ms);
}

static int64_t call_out(sim_t *s, req_t *q, int from, const char *parent, int to, int op, int64_t at,
                        int flags, sim_status_t *status)
{
    char id[17];
    prng_hex(s->r, id, 16);
    sim_status_t st;
    int64_t server_start = at + hop(s, from, to, at);
    int64_t server_end = serve(s, q, to, op, id, server_start, flags, &st);
    int64_t end = server_end + hop(s, to, from, server_end);
    *status = st == SPAN_ERROR || (flags & SERVE_NOT_FOUND) ? SPAN_ERROR : SPAN_OK;
    span_out(s, q, id, parent, from, s->t->svc[to].ops[op].name, at, end, *status, NULL);
    stats_add_client(s->st, from, (double)(end - at) / MS);
    return end;
}

/* A message to a queue: the producer's span, then the consumer's span after a queue lag. */
static int64_t publish(sim_t *s, req_t *q, int from, const char *parent, int to, int op, int64_t at)
{
    char id[17];
    prng_hex(s->r, id, 16);
    int64_t end = at + ms_ns(prng_uniform(s->r, 0.3, 1.0));
    span_out(s, q, id, parent, from, "publish order-events", at, end, SPAN_OK, NULL);
    int64_t lag = ms_ns(prng_uniform(s->r, 5, 60)) + hop(s, from, to, at);
    sim_status_t st;
    int64_t done = serve(s, q, to, op, id, end + lag, 0, &st);
    if (fault_on(s->f, FAULT_WRONG_RETURN, to, done) && prng_chance(s->r, s->f->prob)) {
        /* the consumer's own result was wrong: it rejects the message, which is delivered again */
        log_out(s, q, to, id, done, LOG_WARN, s->t->svc[to].ops[op].log_line + 40,
                "[%s][Message rejected, requeued][offset: %d]", s->t->svc[to].ops[op].method,
                prng_range(s->r, 1000, 900000));
        serve(s, q, to, op, id, done + ms_ns(prng_uniform(s->r, 5, 60)), 0, &st);
    }
    return end;
}

/* The server's own work in ms, with the faults that act on it. */
static double self_ms(sim_t *s, req_t *q, int svc, int op, const char *span, int64_t start)
{
    const topo_op_t *o = &s->t->svc[svc].ops[op];
    double ms = prng_lognormal(s->r, o->self_median_ms, o->self_sigma);
    if (prng_chance(s->r, TAIL_P)) ms *= prng_uniform(s->r, 3, 10);
    if (fault_on(s->f, FAULT_LATENCY, svc, start) && (s->f->op < 0 || s->f->op == op))
        ms += s->f->ms * prng_uniform(s->r, 0.85, 1.15);
    if (fault_on(s->f, FAULT_CPU, svc, start)) ms *= s->f->factor * prng_uniform(s->r, 0.75, 1.25);
    if (fault_on(s->f, FAULT_MEMORY_GC, svc, start) && prng_chance(s->r, s->f->prob)) {
        double pause = prng_uniform(s->r, s->f->pause_lo_ms, s->f->pause_hi_ms);
        ms += pause;
        stats_add_gc(s->st, svc, pause);
        if (prng_chance(s->r, GC_WARN_P))
            log_out(s, q, svc, span, start + ms_ns(ms), LOG_WARN, 88,
                    "[gc][GC pause %.0f ms][G1 Evacuation Pause, heap %d%%]", pause,
                    prng_range(s->r, 85, 97));
    }
    return ms;
}

/* The caller's answer to a wrong return from `to`: a WARN line, then a retry or another call. */
static int64_t wrong_answer(sim_t *s, req_t *q, int svc, const topo_op_t *o, int ci, const char *span,
                            int64_t end)
{
    const topo_call_t *c = &o->calls[ci];
    const topo_service_t *callee = &s->t->svc[c->svc];
    log_out(s, q, svc, span, end, LOG_WARN, o->log_line + 40,
            "[%s][Unexpected response from %s][%s returned %s]", o->method, callee->name,
            callee->ops[c->op].name, prng_chance(s->r, 0.5) ? "an empty list" : "a null total");
    sim_status_t st;
    int64_t at = end + ms_ns(prng_uniform(s->r, 0.2, 1.0));
    if (s->f->retry || (callee->n_ops < 2 && o->n_calls < 2))
        return call_out(s, q, svc, span, c->svc, c->op, at, 0, &st);
    if (callee->n_ops >= 2) return call_out(s, q, svc, span, c->svc, (c->op + 1) % callee->n_ops, at, 0, &st);
    const topo_call_t *alt = &o->calls[(ci + 1) % o->n_calls];
    return alt->mode == CALL_ASYNC ? end : call_out(s, q, svc, span, alt->svc, alt->op, at, 0, &st);
}

typedef struct {
    int svc, op, flags, fail_from, wrong_self, made;
    const char *span;
    int child_failed;
} calls_ctx_t;

/* Makes the op's calls from `cursor` on; returns when the last one ends. */
static int64_t run_calls(sim_t *s, req_t *q, calls_ctx_t *x, int64_t cursor)
{
    const topo_op_t *o = &s->t->svc[x->svc].ops[x->op];
    int64_t group_start = cursor, group_end = cursor;
    for (int i = 0; i < o->n_calls && i < x->fail_from; i++) {
        const topo_call_t *c = &o->calls[i];
        if (c->mode != CALL_PAR) group_start = group_end;
        if (c->prob < 1.0 && !prng_chance(s->r, c->prob)) continue;
        if (fault_on(s->f, FAULT_DEPENDENCY_STOPPED, x->svc, group_start) && c->svc == s->f->stop_svc &&
            prng_chance(s->r, s->f->prob))
            continue;
        int op = c->op;
        if (x->wrong_self && i == o->n_calls - 1) {
            /* the entry's own wrong value changes its next call: another op of the callee, or none */
            if (s->t->svc[c->svc].n_ops < 2) continue;
            op = (op + 1) % s->t->svc[c->svc].n_ops;
        }
        int64_t at = group_start + ms_ns(prng_uniform(s->r, 0.02, 0.3)), end;
        if (c->mode == CALL_ASYNC) {
            end = publish(s, q, x->svc, x->span, c->svc, op, at);
        } else {
            sim_status_t st;
            int flags = (x->flags & SERVE_GETS_404) && x->made == 0 ? SERVE_NOT_FOUND : 0;
            x->made++;
            end = call_out(s, q, x->svc, x->span, c->svc, op, at, flags, &st);
            if (fault_on(s->f, FAULT_WRONG_RETURN, c->svc, at) && prng_chance(s->r, s->f->prob))
                end = wrong_answer(s, q, x->svc, o, i, x->span, end);
            if (flags) {
                log_out(s, q, x->svc, x->span, end, LOG_INFO, o->log_line + 30,
                        "[%s][Client error][%s -> 404, answered 404]", o->method,
                        s->t->svc[c->svc].ops[op].name);
                return end > group_end ? end : group_end;
            }
            if (st == SPAN_ERROR) {
                log_out(s, q, x->svc, x->span, end, LOG_ERROR, o->log_line + 30,
                        "[%s][call to %s failed][%s -> 500]", o->method, s->t->svc[c->svc].name,
                        s->t->svc[c->svc].ops[op].name);
                x->child_failed = 1;
            }
        }
        if (end > group_end) group_end = end;
        if (x->child_failed && (i + 1 >= o->n_calls || o->calls[i + 1].mode != CALL_PAR)) break;
    }
    return group_end;
}

static void request_logs(sim_t *s, req_t *q, int svc, int op, const char *span, int64_t ts, int start)
{
    const topo_service_t *sv = &s->t->svc[svc];
    const topo_op_t *o = &sv->ops[op];
    if (!sv->logs_requests) return;
    char id[9];
    prng_hex(s->r, id, 8);
    if (start)
        log_out(s, q, svc, span, ts, LOG_INFO, o->log_line, "[%s][Received %s][requestId: %s, userId: u-%d]",
                o->method, o->name, id, prng_range(s->r, 1000, 99999));
    else if (sv->kind == TOPO_LEAF)
        log_out(s, q, svc, span, ts, LOG_INFO, o->log_line + 12, "[%s][Done][key: %s, rows: %d]", o->method,
                id, prng_range(s->r, 0, 40));
    else
        log_out(s, q, svc, span, ts, LOG_INFO, o->log_line + 12, "[%s][Completed][items: %d, amount: %.2f]",
                o->method, prng_range(s->r, 1, 12), prng_uniform(s->r, 3, 400));
}

static void noise_log(sim_t *s, req_t *q, int svc, const char *span, int64_t ts)
{
    static const char *const warn[] = {"[pool][Connection pool at %d%% of capacity][waiting: 0]",
                                       "[config][Slow config refresh][took %d ms]",
                                       "[http][Retrying idempotent request][attempt: 2, waitedMs: %d]"};
    static const char *const err[] = {"[flags][Failed to refresh feature flags][timeout after %d ms]",
                                      "[metrics][Could not push metrics batch][status: 503, size: %d]"};
    if (prng_chance(s->r, 0.6))
        log_out(s, q, svc, span, ts, LOG_WARN, 301, warn[prng_range(s->r, 0, 2)], prng_range(s->r, 60, 900));
    else
        log_out(s, q, svc, span, ts, LOG_ERROR, 317, err[prng_range(s->r, 0, 1)],
                prng_range(s->r, 100, 3000));
}

static int64_t serve(sim_t *s, req_t *q, int svc, int op, const char *parent, int64_t start, int flags,
                     sim_status_t *status)
{
    const topo_service_t *sv = &s->t->svc[svc];
    const topo_op_t *o = &sv->ops[op];
    char span[17], work[17];
    prng_hex(s->r, span, 16);
    prng_hex(s->r, work, 16);
    request_logs(s, q, svc, op, span, start + ms_ns(0.05), 1);
    double self = self_ms(s, q, svc, op, span, start), pre = self * prng_uniform(s->r, 0.5, 0.7);
    if (flags & SERVE_NOT_FOUND) pre = self * 0.3;
    int skip_work = fault_on(s->f, FAULT_DEPENDENCY_STOPPED, svc, start) && s->f->stop_svc < 0 &&
                    prng_chance(s->r, s->f->prob);
    if (skip_work)
        pre = 0.05;
    else
        span_out(s, q, work, span, svc, o->internal, start + ms_ns(0.03), start + ms_ns(pre), SPAN_UNSET,
                 NULL);
    int64_t cursor = start + ms_ns(pre);
    int failed = fault_on(s->f, FAULT_ERROR, svc, start) && prng_chance(s->r, s->f->prob);
    calls_ctx_t x = {.svc = svc, .op = op, .flags = flags, .span = span, .fail_from = TOPO_MAX_CALLS};
    if (failed) x.fail_from = prng_range(s->r, 0, o->n_calls);
    x.wrong_self =
        svc == 0 && fault_on(s->f, FAULT_WRONG_RETURN, svc, start) && prng_chance(s->r, s->f->prob);
    if (!(flags & SERVE_NOT_FOUND)) cursor = run_calls(s, q, &x, cursor);
    char stack[1024];
    /* what the server span records, as an instrumented service's span.recordException() would: the
     * exception its code caught or failed with (the type its stack text names) */
    const char *recorded = NULL;
    if (fault_on(s->f, FAULT_EXCEPTION_CAUGHT, svc, start) && prng_chance(s->r, s->f->prob)) {
        recorded = sv->exception;
        stack_text(stack, sizeof(stack), sv, o, "unexpected state while building the response");
        log_out(s, q, svc, span, cursor, LOG_ERROR, o->log_line + 20, "[%s][Handled exception] %s", o->method,
                stack);
        if (s->f->fallback) {
            char fb[17], name[TOPO_NAME + 16];
            prng_hex(s->r, fb, 16);
            snprintf(name, sizeof(name), "%s.fallback", sv->cls);
            int64_t fend = cursor + ms_ns(prng_uniform(s->r, 1, 5));
            log_out(s, q, svc, span, cursor, LOG_WARN, o->log_line + 24,
                    "[%s][Falling back to cached response][]", o->method);
            span_out(s, q, fb, span, svc, name, cursor, fend, SPAN_UNSET, NULL);
            cursor = fend;
        }
    }
    int64_t end = cursor + ms_ns(self - pre > 0.05 ? self - pre : 0.05);
    if (flags & SERVE_NOT_FOUND) {
        log_out(s, q, svc, span, end, LOG_WARN, o->log_line + 8, "[%s][Not found][id: %d]", o->method,
                prng_range(s->r, 1, 99999));
        *status = SPAN_UNSET;
    } else if (failed || x.child_failed) {
        if (failed) {
            recorded = sv->exception;
            stack_text(stack, sizeof(stack), sv, o, "request processing failed");
            log_out(s, q, svc, span, end, LOG_ERROR, o->log_line + 20, "[%s][Request failed] %s", o->method,
                    stack);
        }
        *status = SPAN_ERROR;
    } else {
        request_logs(s, q, svc, op, span, end - ms_ns(0.02), 0);
        *status = SPAN_OK;
    }
    if (sv->logs_requests && prng_chance(s->r, NOISE_LOG_P))
        noise_log(s, q, svc, span, start + ms_ns(self / 2));
    span_out(s, q, span, parent, svc, o->name, start, end, *status, recorded);
    stats_add_server(s->st, svc, (double)(end - start) / MS, *status == SPAN_ERROR);
    return end;
}

static int pick_entry_op(sim_t *s, int64_t ts)
{
    const topo_service_t *g = &s->t->svc[0];
    double total = 0;
    for (int k = 0; k < g->n_ops; k++)
        total += g->ops[k].weight;
    if (fault_new_endpoint(s->f, ts) && prng_chance(s->r, 0.2)) return s->t->new_op;
    double x = prng_unit(s->r) * total;
    for (int k = 0; k < g->n_ops; k++) {
        x -= g->ops[k].weight;
        if (x < 0) return k;
    }
    return g->n_ops - 1;
}

void sim_request(sim_t *s, int64_t ts_ns)
{
    req_t q;
    prng_hex(s->r, q.trace, 32);
    int op = pick_entry_op(s, ts_ns);
    sim_status_t st;
    int flags = prng_chance(s->r, NOT_FOUND_P) ? SERVE_GETS_404 : 0;
    serve(s, &q, 0, op, "root", ts_ns, flags, &st);
}
