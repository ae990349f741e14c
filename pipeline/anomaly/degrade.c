/* Two-signal degradation verdict (see degrade.h). */
#include "degrade.h"

#include <stdio.h>
#include <string.h>

void degrade_judge(const char *service, const char *endpoint, const window_stats_t *base,
                   const window_stats_t *cur, int metric_episodes, degrade_verdict_t *out)
{
    memset(out, 0, sizeof(*out));
    int enough = base->requests >= DEGRADE_MIN_REQUESTS && cur->requests >= DEGRADE_MIN_REQUESTS;
    out->latency = enough && cur->p95_ms >= base->p95_ms * DEGRADE_LATENCY_RATIO &&
                   cur->p95_ms - base->p95_ms >= DEGRADE_LATENCY_MIN_MS;
    out->errors = enough && cur->error_rate >= base->error_rate * DEGRADE_ERROR_RATIO &&
                  cur->error_rate - base->error_rate >= DEGRADE_ERROR_MIN_DELTA;
    out->metrics = metric_episodes > 0;
    out->agreeing = out->latency + out->errors + out->metrics;
    out->degraded = out->agreeing >= 2;
    size_t n = (size_t)snprintf(out->explanation, sizeof(out->explanation), "%s %s:", service, endpoint);
    const char *sep = " ";
    if (out->latency) {
        n += (size_t)snprintf(out->explanation + n, sizeof(out->explanation) - n,
                              "%sp95 %.0f ms \u2192 %.0f ms", sep, base->p95_ms, cur->p95_ms);
        sep = "; ";
    }
    if (out->errors && n < sizeof(out->explanation)) {
        n += (size_t)snprintf(out->explanation + n, sizeof(out->explanation) - n,
                              "%serror rate %.1f%% \u2192 %.1f%%", sep, base->error_rate * 100,
                              cur->error_rate * 100);
        sep = "; ";
    }
    if (out->metrics && n < sizeof(out->explanation))
        n += (size_t)snprintf(out->explanation + n, sizeof(out->explanation) - n,
                              "%s%d metric anomaly episode%s", sep, metric_episodes,
                              metric_episodes > 1 ? "s" : "");
    if (out->agreeing == 0 && n < sizeof(out->explanation))
        snprintf(out->explanation + n, sizeof(out->explanation) - n, " no signal");
    else if (!out->degraded && n < sizeof(out->explanation))
        snprintf(out->explanation + n, sizeof(out->explanation) - n, " (one signal only: not alerted)");
}
