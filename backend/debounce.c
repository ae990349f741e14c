/* Redis debounce of error traces and the scheduler thread that enqueues them (see debounce.h). */
#include "debounce.h"
#include "alloc.h"
#include "db.h"
#include "log.h"
#include "program.h"
#include "queue_contract.h"
#include "redisx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REDIS_TIMEOUT_MS 1000
#define TICK_MS 100
#define POP_LIMIT 500
#define RESYNC_PAGE 1000
/* how often the scheduler looks for handed-over triggers that were never analysed */
#define RESEND_CHECK_MS 1000
#define RESEND_LIMIT 500

/* KEYS: zset, first-hash. ARGV: quiet, max, then (trace, first_ms, last_ms) triples.
 * due = min(last + quiet, first + max); the due time only moves later (GT), never earlier. */
static const char touch_script[] =
    "local quiet = tonumber(ARGV[1]) local maxw = tonumber(ARGV[2])\n"
    "for i = 3, #ARGV, 3 do\n"
    "  local t = ARGV[i] local first = tonumber(ARGV[i + 1]) local last = tonumber(ARGV[i + 2])\n"
    "  local known = redis.call('HGET', KEYS[2], t)\n"
    "  if known and tonumber(known) < first then first = tonumber(known) else redis.call('HSET', KEYS[2], t, "
    "first) end\n"
    "  local due = math.min(last + quiet, first + maxw)\n"
    "  if redis.call('ZSCORE', KEYS[1], t) == false then redis.call('ZADD', KEYS[1], due, t)\n"
    "  else redis.call('ZADD', KEYS[1], 'GT', due, t) end\n"
    "end\n"
    "return 1\n";

/* KEYS: zset, first-hash, stream. ARGV: now, limit. Moves due traces into the stream atomically; each
 * entry carries the hand-over time, which tells the pipeline which errors its analysis covers. */
static const char pop_script[] =
    "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
    "for _, t in ipairs(due) do\n"
    "  redis.call('XADD', KEYS[3], '*', '" QUEUE_FIELD_TRACE_ID "', t, '" QUEUE_FIELD_HANDED_MS
    "', ARGV[1])\n"
    "  redis.call('ZREM', KEYS[1], t) redis.call('HDEL', KEYS[2], t)\n"
    "end\n"
    "return due\n";

struct debounce {
    const config_t *cfg;
    ingest_stats_t *stats;
    const leader_t *leader;
    char zset_key[128], first_key[128], stream_key[128];
    char resync_key[128]; /* set by an instance not holding the duty that needs a resync by the holder */
    atomic_int resync_needed;
    atomic_int stopping;
    pthread_t tid;
    int started;
};

void debounce_key(const char *prefix, const char *suffix, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s", prefix, suffix);
}

debounce_t *debounce_create(const config_t *cfg, ingest_stats_t *stats, const leader_t *leader)
{
    debounce_t *d = xcalloc(1, sizeof(*d));
    d->cfg = cfg;
    d->stats = stats;
    d->leader = leader;
    debounce_key(cfg->redis_prefix, "debounce", d->zset_key, sizeof(d->zset_key));
    debounce_key(cfg->redis_prefix, "debounce:first", d->first_key, sizeof(d->first_key));
    debounce_key(cfg->redis_prefix, "debounce:resync", d->resync_key, sizeof(d->resync_key));
    queue_contract_stream(cfg->redis_prefix, d->stream_key, sizeof(d->stream_key));
    atomic_store(&d->resync_needed, 1); /* at start: whatever PostgreSQL holds may not be in Redis */
    return d;
}

/* Runs the touch script over (trace, first, last) triples. Returns 0 or -1. */
static int touch_triples(debounce_t *d, redisContext *c, const char **triples, size_t ntriples)
{
    char quiet[16], maxw[16];
    snprintf(quiet, sizeof(quiet), "%d", d->cfg->debounce_quiet_ms);
    snprintf(maxw, sizeof(maxw), "%d", d->cfg->debounce_max_ms);
    size_t argc = 7 + 3 * ntriples;
    const char **argv = xmalloc(argc * sizeof(*argv));
    argv[0] = "EVAL";
    argv[1] = touch_script;
    argv[2] = "2";
    argv[3] = d->zset_key;
    argv[4] = d->first_key;
    argv[5] = quiet;
    argv[6] = maxw;
    memcpy(argv + 7, triples, 3 * ntriples * sizeof(*argv));
    redisReply *r = redisCommandArgv(c, (int)argc, argv, NULL);
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (r && r->type == REDIS_REPLY_ERROR) log_error("debounce touch: %s", r->str);
    redisx_reply_failed(c, r); /* a demoted master (READONLY): reconnect to the new one next time */
    freeReplyObject(r);
    free(argv);
    return ok ? 0 : -1;
}

void debounce_touch(debounce_t *d, redisContext **conn, const char (*traces)[INGEST_TRACE_ID_LEN + 1],
                    size_t n, long long now_ms)
{
    if (n == 0) return;
    atomic_fetch_add(&d->stats->traces_scheduled, n);
    if (atomic_load(&d->resync_needed) || !redisx_ensure(conn, d->cfg->redis_url, REDIS_TIMEOUT_MS)) {
        /* Redis is (or was just) away: the scheduler re-sends everything from PostgreSQL. */
        atomic_store(&d->resync_needed, 1);
        atomic_fetch_add(&d->stats->redis_failures, 1);
        return;
    }
    char now[24];
    snprintf(now, sizeof(now), "%lld", now_ms);
    const char **triples = xmalloc(3 * n * sizeof(*triples));
    for (size_t i = 0; i < n; i++) {
        triples[3 * i] = traces[i];
        triples[3 * i + 1] = now;
        triples[3 * i + 2] = now;
    }
    if (touch_triples(d, *conn, triples, n) != 0) {
        atomic_store(&d->resync_needed, 1);
        atomic_fetch_add(&d->stats->redis_failures, 1);
        atomic_store(&d->stats->redis_up, 0);
    }
    free(triples);
}

/* Re-schedules from PostgreSQL every pending trace not in the stream: never handed over, touched again
 * since, or handed over longer than TRIGGER_RESEND_MS ago (those recently handed over are in the stream
 * or being analysed: sending them again would only analyse them twice). Returns 0 when all were sent. */
static int resync(debounce_t *d, PGconn *pg, redisContext *rc)
{
    char after[INGEST_TRACE_ID_LEN + 1] = "";
    char stale[24];
    snprintf(stale, sizeof(stale), "%lld", now_ms() - d->cfg->trigger_resend_ms);
    size_t total = 0;
    for (;;) {
        const char *params[] = {after, stale};
        PGresult *r =
            PQexecParams(pg,
                         "SELECT trace_id, first_seen_ms::text, last_seen_ms::text FROM pending_triggers "
                         "WHERE trace_id > $1 AND (handed_at_ms IS NULL OR last_seen_ms > handed_at_ms OR "
                         "handed_at_ms <= $2::bigint) ORDER BY trace_id LIMIT 1000",
                         2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            PQclear(r);
            return -1;
        }
        int rows = PQntuples(r);
        if (rows == 0) {
            PQclear(r);
            break;
        }
        const char **triples = xmalloc(3 * (size_t)rows * sizeof(*triples));
        for (int i = 0; i < rows; i++)
            for (int c = 0; c < 3; c++)
                triples[3 * i + c] = PQgetvalue(r, i, c);
        int rc_touch = touch_triples(d, rc, triples, (size_t)rows);
        snprintf(after, sizeof(after), "%s", PQgetvalue(r, rows - 1, 0));
        free(triples);
        PQclear(r);
        if (rc_touch != 0) return -1;
        total += (size_t)rows;
        if (rows < RESYNC_PAGE) break;
    }
    if (total) log_info("debounce: re-scheduled %zu pending error traces from PostgreSQL", total);
    return 0;
}

/* Hands over again, through the debounce (they are due at once), the traces handed over longer than
 * TRIGGER_RESEND_MS ago and still not analysed: their stream entries were lost (a Redis that lost its
 * last writes) or their jobs are stuck. The pipeline skips a job whose trigger is already gone, so a
 * late duplicate costs one lookup. Returns 0 or -1. */
static int resend_stale(debounce_t *d, PGconn *pg, redisContext *rc)
{
    char stale[24], limit[16];
    snprintf(stale, sizeof(stale), "%lld", now_ms() - d->cfg->trigger_resend_ms);
    snprintf(limit, sizeof(limit), "%d", RESEND_LIMIT);
    const char *params[] = {stale, limit};
    PGresult *r =
        PQexecParams(pg,
                     "SELECT trace_id, first_seen_ms::text, last_seen_ms::text FROM pending_triggers "
                     "WHERE handed_at_ms <= $1::bigint ORDER BY handed_at_ms LIMIT $2::int",
                     2, NULL, params, NULL, NULL, 0);
    int rc_out = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_warn("pending_triggers resend: %s", PQerrorMessage(pg));
        goto out;
    }
    int rows = PQntuples(r);
    rc_out = 0;
    if (rows == 0) goto out;
    const char **triples = xmalloc(3 * (size_t)rows * sizeof(*triples));
    for (int i = 0; i < rows; i++)
        for (int c = 0; c < 3; c++)
            triples[3 * i + c] = PQgetvalue(r, i, c);
    rc_out = touch_triples(d, rc, triples, (size_t)rows);
    free(triples);
    if (rc_out == 0)
        log_warn("debounce: %d error traces handed over %d ms ago and not analysed yet: handed over again",
                 rows, d->cfg->trigger_resend_ms);
out:
    PQclear(r);
    return rc_out;
}

/* Moves due traces into the stream, then marks their PostgreSQL rows handed over. The rows stay until
 * the pipeline commits the analysis (pipeline/store.h): a stream entry lost with Redis is handed over
 * again by resend_stale(). Returns 0 or -1 (Redis failed). */
static int pop_due(debounce_t *d, PGconn *pg, redisContext *rc)
{
    long long now = now_ms();
    char nowbuf[24], limit[16];
    snprintf(nowbuf, sizeof(nowbuf), "%lld", now);
    snprintf(limit, sizeof(limit), "%d", POP_LIMIT);
    const char *argv[] = {"EVAL", pop_script, "3", d->zset_key, d->first_key, d->stream_key, nowbuf, limit};
    redisReply *r = redisCommandArgv(rc, 8, argv, NULL);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        if (r && r->type == REDIS_REPLY_ERROR) log_error("debounce pop: %s", r->str);
        freeReplyObject(r);
        return -1;
    }
    size_t n = r->elements;
    if (n > 0) {
        atomic_fetch_add(&d->stats->traces_enqueued, n);
        buf_t arr;
        buf_init(&arr, n * (INGEST_TRACE_ID_LEN + 1) + 8);
        int ok = buf_append_char(&arr, '{') == 0;
        for (size_t i = 0; i < n && ok; i++) {
            if (i) ok = buf_append_char(&arr, ',') == 0;
            ok = ok && buf_append(&arr, r->element[i]->str, r->element[i]->len) == 0;
        }
        ok = ok && buf_append_char(&arr, '}') == 0;
        const char *params[] = {arr.data, nowbuf};
        PGresult *pr = ok ? PQexecParams(pg,
                                         "UPDATE pending_triggers SET handed_at_ms = $2::bigint "
                                         "WHERE trace_id = ANY($1::text[])",
                                         2, NULL, params, NULL, NULL, 0)
                          : NULL;
        /* unmarked rows are handed over again at the next resync: analysed twice at worst */
        if (PQresultStatus(pr) != PGRES_COMMAND_OK)
            log_warn("pending_triggers hand-over: %s", ok ? PQerrorMessage(pg) : "array too large");
        PQclear(pr);
        buf_dispose(&arr);
        log_debug("debounce: %zu traces enqueued", n);
    }
    freeReplyObject(r);
    return 0;
}

/* An instance not holding the duty: its writers' Redis failed, so some of its triggers are only in
 * PostgreSQL. It asks the holder for a resync through Redis (the resync itself must run in the holder's
 * thread, between its pops: a resync racing another instance's pop would hand a trace over twice). */
static void follow(debounce_t *d, redisContext **rc)
{
    if (!redisx_ensure(rc, d->cfg->redis_url, REDIS_TIMEOUT_MS)) {
        atomic_store(&d->stats->redis_up, 0);
        atomic_store(&d->resync_needed, 1);
        return;
    }
    atomic_store(&d->stats->redis_up, 1);
    if (!atomic_load(&d->resync_needed)) return;
    redisReply *r = redisCommand(*rc, "SET %s %s", d->resync_key, "1");
    if (r && r->type == REDIS_REPLY_STATUS) atomic_store(&d->resync_needed, 0);
    freeReplyObject(r);
}

/* 1 when another instance asked for a resync (the request is consumed). */
static int resync_requested(debounce_t *d, redisContext *rc)
{
    redisReply *r = redisCommand(rc, "DEL %s", d->resync_key);
    int asked = r && r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return asked;
}

/* Every backend runs this thread; only the holder of the debounce duty (leader.h) pops due traces and
 * replays triggers from PostgreSQL, so hand-overs happen in one place and in one order. */
static void *scheduler_main(void *arg)
{
    debounce_t *d = arg;
    PGconn *pg = NULL;
    redisContext *rc = NULL;
    long long next_resend = 0;
    int was_holder = 0;
    while (!atomic_load(&d->stopping)) {
        usleep(TICK_MS * 1000);
        int holder = leader_holds(d->leader, LEADER_DEBOUNCE);
        /* a new holder resyncs once, as at start: the previous one may have died owing one */
        if (holder && !was_holder) atomic_store(&d->resync_needed, 1);
        was_holder = holder;
        if (!holder) {
            follow(d, &rc);
            continue;
        }
        if (!db_ensure(&pg, d->cfg->ingest_database_url)) continue;
        int reconnected = 0;
        if (!redisx_ensure_fresh(&rc, d->cfg->redis_url, REDIS_TIMEOUT_MS, &reconnected)) {
            atomic_store(&d->stats->redis_up, 0);
            atomic_store(&d->resync_needed, 1);
            continue;
        }
        /* a new connection may reach a new master (a failover) that lacks the last unreplicated touches */
        if (reconnected) atomic_store(&d->resync_needed, 1);
        atomic_store(&d->stats->redis_up, 1);
        if (resync_requested(d, rc)) atomic_store(&d->resync_needed, 1);
        if (atomic_exchange(&d->resync_needed, 0) && resync(d, pg, rc) != 0) {
            atomic_store(&d->resync_needed, 1);
            continue;
        }
        if (mono_ms() >= next_resend) {
            next_resend = mono_ms() + RESEND_CHECK_MS;
            if (resend_stale(d, pg, rc) != 0) continue;
        }
        if (pop_due(d, pg, rc) != 0) atomic_store(&d->resync_needed, 1);
    }
    PQfinish(pg);
    redisFree(rc);
    return NULL;
}

void debounce_start(debounce_t *d)
{
    pthread_create(&d->tid, NULL, scheduler_main, d);
    d->started = 1;
}

void debounce_free(debounce_t *d)
{
    if (d == NULL) return;
    if (d->started) {
        atomic_store(&d->stopping, 1);
        pthread_join(d->tid, NULL);
    }
    free(d);
}
