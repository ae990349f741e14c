/* Combination of evidence into one score per service. Each channel keeps its strongest item (the gap
 * channel: strongest incoming plus strongest outgoing), and a service scores its strongest channel
 * plus RK_CORROB times the others: one clear sign carries a service, agreeing signs lift it (log
 * templates and call patterns count as one channel, the code path; echo
 * metrics and change events only corroborate: they never count as the strongest, nor for more than it). The
 * call graph adjustment (callgraph.c) is added afterwards. */
#include "rank_int.h"

#include "alloc.h"

#include <string.h>

rk_ev_t *rk_ev_add(rk_run_t *run, uint32_t svc, rank_channel_t ch, rank_evidence_kind_t kind, double score)
{
    rk_ev_t *ev = rk_vec_push(&run->ev);
    ev->svc = svc;
    ev->channel = ch;
    ev->kind = kind;
    ev->score = score;
    ev->peer = RK_NONE;
    ev->op = RK_NONE;
    return ev;
}

void rk_score_channels(rk_run_t *run)
{
    size_t n = run->services.n;
    run->channel = rk_arena_alloc(run->scratch, (n ? n : 1) * RANK_CHANNELS * sizeof(double));
    run->score = rk_arena_alloc(run->scratch, (n ? n : 1) * sizeof(double));
    double *gap_in = rk_arena_alloc(run->scratch, (n ? n : 1) * sizeof(double));
    double *gap_out = rk_arena_alloc(run->scratch, (n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < run->ev.len; i++) {
        const rk_ev_t *ev = &RK_AT(&run->ev, rk_ev_t, i);
        if (ev->svc >= n) continue;
        /* a shared endpoint's summary item equals its strongest outgoing edge: same slot, no double count */
        double *slot = ev->kind == RANK_EV_GAP_IN ? &gap_in[ev->svc]
                       : ev->kind == RANK_EV_GAP_OUT || ev->kind == RANK_EV_GAP_SHARED
                           ? &gap_out[ev->svc]
                           : &run->channel[ev->svc * RANK_CHANNELS + ev->channel];
        if (ev->score > *slot) *slot = ev->score;
    }
    for (size_t s = 0; s < n; s++) {
        double *ch = &run->channel[s * RANK_CHANNELS];
        ch[RANK_CH_GAP] = gap_in[s] + gap_out[s];
        /* A vanished log line and a vanished call are one sign (the code path an invocation takes): the
         * log and call channels count as one, the stronger. */
        double path = ch[RANK_CH_LOGS] > ch[RANK_CH_CALLS] ? ch[RANK_CH_LOGS] : ch[RANK_CH_CALLS];
        double best = path, sum = path;
        for (int c = 0; c < RANK_CHANNELS; c++) {
            if (c == RANK_CH_GRAPH || c == RANK_CH_METRIC_ECHOES || c == RANK_CH_LOGS || c == RANK_CH_CALLS ||
                c == RANK_CH_CHANGES)
                continue;
            sum += ch[c];
            if (ch[c] > best) best = ch[c];
        }
        /* echo metrics and changes only corroborate: a routine deploy of a service that behaves as
         * before is no fault, a deploy of one that misbehaves makes it the likelier cause */
        double echo = ch[RANK_CH_METRIC_ECHOES] < best ? ch[RANK_CH_METRIC_ECHOES] : best;
        double change = ch[RANK_CH_CHANGES] < best ? ch[RANK_CH_CHANGES] : best;
        run->score[s] = best + RK_CORROB * (sum - best + echo + change);
    }
}
