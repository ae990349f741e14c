/* What the ranking could judge: each service's calls (its invocations: root spans and spans called
 * from another service) in the baseline and in the window. A side with fewer than RK_MIN_SAMPLES calls
 * cannot carry a latency, call-pattern or error-span comparison, so "nothing stands out" would be an
 * empty claim there: the verdict says which side is too thin and by how much instead. */
#include "rank_int.h"

#include <stdio.h>
#include <string.h>

int rank_min_samples(void)
{
    return RK_MIN_SAMPLES;
}

static void count(const rk_window_t *w, rank_service_t *services, size_t n, int target)
{
    for (size_t i = 0; i < w->n_spans; i++) {
        const rk_span_t *s = &w->spans[i];
        if (s->svc >= n || s->entry != i) continue;
        if (target)
            services[s->svc].n_target_calls++;
        else
            services[s->svc].n_base_calls++;
    }
}

void rk_coverage_count(rk_run_t *run, rank_service_t *services)
{
    size_t n = run->services.n;
    count(&run->base, services, n, 0);
    count(&run->target, services, n, 1);
    for (size_t s = 0; s < n; s++) {
        rank_service_t *x = &services[s];
        if (x->n_base_calls + x->n_target_calls == 0) continue; /* no spans: logs and metrics judge it */
        x->thin = (x->n_base_calls < RK_MIN_SAMPLES ? RANK_THIN_BASELINE : 0) |
                  (x->n_target_calls < RK_MIN_SAMPLES ? RANK_THIN_WINDOW : 0);
    }
}

void rk_coverage_verdict(rank_result_t *out)
{
    size_t base_thin_calls = 0, win_thin_calls = 0, n_base_thin = 0, n_win_thin = 0;
    for (size_t i = 0; i < out->n_services; i++) {
        const rank_service_t *x = &out->services[i];
        out->n_base_calls += x->n_base_calls;
        out->n_target_calls += x->n_target_calls;
        if (x->n_base_calls + x->n_target_calls == 0) continue;
        if (x->thin)
            out->n_thin++;
        else
            out->n_judged++;
        if (x->thin & RANK_THIN_BASELINE) {
            n_base_thin++;
            base_thin_calls += x->n_base_calls;
        }
        if (x->thin & RANK_THIN_WINDOW) {
            n_win_thin++;
            win_thin_calls += x->n_target_calls;
        }
    }
    if (!out->nothing_stands_out || out->n_thin == 0) return;
    char why[160] = "";
    if (n_base_thin && n_win_thin)
        snprintf(why, sizeof(why),
                 "baseline too thin: %zu calls (%zu services); window too thin: %zu calls (%zu services)",
                 base_thin_calls, n_base_thin, win_thin_calls, n_win_thin);
    else if (n_base_thin)
        snprintf(why, sizeof(why), "baseline too thin: %zu calls (%zu services)", base_thin_calls,
                 n_base_thin);
    else
        snprintf(why, sizeof(why), "window too thin: %zu calls (%zu services)", win_thin_calls, n_win_thin);
    if (out->n_judged == 0)
        snprintf(out->verdict, sizeof(out->verdict),
                 "nothing could be judged: %.100s; at least %d calls per service are needed on each side",
                 why, RK_MIN_SAMPLES);
    else
        snprintf(out->verdict, sizeof(out->verdict),
                 "nothing stands out among the %zu services with enough calls; %.100s, at least %d calls per "
                 "service are needed on each side",
                 out->n_judged, why, RK_MIN_SAMPLES);
}
