/* Window ranking over stored telemetry (see window_rank.h). */
#include "window_rank.h"
#include "rank.h"
#include "window_load.h"

json_t *window_rank(PGconn *c, int64_t from, int64_t to, int64_t bfrom, int64_t bto, int *db_failed)
{
    window_data_t w;
    json_t *js = NULL;
    *db_failed = window_load(c, from, to, bfrom, bto, &w) != 0;
    if (!*db_failed) {
        rank_opts_t o;
        rank_opts_default(&o);
        rank_result_t res;
        if (rank_window(&w.base, &w.target, &o, &res) == 0) {
            js = rank_result_to_json(&res);
            if (js)
                json_object_set_new(js, "window",
                                    json_pack("{s:I,s:I,s:I,s:I}", "from_ns", (json_int_t)from, "to_ns",
                                              (json_int_t)to, "baseline_from_ns", (json_int_t)bfrom,
                                              "baseline_to_ns", (json_int_t)bto));
            rank_result_dispose(&res);
        }
    }
    window_data_dispose(&w);
    return js;
}
