/* Leader election of singleton duties over PostgreSQL session advisory locks (see leader.h). */
#include "leader.h"
#include "alloc.h"
#include "log.h"
#include "program.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One statement per check: confirm the locks this session holds, try the others. CASE, not OR, so a
 * lock already held is never taken a second time (session locks stack). */
static const char check_sql[] =
    "SELECT k, CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
    "  AND pid = pg_backend_pid() AND classid = $1::int::oid AND objid = k::oid AND objsubid = 2 AND "
    "granted) "
    "  THEN true ELSE pg_try_advisory_lock($1::int, k) END "
    "FROM unnest($2::int[]) k";

/* A holder that stopped checking (a frozen or starved process, a network that drops packets) keeps its
 * session, and the kernel answers keepalives for a frozen process: its lock would never be freed. Its
 * session's state_change (updated by every check it runs) tells; past stale_after_ms we end that
 * session (same role: no privilege needed), so the lock is free at our next check. The holder's own
 * lease is shorter, so it stopped its duties before. */
static const char steal_sql[] =
    "SELECT l.objid::text, l.pid, pg_terminate_backend(l.pid) FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.classid = $1::int::oid AND l.objsubid = 2 AND l.granted "
    "  AND l.objid = ANY($2::oid[]) AND l.pid <> pg_backend_pid() AND a.state = 'idle' "
    "  AND a.state_change < clock_timestamp() - $3::int * interval '1 millisecond'";

struct leader {
    char *url;
    char instance[128];
    long long lease_ms;       /* a confirmation counts this long */
    long long stale_after_ms; /* a holder silent this long has its session ended by the others */
    int keepalive_idle_s, keepalive_count, user_timeout_ms;
    size_t n;
    leader_duty_t duties[LEADER_DUTY_MAX];
    /* per duty (indexed by its value): monotonic ms of the last confirmation, 0 when not held */
    atomic_llong confirmed_ms[LEADER_DUTY_MAX + 1];
    atomic_ulong acquired[LEADER_DUTY_MAX + 1];
    PGconn *pg; /* election thread only */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
};

const char *leader_duty_name(leader_duty_t duty)
{
    switch (duty) {
    case LEADER_RETENTION:
        return "retention";
    case LEADER_DEBOUNCE:
        return "debounce";
    case LEADER_ANOMALY:
        return "anomaly";
    case LEADER_DEGRADATION:
        return "degradation";
    }
    return "?";
}

void leader_default_instance(char *out, size_t outlen)
{
    char host[64] = "host";
    if (gethostname(host, sizeof(host) - 1) != 0) snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = '\0';
    snprintf(out, outlen, "%s-%d", host, (int)getpid());
}

/* The dedicated connection. Keepalives and TCP_USER_TIMEOUT on both ends: the server closes the session
 * of a vanished holder (freeing its locks) within keepalive_idle + keepalive_count seconds, and this
 * end's blocking calls fail instead of hanging on a dead network. */
static PGconn *connect_leader(const leader_t *l)
{
    char idle[16], count[16], utimeout[16], ctimeout[16], options[256];
    snprintf(idle, sizeof(idle), "%d", l->keepalive_idle_s);
    snprintf(count, sizeof(count), "%d", l->keepalive_count);
    snprintf(utimeout, sizeof(utimeout), "%d", l->user_timeout_ms);
    snprintf(ctimeout, sizeof(ctimeout), "%d", l->keepalive_idle_s + 1);
    snprintf(options, sizeof(options),
             "-c tcp_keepalives_idle=%d -c tcp_keepalives_interval=1 -c tcp_keepalives_count=%d "
             "-c tcp_user_timeout=%d -c statement_timeout=%lld -c jit=off",
             l->keepalive_idle_s, l->keepalive_count, l->user_timeout_ms, l->lease_ms);
    /* the URL first: the settings after it win over any of its own */
    const char *keys[] = {"dbname",           "application_name",
                          "connect_timeout",  "keepalives",
                          "keepalives_idle",  "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout",
                          "options",          NULL};
    const char *vals[] = {l->url, "prodsentinel-leader", ctimeout, "1", idle, "1", count, utimeout, options,
                          NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        log_debug("leader: cannot connect: %s", c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Marks every duty lost (the connection is gone, so are its locks). */
static void lose_all(leader_t *l, const char *why)
{
    for (size_t i = 0; i < l->n; i++)
        if (atomic_exchange(&l->confirmed_ms[l->duties[i]], 0) != 0)
            log_warn("leader: %s no longer holds duty %s (%s)", l->instance, leader_duty_name(l->duties[i]),
                     why);
}

/* Ends the sessions of holders silent for stale_after_ms among the duties in `keys` (an int[] literal). */
static void steal_silent(leader_t *l, const char *cls, const char *keys)
{
    char stale[24];
    snprintf(stale, sizeof(stale), "%lld", l->stale_after_ms);
    const char *params[] = {cls, keys, stale};
    PGresult *r = PQexecParams(l->pg, steal_sql, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        log_warn("leader: looking for silent holders: %s", PQerrorMessage(l->pg));
    else
        for (int i = 0; i < PQntuples(r); i++)
            log_warn("leader: %s ended session %s, holder of duty %s silent for over %lld ms", l->instance,
                     PQgetvalue(r, i, 1), leader_duty_name((leader_duty_t)atoi(PQgetvalue(r, i, 0))),
                     l->stale_after_ms);
    PQclear(r);
}

static void check(leader_t *l)
{
    if (l->pg != NULL && PQstatus(l->pg) != CONNECTION_OK) {
        PQfinish(l->pg);
        l->pg = NULL;
        lose_all(l, "connection lost");
    }
    if (l->pg == NULL && (l->pg = connect_leader(l)) == NULL) return;
    char cls[16], keys[8 * LEADER_DUTY_MAX + 4];
    snprintf(cls, sizeof(cls), "%d", LEADER_LOCK_CLASS);
    size_t o = (size_t)snprintf(keys, sizeof(keys), "{");
    for (size_t i = 0; i < l->n; i++)
        o += (size_t)snprintf(keys + o, sizeof(keys) - o, "%s%d", i ? "," : "", (int)l->duties[i]);
    snprintf(keys + o, sizeof(keys) - o, "}");
    const char *params[] = {cls, keys};
    long long asked = mono_ms();
    PGresult *r = PQexecParams(l->pg, check_sql, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_warn("leader: lock check failed: %s", PQerrorMessage(l->pg));
        PQclear(r);
        PQfinish(l->pg); /* closing frees whatever this session still held on the server */
        l->pg = NULL;
        lose_all(l, "lock check failed");
        return;
    }
    char others[8 * LEADER_DUTY_MAX + 4] = "{"; /* the duties someone else holds */
    size_t no = 1;
    for (int i = 0; i < PQntuples(r); i++) {
        int duty = atoi(PQgetvalue(r, i, 0));
        if (duty < 1 || duty > LEADER_DUTY_MAX) continue;
        int held = strcmp(PQgetvalue(r, i, 1), "t") == 0;
        /* the lease runs from when the check was asked: the answer can only be older than that */
        long long before = atomic_exchange(&l->confirmed_ms[duty], held ? asked : 0);
        if (held && before == 0) {
            atomic_fetch_add(&l->acquired[duty], 1);
            log_info("leader: %s holds duty %s", l->instance, leader_duty_name((leader_duty_t)duty));
        } else if (!held && before != 0) {
            log_warn("leader: %s lost duty %s", l->instance, leader_duty_name((leader_duty_t)duty));
        }
        if (!held) no += (size_t)snprintf(others + no, sizeof(others) - no, "%s%d", no > 1 ? "," : "", duty);
    }
    PQclear(r);
    if (no > 1) {
        snprintf(others + no, sizeof(others) - no, "}");
        steal_silent(l, cls, others);
    }
}

static void *run(void *arg)
{
    leader_t *l = arg;
    pthread_mutex_lock(&l->lock);
    while (!l->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(LEADER_CHECK_MS % 1000) * 1000000;
        until.tv_sec += LEADER_CHECK_MS / 1000 + until.tv_nsec / 1000000000;
        until.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&l->wake, &l->lock, &until);
        if (l->stopping) break;
        pthread_mutex_unlock(&l->lock);
        check(l);
        pthread_mutex_lock(&l->lock);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

leader_t *leader_start(const char *database_url, const char *instance_id, int takeover_s,
                       const leader_duty_t *duties, size_t nduties)
{
    leader_t *l = xcalloc(1, sizeof(*l));
    l->url = xstrdup(database_url);
    snprintf(l->instance, sizeof(l->instance), "%s", instance_id);
    if (takeover_s < 3) takeover_s = 3;
    /* fencing: the holder stops after a third of the takeover time without a confirmation; the others
     * end a silent holder's session after two fifths, and the server one whose network died after about
     * two thirds (keepalives); the others try every second */
    l->lease_ms = takeover_s * 1000LL / 3;
    l->stale_after_ms = takeover_s * 2000LL / 5;
    l->keepalive_idle_s = takeover_s / 3;
    l->keepalive_count = takeover_s / 3;
    l->user_timeout_ms = takeover_s * 2000 / 3;
    for (size_t i = 0; i < nduties && l->n < LEADER_DUTY_MAX; i++)
        if (duties[i] >= 1 && duties[i] <= LEADER_DUTY_MAX) l->duties[l->n++] = duties[i];
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->wake, NULL);
    check(l);
    pthread_create(&l->thread, NULL, run, l);
    return l;
}

void leader_stop(leader_t *l)
{
    if (l == NULL) return;
    pthread_mutex_lock(&l->lock);
    l->stopping = 1;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    PQfinish(l->pg); /* frees the locks at once: the others take over at their next check */
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->wake);
    free(l->url);
    free(l);
}

int leader_holds(const leader_t *l, leader_duty_t duty)
{
    if (l == NULL) return 1;
    if (duty < 1 || duty > LEADER_DUTY_MAX) return 0;
    long long at = atomic_load(&((leader_t *)l)->confirmed_ms[duty]);
    return at != 0 && mono_ms() - at <= l->lease_ms;
}

const char *leader_instance(const leader_t *l)
{
    return l ? l->instance : "";
}

int leader_write_metrics(const leader_t *l, buf_t *out)
{
    if (l == NULL) return 0;
    if (buf_printf(out, "# TYPE prodsentinel_leader gauge\n") != 0) return -1;
    for (size_t i = 0; i < l->n; i++)
        if (buf_printf(out, "prodsentinel_leader{instance=\"%s\",duty=\"%s\"} %d\n", l->instance,
                       leader_duty_name(l->duties[i]), leader_holds(l, l->duties[i])) != 0)
            return -1;
    if (buf_printf(out, "# TYPE prodsentinel_leader_acquired_total counter\n") != 0) return -1;
    for (size_t i = 0; i < l->n; i++)
        if (buf_printf(out, "prodsentinel_leader_acquired_total{instance=\"%s\",duty=\"%s\"} %lu\n",
                       l->instance, leader_duty_name(l->duties[i]),
                       atomic_load(&((leader_t *)l)->acquired[l->duties[i]])) != 0)
            return -1;
    return 0;
}

json_t *leader_status_json(const leader_t *l)
{
    json_t *duties = json_array();
    for (size_t i = 0; l && i < l->n; i++)
        if (leader_holds(l, l->duties[i]))
            json_array_append_new(duties, json_string(leader_duty_name(l->duties[i])));
    return json_pack("{s:s,s:o}", "instance", leader_instance(l), "duties", duties);
}
