/* GET /query/replication: is the query API reading a streaming replica, and how far behind the primary
 * is it? The dashboard shows a banner when the lag passes a few seconds (its data is that old). */
#include "query_api.h"
#include "query_params.h"
#include "query_sql.h"

/* replication_lag_s: 0 when every WAL record received is replayed (an idle primary writes nothing, so
 * now() - last replay time would grow without any lag); else the age of the last replayed transaction;
 * null on a primary. receiving: whether a WAL receiver runs (the view hides
 * its details from roles without pg_read_all_stats, not its row) (false: cut off from the primary). */
static const char replication_sql[] =
    "SELECT json_build_object('in_recovery', pg_is_in_recovery(), 'replication_lag_s', "
    "CASE WHEN NOT pg_is_in_recovery() THEN NULL "
    "WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
    "ELSE round(greatest(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::numeric, 3) END, "
    "'receiving', CASE WHEN pg_is_in_recovery() THEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver) END)::text";

static int on_replication(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    if (!qp_known(req, NULL)) return 0;
    query_sql_t s = {.sql = replication_sql, .nparams = 0, .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

void query_replication_register(httpd_t *h, query_api_t *q)
{
    httpd_route(h, "GET", "/query/replication", &q->cfg->read_keys, on_replication, q);
}
