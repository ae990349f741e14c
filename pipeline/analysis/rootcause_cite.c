/* The log lines an analysis cites, most relevant first (see rootcause.h). */
#include "rootcause_int.h"
#include "alloc.h"

#include <stdlib.h>

typedef struct {
    const analysis_logs_t *logs;
    unsigned char *taken;
    analysis_rc_t *rc;
    size_t max;
} cite_t;

static void take(cite_t *c, int i)
{
    if (c->taken[i] || c->rc->ncited >= c->max) return;
    c->taken[i] = 1;
    c->rc->cited[c->rc->ncited++] = i;
}

/* Logs of node x with severity in [lo, hi]. */
static void take_node(cite_t *c, int x, int lo, int hi)
{
    const analysis_logs_t *l = c->logs;
    for (int k = l->first[x]; k < l->first[x + 1]; k++) {
        int i = l->of_node[k];
        if (l->logs[i].severity >= lo && l->logs[i].severity <= hi) take(c, i);
    }
}

void an_rc_cite(const analysis_logs_t *logs, size_t max, analysis_rc_t *rc)
{
    rc->cited = xcalloc(max ? max : 1, sizeof(int));
    if (logs->nlogs == 0) return;
    cite_t c = {logs, xcalloc(logs->nlogs, 1), rc, max};
    if (rc->node >= 0) take_node(&c, rc->node, ANALYSIS_SEV_ERROR, 99);
    for (size_t i = 1; i < rc->npath; i++)
        take_node(&c, rc->path[i], ANALYSIS_SEV_ERROR, 99);
    for (size_t i = 0; i < rc->npath; i++)
        take_node(&c, rc->path[i], ANALYSIS_SEV_WARN, ANALYSIS_SEV_WARN);
    for (size_t i = 0; i < logs->nlogs; i++)
        if (logs->logs[i].severity >= ANALYSIS_SEV_ERROR) take(&c, (int)i);
    if (rc->node >= 0) take_node(&c, rc->node, -99, 99);
    free(c.taken);
}
