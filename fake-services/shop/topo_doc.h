/* The dataset's own description: README.md (seed, command, each system's services, operations, calls
 * and positions, and the case list with each bad deploy's underlying fault) and topology.json (the same
 * as data). */
#ifndef PS_SHOP_TOPO_DOC_H
#define PS_SHOP_TOPO_DOC_H

#include "plan.h"
#include "shop.h"
#include "topo.h"

/* Writes <out>/README.md and <out>/topology.json. -1 on a write failure. */
int topo_doc_write(const shop_opts_t *o, const topo_t *topos, const plan_t *plans, int n);

#endif
