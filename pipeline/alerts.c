/* Alert queue and sender (see alerts.h); what each destination is sent is alert_formats.h's. */
#include "alerts.h"
#include "alert_formats.h"
#include "alloc.h"
#include "buf.h"
#include "db.h"
#include "log.h"
#include "redact.h"
#include "safetext.h"
#include "url_origin.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEND_TIMEOUT_MS 5000L
#define MAX_BACKOFF_S 600
/* a destination answering a permanent 4xx is tried this many times in all, then marked failed */
#define MAX_PERMANENT_ATTEMPTS 3
/* how much of a failed answer is kept in last_error */
#define ANSWER_EXCERPT_BYTES 200
/* the dashboard's page of an incident (a hash route, relative to where the dashboard is served) */
#define ALERTS_LINK_FMT "/#/incident/%lld"
/* A delivery is claimed right before it is posted, one at a time, for LEASE_MS: longer than one post can
 * take, so no other pipeline takes it over while it is being sent, and short enough (under
 * LEADER_TAKEOVER_S' default) that the alerts a dead pipeline held are sent by another soon. */
#define LEASE_MS (SEND_TIMEOUT_MS + 5000L)
#define LEASE_SQL "interval '10 seconds'" /* LEASE_MS in SQL */
_Static_assert(LEASE_MS == 10000L, "LEASE_SQL states LEASE_MS");
/* most deliveries one sender posts in a round (200 ms apart) */
#define SENDS_PER_ROUND 20
/* serialises the claims of all pipelines, so the per-destination rate counts what the others hold */
#define CLAIM_LOCK_KEY 7263516
#define ALERTMANAGER_PATH "/api/v2/alerts"

struct alerts {
    const config_t *cfg;
    alert_dest_t dest[ALERT_DEST_MAX];
    int ndest;
    char *dest_literal; /* PostgreSQL text[] literal of the configured destinations' ids */
    pthread_t tid;
    atomic_int stopping;
};

/* The configured ids as a text[] literal, each element quoted ("..." with \\ before " and \\). */
static char *destinations_literal(const alerts_t *a)
{
    size_t cap = 2 + (size_t)a->ndest * (2 * sizeof(a->dest[0].id) + 3);
    char *out = xmalloc(cap), *w = out;
    *w++ = '{';
    for (int i = 0; i < a->ndest; i++) {
        if (i) *w++ = ',';
        *w++ = '"';
        for (const char *p = a->dest[i].id; *p; p++) {
            if (*p == '"' || *p == '\\') *w++ = '\\';
            *w++ = *p;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    return out;
}

/* The active silence (its id; the lowest when several) matching an alert about `service` (SQL text) and
 * `endpoint` of incident `incident` (bigint): the silence's service is the alert's or its incident's
 * root service, and its endpoint, when it names one, the alert's or one of the incident's. One
 * definition for queuing (enqueue_sql) and for what was queued before the silence (silence_pending). */
#define ACTIVE_SILENCE(service, endpoint, incident)                                                          \
    "(SELECT s.id FROM silences s WHERE s.starts_at <= now() AND s.ends_at > now() AND (s.service "          \
    "= " service " OR s.service = (SELECT root_service FROM incidents WHERE id = " incident                  \
    ")) AND (s.endpoint "                                                                                    \
    "IS NULL OR s.endpoint = " endpoint " OR s.endpoint = ANY (coalesce((SELECT endpoints FROM incidents "   \
    "WHERE id = " incident "), '{}'))) ORDER BY s.id LIMIT 1)"

/* One destination's row of an alert. The state is decided here, in this order: 'filtered' (below the
 * destination's min_severity, $7), 'silenced' (ACTIVE_SILENCE), 'suppressed' ($7, a report below
 * ALERT_MIN_CONFIDENCE), else 'pending'. A "resolved" alert is stored only where its incident's page
 * went (or is going), and is never silenced: it closes what was sent. A destination that was never
 * paged, or whose page was silenced or filtered, gets no resolve. */
#define QUEUED_SILENCE ACTIVE_SILENCE("$10", "$11", "$8::bigint")
static const char enqueue_sql[] =
    "WITH sil AS (SELECT CASE WHEN $4 <> 'resolved' THEN " QUEUED_SILENCE " END AS id) "
    "INSERT INTO alert_deliveries (destination, format, dedup_key, kind, payload, confidence, state, "
    "  incident_id, severity, last_error) "
    "SELECT $1, $2, $3, $4, $5::jsonb, $6::float8, CASE WHEN $7 = 'filtered' THEN 'filtered' "
    "  WHEN sil.id IS NOT NULL THEN 'silenced' ELSE $7 END, $8::bigint, $9, "
    "  CASE WHEN $7 = 'filtered' THEN $12 WHEN sil.id IS NOT NULL THEN 'silenced by silence ' || sil.id END "
    "FROM sil WHERE $4 <> 'resolved' OR EXISTS (SELECT 1 FROM alert_deliveries t WHERE t.destination = $1 "
    "  AND t.incident_id = $8::bigint AND t.kind IN ('incident', 'degradation') "
    "  AND t.state IN ('pending', 'sending', 'delivered')) "
    "ON CONFLICT (destination, dedup_key) DO NOTHING";

static int enqueue_one(const alerts_t *a, PGconn *c, const alert_dest_t *d, const char *kind,
                       const char *dedup_key, const char *body, const json_t *payload, double confidence)
{
    alert_severity_t sev = alert_payload_severity(payload);
    int suppressed = confidence >= 0 && confidence < a->cfg->alert_min_confidence;
    /* a resolve follows its page, whatever its own severity */
    int filtered = strcmp(kind, "resolved") != 0 && sev < d->min_severity;
    char conf[32], incident[24], why[96];
    snprintf(conf, sizeof(conf), "%.6f", confidence);
    const json_t *id = json_object_get(payload, "incident_id");
    snprintf(incident, sizeof(incident), "%lld", (long long)json_integer_value(id));
    snprintf(why, sizeof(why), "severity %s is below this destination's min_severity %s",
             alert_severity_name(sev), alert_severity_name(d->min_severity));
    const char *p[] = {d->id,
                       alert_dest_type_name(d->type),
                       dedup_key,
                       kind,
                       body,
                       confidence >= 0 ? conf : NULL,
                       filtered     ? "filtered"
                       : suppressed ? "suppressed"
                                    : "pending",
                       json_is_integer(id) ? incident : NULL,
                       alert_severity_name(sev),
                       json_string_value(json_object_get(payload, "service")),
                       json_string_value(json_object_get(payload, "endpoint")),
                       why};
    PGresult *r = PQexecParams(c, enqueue_sql, 12, NULL, p, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        /* the primary message only: the detail may quote the row */
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        log_warn("alert not queued for %s: %s", d->id, msg ? msg : "connection lost");
        rc = -1;
    }
    PQclear(r);
    return rc;
}

int alerts_enqueue(const alerts_t *a, PGconn *c, const char *kind, const char *dedup_key, json_t *payload,
                   double confidence)
{
    if (a == NULL) return 0;
    /* links absolute under PUBLIC_URL in what is stored, so every destination (and the JSON one as it
     * is) gets a link that opens from a chat or a pager */
    json_t *copy = payload ? json_deep_copy(payload) : NULL;
    if (copy) alert_format_absolute_links(copy, a->cfg->public_url);
    char *body = copy ? json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (body == NULL) {
        log_warn("alert %s not queued: no payload", dedup_key);
        json_decref(copy);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < a->ndest; i++)
        if (alert_format_takes(a->dest[i].type, kind) &&
            enqueue_one(a, c, &a->dest[i], kind, dedup_key, body, copy, confidence) != 0)
            rc = -1;
    free(body);
    json_decref(copy);
    return rc;
}

/* ---- Payloads ---- */

/* Every payload leaves the machine: its strings are redacted (the text and the embedded report
 * included). Takes `p`; returns a new reference, NULL when `p` is NULL. */
static json_t *redacted(json_t *p)
{
    if (p == NULL) return NULL;
    json_t *r = redact_json(p);
    json_decref(p);
    return r;
}

json_t *alerts_incident_payload(long long incident_id, const char *title, const char *service)
{
    json_t *link = json_sprintf(ALERTS_LINK_FMT, incident_id);
    json_t *text =
        service ? json_sprintf("New incident #%lld in %s: %s %s", incident_id, service, title,
                               json_string_value(link))
                : json_sprintf("New incident #%lld: %s %s", incident_id, title, json_string_value(link));
    json_t *p =
        json_pack("{s:s,s:I,s:s,s:s?,s:o,s:o}", "kind", "incident", "incident_id", (json_int_t)incident_id,
                  "title", title, "service", service, "link", link, "text", text);
    return redacted(p); /* json_pack steals link and text, even when it fails */
}

json_t *alerts_resolved_payload(long long incident_id, const char *title, const char *service)
{
    json_t *link = json_sprintf(ALERTS_LINK_FMT, incident_id);
    json_t *text = service ? json_sprintf("Resolved: incident #%lld in %s: %s %s", incident_id, service,
                                          title, json_string_value(link))
                           : json_sprintf("Resolved: incident #%lld: %s %s", incident_id, title,
                                          json_string_value(link));
    return redacted(json_pack("{s:s,s:I,s:s,s:s?,s:o,s:o}", "kind", "resolved", "incident_id",
                              (json_int_t)incident_id, "title", title, "service", service, "link", link,
                              "text", text));
}

json_t *alerts_degradation_payload(long long incident_id, const char *service, const char *endpoint,
                                   const char *explanation)
{
    json_t *link = json_sprintf(ALERTS_LINK_FMT, incident_id);
    json_t *text = json_sprintf("Degradation #%lld of %s %s: %s %s", incident_id, service, endpoint,
                                explanation, json_string_value(link));
    return redacted(json_pack("{s:s,s:I,s:s,s:s,s:s,s:o,s:o}", "kind", "degradation", "incident_id",
                              (json_int_t)incident_id, "title", explanation, "service", service, "endpoint",
                              endpoint, "link", link, "text", text));
}

double alerts_report_confidence(const json_t *report)
{
    const json_t *c = json_object_get(report, "confidence");
    return json_is_number(c) ? json_number_value(c) : 0;
}

json_t *alerts_report_payload(long long incident_id, int version, const char *title, const char *service,
                              json_t *report)
{
    const char *summary = json_string_value(json_object_get(report, "summary"));
    if (summary == NULL) summary = title;
    json_t *conf = json_object_get(report, "confidence");
    json_t *link = json_sprintf(ALERTS_LINK_FMT, incident_id);
    json_t *text = json_sprintf("Report v%d for incident #%lld (%s, confidence %.2f): %s %s", version,
                                incident_id, service ? service : "no root service",
                                alerts_report_confidence(report), summary, json_string_value(link));
    return redacted(json_pack("{s:s,s:I,s:i,s:s,s:s?,s:s,s:O?,s:o,s:O,s:o}", "kind", "report", "incident_id",
                              (json_int_t)incident_id, "version", version, "title", title, "service", service,
                              "summary", summary, "confidence", json_is_number(conf) ? conf : NULL, "link",
                              link, "report", report, "text", text));
}

char *alerts_slack_body(const char *payload_json)
{
    json_t *p = json_loads(payload_json, 0, NULL);
    const char *text = json_string_value(json_object_get(p, "text"));
    char *body = NULL;
    if (text) {
        char *clean = redact_str(text);
        char *escaped = safetext_slack_escape(clean);
        json_t *slack = json_pack("{s:s}", "text", escaped);
        body = slack ? json_dumps(slack, JSON_COMPACT) : NULL;
        json_decref(slack);
        free(escaped);
        free(clean);
    }
    json_decref(p);
    return body;
}

/* ---- Sender ---- */

/* The start of a receiver's answer, for last_error. */
typedef struct {
    char text[ANSWER_EXCERPT_BYTES + 1];
    size_t len;
} excerpt_t;

static size_t keep_excerpt(char *p, size_t s, size_t n, void *ud)
{
    excerpt_t *e = ud;
    size_t take = s * n < ANSWER_EXCERPT_BYTES - e->len ? s * n : ANSWER_EXCERPT_BYTES - e->len;
    /* stored as text: bytes outside printable ASCII (a UTF-8 sequence cut at the limit) become '?' */
    for (size_t i = 0; i < take; i++)
        e->text[e->len++] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
    e->text[e->len] = '\0';
    return s * n;
}

/* A 4xx that no retry will change: the destination refuses this alert (gone, forbidden, malformed).
 * 408 (timeout) and 429 (rate limit) are worth retrying. */
static int permanent_status(long status)
{
    return status >= 400 && status <= 499 && status != 408 && status != 429;
}

/* Where a destination's alerts are posted (secret: never logged or stored). */
static void post_url(const alerts_t *a, const alert_dest_t *d, char *out, size_t outlen)
{
    if (d->type == ALERT_DEST_PAGERDUTY) {
        snprintf(out, outlen, "%s", a->cfg->pagerduty_events_url);
        return;
    }
    size_t n = strlen(d->target), k = strlen(ALERTMANAGER_PATH);
    if (d->type != ALERT_DEST_ALERTMANAGER || (n >= k && strcmp(d->target + n - k, ALERTMANAGER_PATH) == 0)) {
        snprintf(out, outlen, "%s", d->target);
        return;
    }
    while (n > 0 && d->target[n - 1] == '/')
        n--;
    snprintf(out, outlen, "%.*s%s", (int)n, d->target, ALERTMANAGER_PATH);
}

/* Posts `body`; returns 0 on a 2xx answer, else -1 with the reason (which never holds the URL: it is
 * stored in alert_deliveries.last_error). *status is the HTTP status (0 when none came) and `answer`
 * the start of the answer, redacted. */
static int post(CURL *curl, const char *url, const char *body, long *status, excerpt_t *answer, char *err,
                size_t errlen)
{
    *status = 0;
    answer->len = 0;
    answer->text[0] = '\0';
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, SEND_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_excerpt);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    CURLcode cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
        return -1;
    }
    if (*status < 200 || *status > 299) {
        char *clean = redact_str(answer->text);
        snprintf(answer->text, sizeof(answer->text), "%s", clean ? clean : "");
        free(clean);
        snprintf(err, errlen, "HTTP %ld", *status);
        return -1;
    }
    return 0;
}

/* Marks pending deliveries to destinations no longer in ALERT_WEBHOOKS abandoned: nobody would send
 * them, and they would stay pending for ever. (Every pipeline is expected to share one ALERT_WEBHOOKS.) */
static int abandon_unconfigured(alerts_t *a, PGconn *c)
{
    int rc = 0;
    const char *p[] = {a->dest_literal};
    PGresult *r = PQexecParams(c,
                               "UPDATE alert_deliveries SET state = 'abandoned', "
                               "last_error = 'destination no longer configured' "
                               "WHERE state IN ('pending', 'sending') AND destination <> ALL($1::text[])",
                               1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        log_warn("abandoning alerts of removed destinations: %s",
                 PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
        rc = -1;
    } else if (strcmp(PQcmdTuples(r), "0") != 0)
        log_warn("%s alerts to destinations no longer configured marked abandoned", PQcmdTuples(r));
    PQclear(r);
    return rc;
}

/* Alerts queued before a silence began (waiting for a retry, or behind the rate) that it matches are
 * not sent either: marked 'silenced' before each round's claims. Resolves are left to close what was
 * sent. */
#define PENDING_SILENCE ACTIVE_SILENCE("d.payload->>'service'", "d.payload->>'endpoint'", "d.incident_id")
static const char silence_pending_sql[] =
    "WITH m AS (SELECT d.id, " PENDING_SILENCE " AS silence FROM alert_deliveries d "
    "  WHERE d.state = 'pending' AND d.kind <> 'resolved') "
    "UPDATE alert_deliveries a SET state = 'silenced', last_error = 'silenced by silence ' || m.silence "
    "FROM m WHERE a.id = m.id AND m.silence IS NOT NULL AND a.state = 'pending'";

static void silence_pending(PGconn *c)
{
    PGresult *r = PQexec(c, silence_pending_sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        log_warn("silencing queued alerts: %s", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
    PQclear(r);
}

/* Claims the next due delivery, within its destination's rate, for LEASE_MS: the row becomes 'sending'
 * with next_attempt_at at the lease's end and attempts counted, so another pipeline skips it (FOR UPDATE
 * SKIP LOCKED while claiming, the state after) and takes it over only when the lease ran out (the
 * claimer died). attempts is also the claim's fencing token: a late answer of a claimer whose lease
 * was taken over changes nothing (settle() matches it). The rate counts what was delivered in the last
 * minute and what any pipeline is sending now; claims are serialised by an advisory lock so that count
 * is exact. A resolve waits for its incident's pages to the same destination, so it never overtakes
 * them. Returns 0 or 1 row (caller clears), or NULL on error. */
static PGresult *claim(alerts_t *a, PGconn *c)
{
    char rate[16];
    snprintf(rate, sizeof(rate), "%d", a->cfg->alert_rate_per_min);
    const char *p[] = {rate, a->dest_literal};
    PGresult *r = PQexec(c, "BEGIN");
    PQclear(r);
    char lock[64];
    snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d)", CLAIM_LOCK_KEY);
    r = PQexec(c, lock);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    r = NULL;
    if (ok)
        r = PQexecParams(
            c,
            "WITH cand AS (SELECT d.id FROM alert_deliveries d WHERE d.state IN ('pending', 'sending') "
            "  AND d.next_attempt_at <= now() AND d.destination = ANY($2::text[]) "
            "  AND NOT (d.kind = 'resolved' AND EXISTS (SELECT 1 FROM alert_deliveries t WHERE "
            "    t.destination = d.destination AND t.incident_id = d.incident_id AND t.id < d.id "
            "    AND t.kind IN ('incident', 'degradation') AND t.state IN ('pending', 'sending'))) "
            "  ORDER BY d.id LIMIT 100 FOR UPDATE SKIP LOCKED), "
            "ranked AS (SELECT d.id, row_number() OVER (PARTITION BY d.destination ORDER BY d.id) AS nth, "
            "  (SELECT count(*) FROM alert_deliveries s WHERE s.destination = d.destination "
            "    AND (s.delivered_at > now() - interval '1 minute' "
            "      OR (s.state = 'sending' AND s.next_attempt_at > now()))) AS recent "
            "  FROM alert_deliveries d JOIN cand USING (id)), "
            "pick AS (SELECT id FROM ranked WHERE nth <= $1::int - recent ORDER BY id LIMIT 1) "
            "UPDATE alert_deliveries a SET state = 'sending', attempts = a.attempts + 1, "
            "  next_attempt_at = now() + " LEASE_SQL " FROM pick WHERE a.id = pick.id "
            "RETURNING a.id, a.destination, a.kind, a.payload::text, a.attempts, a.incident_id, "
            "  to_json(a.created_at) #>> '{}'",
            2, NULL, p, NULL, NULL, 0);
    ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    PGresult *end = PQexec(c, ok ? "COMMIT" : "ROLLBACK");
    ok = ok && PQresultStatus(end) == PGRES_COMMAND_OK;
    PQclear(end);
    if (!ok) {
        if (r) log_warn("claiming alerts: %s", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
        PQclear(r);
        return NULL;
    }
    return r;
}

/* The triggers (incident, degradation) of `incident` sent to `dest`, as alert_format_in_t.triggers_json
 * wants them (caller frees); NULL on error. */
static char *triggers_of(PGconn *c, const char *dest, const char *incident)
{
    const char *p[] = {dest, incident};
    PGresult *r = PQexecParams(
        c,
        "SELECT coalesce(json_agg(json_build_object('payload', payload, 'queued_at', "
        "  to_json(created_at) #>> '{}') ORDER BY id), '[]')::text FROM alert_deliveries "
        "WHERE destination = $1 AND incident_id = $2::bigint AND kind IN ('incident', 'degradation') "
        "AND state = 'delivered'",
        2, NULL, p, NULL, NULL, 0);
    char *out =
        PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? xstrdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return out;
}

typedef enum { OUTCOME_DELIVERED, OUTCOME_RETRY, OUTCOME_FAILED, OUTCOME_RELEASE } outcome_t;

/* Records what became of claimed delivery `id` (claimed with `attempts`), if this pipeline still holds
 * it. */
static void settle(const alerts_t *a, PGconn *c, const char *id, int attempts, outcome_t o, const char *err)
{
    char att[16], wait[32];
    snprintf(att, sizeof(att), "%d", attempts);
    /* exponential backoff: base x 2^attempts, at most MAX_BACKOFF_S */
    double backoff_ms =
        (double)a->cfg->alert_retry_base_ms * (double)(1LL << (attempts < 20 ? attempts : 20));
    if (backoff_ms > MAX_BACKOFF_S * 1000.0) backoff_ms = MAX_BACKOFF_S * 1000.0;
    snprintf(wait, sizeof(wait), "%.0f", backoff_ms);
    /* a settled row's next_attempt_at goes back from the lease's end to when its last attempt was due
     * and claimed; each statement reads the first nparams[o] of {id, attempts, error, wait} */
    static const char *const sql[] = {
        [OUTCOME_DELIVERED] =
            "UPDATE alert_deliveries SET state = 'delivered', delivered_at = now(), last_error = NULL, "
            "next_attempt_at = next_attempt_at - " LEASE_SQL " WHERE id = $1::bigint AND state = 'sending' "
            "AND attempts = $2::int",
        [OUTCOME_RETRY] = "UPDATE alert_deliveries SET state = 'pending', last_error = $3, next_attempt_at = "
                          "now() + $4::bigint * interval '1 millisecond' WHERE id = $1::bigint AND state = "
                          "'sending' AND attempts = $2::int",
        [OUTCOME_FAILED] = "UPDATE alert_deliveries SET state = 'failed', last_error = $3, next_attempt_at = "
                           "next_attempt_at - " LEASE_SQL
                           " WHERE id = $1::bigint AND state = 'sending' AND attempts = $2::int",
        /* not tried (the pipeline is stopping): due again at once, the claim not counted */
        [OUTCOME_RELEASE] =
            "UPDATE alert_deliveries SET state = 'pending', attempts = attempts - 1, "
            "next_attempt_at = now() WHERE id = $1::bigint AND state = 'sending' AND attempts = "
            "$2::int",
    };
    static const int nparams[] = {
        [OUTCOME_DELIVERED] = 2, [OUTCOME_RETRY] = 4, [OUTCOME_FAILED] = 3, [OUTCOME_RELEASE] = 2};
    const char *p[] = {id, att, err, wait};
    PGresult *u = PQexecParams(c, sql[o], nparams[o], NULL, p, NULL, NULL, 0);
    if (PQresultStatus(u) != PGRES_COMMAND_OK)
        log_warn("alert %s: recording its outcome: %s", id, PQresultErrorField(u, PG_DIAG_MESSAGE_PRIMARY));
    else if (strcmp(PQcmdTuples(u), "0") == 0)
        log_warn("alert %s: its lease ran out before the answer (another pipeline may have sent it too)", id);
    PQclear(u);
}

static const alert_dest_t *dest_by_id(const alerts_t *a, const char *id)
{
    for (int i = 0; i < a->ndest; i++)
        if (strcmp(a->dest[i].id, id) == 0) return &a->dest[i];
    return NULL;
}

/* Sends claimed row `i` of `r` and records the outcome. */
static void send_one(alerts_t *a, PGconn *c, CURL *curl, PGresult *r, int i)
{
    const char *id = PQgetvalue(r, i, 0), *kind = PQgetvalue(r, i, 2);
    int attempts = atoi(PQgetvalue(r, i, 4));
    const alert_dest_t *d = dest_by_id(a, PQgetvalue(r, i, 1));
    if (d == NULL) { /* claim() takes configured destinations only */
        settle(a, c, id, attempts, OUTCOME_RELEASE, NULL);
        return;
    }
    char err[320] = "", url[ALERT_DEST_TARGET_MAX + 32], origin[URL_ORIGIN_MAX];
    char *triggers = NULL;
    if (d->type == ALERT_DEST_ALERTMANAGER && strcmp(kind, "resolved") == 0 && !PQgetisnull(r, i, 5))
        triggers = triggers_of(c, d->id, PQgetvalue(r, i, 5));
    alert_format_in_t in = {.type = d->type,
                            .payload_json = PQgetvalue(r, i, 3),
                            .queued_at = PQgetvalue(r, i, 6),
                            .routing_key = d->target,
                            .triggers_json = triggers};
    char *body = alert_format_body(&in, err, sizeof(err));
    free(triggers);
    if (body == NULL) { /* nothing this destination can be sent: no retry changes that */
        settle(a, c, id, attempts, OUTCOME_FAILED, err);
        log_warn("alert %s to %s not sent: %s", id, d->id, err);
        return;
    }
    post_url(a, d, url, sizeof(url));
    long status;
    excerpt_t answer;
    int ok = post(curl, url, body, &status, &answer, err, sizeof(err)) == 0;
    free(body);
    int give_up = !ok && permanent_status(status) && attempts >= MAX_PERMANENT_ATTEMPTS;
    /* the final word keeps what the receiver said */
    if (give_up) snprintf(err, sizeof(err), "HTTP %ld: %s", status, answer.text);
    settle(a, c, id, attempts, ok ? OUTCOME_DELIVERED : give_up ? OUTCOME_FAILED : OUTCOME_RETRY, err);
    url_origin(url, origin, sizeof(origin));
    if (give_up)
        log_warn("alert %s to %s (%s) refused %d times (%s): marked failed", id, d->id, origin, attempts,
                 err);
    else if (!ok)
        log_info("alert %s to %s (%s) failed (%s); retried later", id, d->id, origin, err);
}

/* Sends what is due, within each destination's rate, one claim at a time. */
static void send_due(alerts_t *a, PGconn *c, CURL *curl)
{
    silence_pending(c);
    for (int n = 0; n < SENDS_PER_ROUND && !atomic_load(&a->stopping); n++) {
        PGresult *r = claim(a, c);
        int got = r && PQntuples(r) == 1;
        if (got) send_one(a, c, curl, r, 0);
        PQclear(r);
        if (!got) return;
    }
}

/* Sends the pages of open incidents delivered to each Alertmanager again, with the labels and startsAt
 * they fired with: Alertmanager resolves an alert it has not heard of for its resolve_timeout. Best
 * effort (the next round tries again); every pipeline does it, which Alertmanager takes as one alert.
 * An incident whose resolve was queued is left alone. */
static void refresh_alertmanagers(const alerts_t *a, PGconn *c, CURL *curl)
{
    for (int i = 0; i < a->ndest; i++) {
        const alert_dest_t *d = &a->dest[i];
        if (d->type != ALERT_DEST_ALERTMANAGER) continue;
        const char *p[] = {d->id};
        PGresult *r = PQexecParams(
            c,
            "SELECT coalesce(json_agg(json_build_object('payload', x.payload, 'queued_at', "
            "  to_json(x.created_at) #>> '{}') ORDER BY x.id), '[]')::text FROM (SELECT d.id, d.payload, "
            "  d.created_at FROM alert_deliveries d JOIN incidents i ON i.id = d.incident_id "
            "  WHERE d.destination = $1 AND d.state = 'delivered' AND d.kind IN ('incident', 'degradation') "
            "  AND i.status = 'open' AND NOT EXISTS (SELECT 1 FROM alert_deliveries z WHERE z.destination = "
            "  d.destination AND z.incident_id = d.incident_id AND z.kind = 'resolved') "
            "  ORDER BY d.id DESC LIMIT 500) x",
            1, NULL, p, NULL, NULL, 0);
        char err[128], url[ALERT_DEST_TARGET_MAX + 32];
        char *body = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                         ? alert_format_am_firing(PQgetvalue(r, 0, 0), err, sizeof(err))
                         : NULL;
        PQclear(r);
        if (body == NULL) continue; /* nothing open (or the database is away: next round) */
        post_url(a, d, url, sizeof(url));
        long status;
        excerpt_t answer;
        if (post(curl, url, body, &status, &answer, err, sizeof(err)) != 0)
            log_info("open pages to %s not sent again (%s); next round in %d s", d->id, err,
                     a->cfg->alertmanager_resend_s);
        free(body);
    }
}

static long long monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void *sender_main(void *arg)
{
    alerts_t *a = arg;
    PGconn *c = NULL;
    CURL *curl = curl_easy_init();
    int abandoned = 0; /* the configuration is fixed: once per process */
    long long refreshed_ms = monotonic_ms();
    while (!atomic_load(&a->stopping)) {
        if (db_ensure(&c, a->cfg->pipeline_database_url)) {
            if (!abandoned) abandoned = abandon_unconfigured(a, c) == 0;
            send_due(a, c, curl);
            if (a->cfg->alertmanager_resend_s > 0 &&
                monotonic_ms() - refreshed_ms >= a->cfg->alertmanager_resend_s * 1000LL) {
                refresh_alertmanagers(a, c, curl);
                refreshed_ms = monotonic_ms();
            }
        }
        usleep(200 * 1000);
    }
    curl_easy_cleanup(curl);
    PQfinish(c);
    return NULL;
}

alerts_t *alerts_start(const config_t *cfg)
{
    if (cfg->alert_webhooks == NULL) return NULL;
    alerts_t *a = xcalloc(1, sizeof(*a));
    a->cfg = cfg;
    char err[256];
    if (alert_dest_parse(cfg->alert_webhooks, a->dest, &a->ndest, err, sizeof(err)) != 0) {
        /* config_load() validated it: not reached */
        log_error("ALERT_WEBHOOKS: %s; alerts off", err);
        free(a);
        return NULL;
    }
    for (int i = 0; i < a->ndest; i++)
        log_info("alert destination %s (min_severity %s)", a->dest[i].id,
                 alert_severity_name(a->dest[i].min_severity));
    if (cfg->public_url == NULL)
        log_warn("PUBLIC_URL is not set: alert links are relative (/#/incident/N) and cannot be opened from "
                 "a chat or a pager; set it to the dashboard's address");
    a->dest_literal = destinations_literal(a);
    pthread_create(&a->tid, NULL, sender_main, a);
    return a;
}

void alerts_stop(alerts_t *a)
{
    if (a == NULL) return;
    atomic_store(&a->stopping, 1);
    pthread_join(a->tid, NULL);
    free(a->dest_literal);
    free(a);
}
