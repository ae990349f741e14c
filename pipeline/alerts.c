/* Webhook alert queue and sender (see alerts.h). */
#include "alerts.h"
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
#include <unistd.h>

#define MAX_DESTINATIONS 16
#define SEND_TIMEOUT_MS 5000L
#define MAX_BACKOFF_S 600
/* a destination answering a permanent 4xx is tried this many times in all, then marked failed */
#define MAX_PERMANENT_ATTEMPTS 3
/* how much of a failed answer is kept in last_error */
#define ANSWER_EXCERPT_BYTES 200
/* the dashboard's page of an incident (a hash route, relative to where the dashboard is served) */
#define ALERTS_LINK_FMT "/#/incident/%lld"

typedef struct {
    char url[512];
    const char *format; /* "slack" or "json" */
} destination_t;

struct alerts {
    const config_t *cfg;
    destination_t dest[MAX_DESTINATIONS];
    int ndest;
    char *dest_literal; /* PostgreSQL text[] literal of the configured URLs */
    pthread_t tid;
    atomic_int stopping;
};

static void parse_destinations(alerts_t *a)
{
    char *copy = xstrdup(a->cfg->alert_webhooks), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && a->ndest < MAX_DESTINATIONS;
         tok = strtok_r(NULL, ",", &save)) {
        destination_t *d = &a->dest[a->ndest++];
        d->format = "json";
        if (strncmp(tok, "slack:", 6) == 0) {
            d->format = "slack";
            tok += 6;
        } else if (strncmp(tok, "json:", 5) == 0) {
            tok += 5;
        }
        snprintf(d->url, sizeof(d->url), "%s", tok);
    }
    free(copy);
}

/* The configured URLs as a text[] literal, each element quoted ("..." with \\ before " and \\). */
static char *destinations_literal(const alerts_t *a)
{
    size_t cap = 2 + (size_t)a->ndest * (2 * sizeof(a->dest[0].url) + 3);
    char *out = xmalloc(cap), *w = out;
    *w++ = '{';
    for (int i = 0; i < a->ndest; i++) {
        if (i) *w++ = ',';
        *w++ = '"';
        for (const char *p = a->dest[i].url; *p; p++) {
            if (*p == '"' || *p == '\\') *w++ = '\\';
            *w++ = *p;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    return out;
}

int alerts_enqueue(const alerts_t *a, PGconn *c, const char *kind, const char *dedup_key, json_t *payload,
                   double confidence)
{
    if (a == NULL) return 0;
    int rc = 0;
    char *body = payload ? json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (body == NULL) {
        log_warn("alert %s not queued: no payload", dedup_key);
        return -1;
    }
    char conf[32];
    snprintf(conf, sizeof(conf), "%.6f", confidence);
    int suppressed = confidence >= 0 && confidence < a->cfg->alert_min_confidence;
    for (int i = 0; i < a->ndest; i++) {
        const char *p[] = {a->dest[i].url,
                           a->dest[i].format,
                           dedup_key,
                           kind,
                           body,
                           confidence >= 0 ? conf : NULL,
                           suppressed ? "suppressed" : "pending"};
        PGresult *r =
            PQexecParams(c,
                         "INSERT INTO alert_deliveries (destination, format, dedup_key, kind, payload, "
                         "confidence, state) VALUES ($1, $2, $3, $4, $5::jsonb, $6::float8, $7) "
                         "ON CONFLICT (destination, dedup_key) DO NOTHING",
                         7, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            /* the primary message only: the detail may quote the row, whose destination is secret */
            const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
            char origin[URL_ORIGIN_MAX];
            log_warn("alert not queued for %s: %s", url_origin(a->dest[i].url, origin, sizeof(origin)),
                     msg ? msg : "connection lost");
            rc = -1;
        }
        PQclear(r);
    }
    free(body);
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

/* Posts one alert; returns 0 on a 2xx answer, else -1 with the reason (which never holds the URL: it
 * is stored in alert_deliveries.last_error). *status is the HTTP status (0 when none came) and
 * `answer` the start of the answer, redacted. */
static int post(CURL *curl, const char *url, const char *format, const char *payload, long *status,
                excerpt_t *answer, char *err, size_t errlen)
{
    *status = 0;
    char *body = strcmp(format, "slack") == 0 ? alerts_slack_body(payload) : xstrdup(payload);
    if (body == NULL) {
        snprintf(err, errlen, "payload has no text for Slack");
        return -1;
    }
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
    free(body);
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
 * them, and they would stay pending for ever. */
static int abandon_unconfigured(alerts_t *a, PGconn *c)
{
    int rc = 0;
    const char *p[] = {a->dest_literal};
    PGresult *r = PQexecParams(c,
                               "UPDATE alert_deliveries SET state = 'abandoned', "
                               "last_error = 'destination no longer configured' "
                               "WHERE state = 'pending' AND destination <> ALL($1::text[])",
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

/* Sends what is due, within each destination's rate. */
static void send_due(alerts_t *a, PGconn *c, CURL *curl)
{
    char rate[16];
    snprintf(rate, sizeof(rate), "%d", a->cfg->alert_rate_per_min);
    const char *p[] = {rate, a->dest_literal};
    /* at most the rate per destination: what was delivered in the last minute, plus this batch; only
     * to configured destinations (a row of another is abandoned, never sent) */
    PGresult *r = PQexecParams(
        c,
        "SELECT id, destination, format, payload::text, attempts FROM (SELECT d.*, row_number() OVER "
        "  (PARTITION BY d.destination ORDER BY d.id) AS nth, (SELECT count(*) FROM alert_deliveries s "
        "  WHERE s.destination = d.destination AND s.delivered_at > now() - interval '1 minute') AS recent "
        "  FROM alert_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= now() "
        "  AND d.destination = ANY($2::text[])) x "
        "WHERE nth <= $1::int - recent ORDER BY id LIMIT 20",
        2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        char err[320] = "";
        long status;
        excerpt_t answer;
        int ok = post(curl, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), &status, &answer,
                      err, sizeof(err)) == 0;
        int attempts = atoi(PQgetvalue(r, i, 4)) + 1;
        int give_up = !ok && permanent_status(status) && attempts >= MAX_PERMANENT_ATTEMPTS;
        /* the final word keeps what the receiver said */
        if (give_up) snprintf(err, sizeof(err), "HTTP %ld: %s", status, answer.text);
        /* exponential backoff: base x 2^attempts, at most MAX_BACKOFF_S */
        double backoff_ms =
            (double)a->cfg->alert_retry_base_ms * (double)(1LL << (attempts < 20 ? attempts : 20));
        if (backoff_ms > MAX_BACKOFF_S * 1000.0) backoff_ms = MAX_BACKOFF_S * 1000.0;
        char att[16], wait[32];
        snprintf(att, sizeof(att), "%d", attempts);
        snprintf(wait, sizeof(wait), "%.0f", backoff_ms);
        PGresult *u;
        if (ok) {
            const char *q[] = {PQgetvalue(r, i, 0), att};
            u = PQexecParams(
                c,
                "UPDATE alert_deliveries SET state = 'delivered', delivered_at = now(), attempts = $2::int, "
                "last_error = NULL WHERE id = $1::bigint",
                2, NULL, q, NULL, NULL, 0);
        } else if (give_up) {
            const char *q[] = {PQgetvalue(r, i, 0), att, err};
            u = PQexecParams(
                c,
                "UPDATE alert_deliveries SET state = 'failed', attempts = $2::int, last_error = $3 "
                "WHERE id = $1::bigint",
                3, NULL, q, NULL, NULL, 0);
        } else {
            const char *q[] = {PQgetvalue(r, i, 0), att, err, wait};
            u = PQexecParams(
                c,
                "UPDATE alert_deliveries SET attempts = $2::int, last_error = $3, "
                "next_attempt_at = now() + $4::bigint * interval '1 millisecond' WHERE id = $1::bigint",
                4, NULL, q, NULL, NULL, 0);
        }
        PQclear(u);
        char origin[URL_ORIGIN_MAX];
        if (give_up)
            log_warn("alert %s to %s refused %d times (%s): marked failed", PQgetvalue(r, i, 0),
                     url_origin(PQgetvalue(r, i, 1), origin, sizeof(origin)), attempts, err);
        else if (!ok)
            log_info("alert %s to %s failed (%s); retry in %.0f ms", PQgetvalue(r, i, 0),
                     url_origin(PQgetvalue(r, i, 1), origin, sizeof(origin)), err, backoff_ms);
    }
    PQclear(r);
}

static void *sender_main(void *arg)
{
    alerts_t *a = arg;
    PGconn *c = NULL;
    CURL *curl = curl_easy_init();
    int abandoned = 0; /* the configuration is fixed: once per process */
    while (!atomic_load(&a->stopping)) {
        if (db_ensure(&c, a->cfg->pipeline_database_url)) {
            if (!abandoned) abandoned = abandon_unconfigured(a, c) == 0;
            send_due(a, c, curl);
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
    parse_destinations(a);
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
