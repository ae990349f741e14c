/* Cells keyed by a 64-bit hash: a map from key to index into a growable array of cells, in insertion
 * order (the counters of the rate-shift channels: one cell per statistic, iterated in order). */
#include "rank_int.h"

void rk_table_init(rk_table_t *t, size_t cell_size)
{
    rk_map_init(&t->index);
    rk_vec_init(&t->cells, cell_size);
}

void rk_table_dispose(rk_table_t *t)
{
    rk_vec_dispose(&t->cells);
    rk_map_dispose(&t->index);
}

void *rk_table_put(rk_table_t *t, uint64_t key, int *added)
{
    uint32_t *slot = rk_map_put(&t->index, key, (uint32_t)t->cells.len, added);
    if (*added) return rk_vec_push(&t->cells);
    return (char *)t->cells.data + (size_t)*slot * t->cells.size;
}

void *rk_table_get(const rk_table_t *t, uint64_t key)
{
    const uint32_t *slot = rk_map_get(&t->index, key);
    return slot ? (char *)t->cells.data + (size_t)*slot * t->cells.size : NULL;
}
