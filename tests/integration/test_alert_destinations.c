/* Alert destinations users already have (issue 15 points 3-4), against the real PostgreSQL (migrated by
 * the real backend, written as the pipeline's role) and a real HTTP receiver (tests/support/ts_sink.h):
 *  - PagerDuty Events v2, Alertmanager v2, Slack, Teams and plain JSON each get their exact shape; a page
 *    and its resolve carry one PagerDuty dedup_key and one Alertmanager label set (endsAt on the
 *    resolve); a report pages neither; every link is absolute under PUBLIC_URL;
 *  - a destination's min_severity keeps lesser alerts (stored 'filtered') and their resolves away;
 *  - silences: the API's 400s and keys, listing (active and expired), expiry, and their effect (stored
 *    'silenced', not sent; a silence with an endpoint spares the service's other endpoints);
 *  - GET /query/alerts: deliveries by destination id (never a URL), filtered by state, paged;
 *  - Alertmanager hears again of an open incident's page (its resolve_timeout would end it) until the
 *    resolve;
 *  - two pipelines sending at once deliver each alert once.
 * The first four drive the alerts module in this process (alerts_start: its own sender thread and
 * connection, as in the pipeline), so pages and resolves can be queued exactly as the incident
 * lifecycle queues them; the last one runs two real pipelines. */
#include "alerts.h"
#include "config.h"
#include "ts.h"
#include "ts_ingest.h"
#include "ts_sink.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUTING_KEY "R0UT1NGKEY0123456789abcdefABCDEF"
#define PUBLIC "https://ps.example.com"

static char *db_url, *pipeline_url;
static char prefix[64];
static ts_proc_t backend;
static ts_sink_t *sink;
static PGconn *pg;

static void start_backend(void)
{
    char suffix[9];
    ts_hex(suffix, 8);
    snprintf(prefix, sizeof(prefix), "t:%s:", suffix);
    db_url = ts_create_database("alertdest");
    const char *benv[] = {"DEBOUNCE_QUIET_MS=300", "DEBOUNCE_MAX_MS=2000", NULL};
    ck_assert_int_eq(ts_start_backend(&backend, db_url, prefix, benv), 0);
    pipeline_url = ts_role_url(db_url, TS_ROLE_PIPELINE);
    pg = ts_pg(pipeline_url);
    sink = ts_sink_create();
    ts_sink_up(sink, 200);
}

static void stop_backend(void)
{
    PQfinish(pg);
    ts_stop(&backend, SIGTERM);
    ts_sink_free(sink);
    free(pipeline_url);
    free(db_url);
}

/* The pipeline's alert settings for the alerts module run here; `hooks` is ALERT_WEBHOOKS with %d for
 * the receiver's port (up to 6 times). */
static void alerts_config(config_t *cfg, const char *hooks, char *buf, size_t len)
{
    int p = ts_sink_port(sink);
    snprintf(buf, len, hooks, p, p, p, p, p, p);
    static char pd[96];
    snprintf(pd, sizeof(pd), "http://127.0.0.1:%d/pd/v2/enqueue", p);
    memset(cfg, 0, sizeof(*cfg));
    cfg->alert_webhooks = buf;
    cfg->pagerduty_events_url = pd;
    cfg->public_url = PUBLIC;
    cfg->pipeline_database_url = pipeline_url;
    cfg->alert_rate_per_min = 1000;
    cfg->alert_retry_base_ms = 100;
}

/* The bodies received at `path`, parsed, in arrival order (a JSON array; caller decrefs). */
static json_t *bodies(const char *path)
{
    json_t *out = json_array();
    for (size_t i = 0; i < ts_sink_count(sink); i++) {
        char *p = ts_sink_path(sink, i), *b = ts_sink_body(sink, i);
        if (strcmp(p, path) == 0) json_array_append_new(out, json_loads(b, 0, NULL));
        free(p);
        free(b);
    }
    return out;
}

static void wait_count(size_t want, int seconds)
{
    for (int i = 0; i < seconds * 10 && ts_sink_count(sink) < want; i++)
        usleep(100 * 1000);
    ck_assert_msg(ts_sink_count(sink) >= want, "receiver got %zu of %zu", ts_sink_count(sink), want);
}

static const char *str(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key)) ?: "";
}

static void enqueue(alerts_t *a, const char *kind, const char *key, json_t *p)
{
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(alerts_enqueue(a, pg, kind, key, p, -1), 0);
    json_decref(p);
}

START_TEST(each_destination_gets_its_shape_and_a_resolve_closes_what_its_page_opened)
{
    start_backend();
    config_t cfg;
    char hooks[1024];
    alerts_config(&cfg,
                  "pagerduty:" ROUTING_KEY
                  ",alertmanager:http://127.0.0.1:%d/am/,slack:http://127.0.0.1:%d/slack,"
                  "teams:http://127.0.0.1:%d/teams,json:http://127.0.0.1:%d/json",
                  hooks, sizeof(hooks));
    alerts_t *a = alerts_start(&cfg);
    ck_assert_ptr_nonnull(a);

    /* a degradation page (warning), its report, then its resolve, as the lifecycle queues them */
    json_t *deg = alerts_degradation_payload(7, "gateway", "GET /orders", "p95 3x its baseline");
    json_object_set_new(deg, "severity", json_string("warning"));
    enqueue(a, "degradation", "degradation:7", deg);
    json_t *report = json_pack("{s:s,s:f}", "summary", "The database timed out.", "confidence", 0.8);
    enqueue(a, "report", "report:7:1", alerts_report_payload(7, 1, "p95 3x its baseline", "gateway", report));
    json_decref(report);
    /* PagerDuty and Alertmanager: 1 page each; Slack, Teams, JSON: page and report */
    wait_count(8, 20);
    enqueue(a, "resolved", "resolved:7", alerts_resolved_payload(7, "p95 3x its baseline", "gateway"));
    wait_count(13, 20);
    sleep(1);
    ck_assert_int_eq(ts_sink_count(sink), 13);
    ck_assert_int_eq(ts_pg_long(pg, "SELECT count(*) FROM alert_deliveries WHERE state = 'delivered'"), 13);

    /* PagerDuty: trigger then resolve with one dedup key; the report is no page */
    json_t *pd = bodies("/pd/v2/enqueue");
    ck_assert_int_eq(json_array_size(pd), 2);
    json_t *t = json_array_get(pd, 0), *r = json_array_get(pd, 1);
    ck_assert_str_eq(str(t, "routing_key"), ROUTING_KEY);
    ck_assert_str_eq(str(t, "event_action"), "trigger");
    ck_assert_str_eq(str(t, "dedup_key"), "prodsentinel-incident-7");
    ck_assert_str_eq(str(t, "client_url"), PUBLIC "/#/incident/7");
    json_t *pl = json_object_get(t, "payload");
    ck_assert_str_eq(str(pl, "summary"), "Degradation #7 of gateway GET /orders: p95 3x its baseline");
    ck_assert_str_eq(str(pl, "severity"), "warning");
    ck_assert_str_eq(str(pl, "source"), "gateway");
    ck_assert_str_eq(str(pl, "component"), "GET /orders");
    ck_assert_str_eq(str(json_array_get(json_object_get(t, "links"), 0), "href"), PUBLIC "/#/incident/7");
    ck_assert_str_eq(str(r, "event_action"), "resolve");
    ck_assert_str_eq(str(r, "dedup_key"), str(t, "dedup_key"));
    ck_assert_str_eq(str(r, "routing_key"), ROUTING_KEY);
    json_decref(pd);

    /* Alertmanager: at <base>/api/v2/alerts, one array each; the resolve has the page's labels and endsAt */
    json_t *am = bodies("/am/api/v2/alerts");
    ck_assert_int_eq(json_array_size(am), 2);
    json_t *fire = json_array_get(json_array_get(am, 0), 0), *end = json_array_get(json_array_get(am, 1), 0);
    ck_assert_int_eq(json_array_size(json_array_get(am, 1)), 1);
    json_t *labels =
        json_pack("{s:s,s:s,s:s,s:s,s:s}", "alertname", "ProdSentinelDegradation", "severity", "warning",
                  "service", "gateway", "endpoint", "GET /orders", "incident_id", "7");
    ck_assert(json_equal(json_object_get(fire, "labels"), labels));
    ck_assert(json_equal(json_object_get(end, "labels"), labels));
    json_decref(labels);
    ck_assert_ptr_null(json_object_get(fire, "endsAt"));
    ck_assert_str_eq(str(end, "startsAt"), str(fire, "startsAt"));
    ck_assert_int_gt(strlen(str(end, "endsAt")), 19);
    ck_assert_int_gt(strcmp(str(end, "endsAt"), str(fire, "startsAt")), 0);
    ck_assert_str_eq(str(fire, "generatorURL"), PUBLIC "/#/incident/7");
    ck_assert_str_eq(str(json_object_get(fire, "annotations"), "summary"), "p95 3x its baseline");
    json_decref(am);

    /* Slack: {"text"} only, the link absolute */
    json_t *sl = bodies("/slack");
    ck_assert_int_eq(json_array_size(sl), 3);
    ck_assert_int_eq(json_object_size(json_array_get(sl, 0)), 1);
    ck_assert_str_eq(str(json_array_get(sl, 0), "text"),
                     "Degradation #7 of gateway GET /orders: p95 3x its baseline " PUBLIC "/#/incident/7");
    ck_assert_str_eq(str(json_array_get(sl, 2), "text"),
                     "Resolved: incident #7 in gateway: p95 3x its baseline " PUBLIC "/#/incident/7");
    json_decref(sl);

    /* Teams: an Adaptive Card message with a button to the incident */
    json_t *tm = bodies("/teams");
    ck_assert_int_eq(json_array_size(tm), 3);
    json_t *att = json_array_get(json_object_get(json_array_get(tm, 0), "attachments"), 0);
    ck_assert_str_eq(str(json_array_get(tm, 0), "type"), "message");
    ck_assert_str_eq(str(att, "contentType"), "application/vnd.microsoft.card.adaptive");
    json_t *card = json_object_get(att, "content");
    ck_assert_str_eq(str(card, "type"), "AdaptiveCard");
    ck_assert_str_eq(str(json_array_get(json_object_get(card, "actions"), 0), "url"), PUBLIC "/#/incident/7");
    ck_assert_str_eq(str(json_array_get(json_object_get(card, "body"), 1), "text"),
                     "Degradation \\#7 of gateway GET /orders: p95 3x its baseline");
    json_decref(tm);

    /* JSON: the plain payloads, links absolute */
    json_t *js = bodies("/json");
    ck_assert_int_eq(json_array_size(js), 3);
    ck_assert_str_eq(str(json_array_get(js, 0), "kind"), "degradation");
    ck_assert_str_eq(str(json_array_get(js, 0), "severity"), "warning");
    ck_assert_str_eq(str(json_array_get(js, 1), "kind"), "report");
    ck_assert_str_eq(str(json_array_get(js, 1), "link"), PUBLIC "/#/incident/7");
    ck_assert_str_eq(str(json_array_get(js, 2), "kind"), "resolved");
    json_decref(js);

    /* stored by destination id: no URL, no routing key */
    ck_assert_int_eq(ts_pg_long(pg, "SELECT count(*) FROM alert_deliveries WHERE destination LIKE '%/%' OR "
                                    "destination LIKE '%" ROUTING_KEY "%' OR destination LIKE 'http%'"),
                     0);
    ck_assert_int_eq(ts_pg_long(pg, "SELECT count(DISTINCT destination) FROM alert_deliveries"), 5);
    ck_assert_int_eq(ts_pg_long(pg, "SELECT count(*) FROM alert_deliveries WHERE destination ~ "
                                    "'^pagerduty#[0-9a-f]{4}$' AND incident_id = 7 AND severity = 'warning' "
                                    "AND kind = 'degradation'"),
                     1);
    alerts_stop(a);
    stop_backend();
}
END_TEST

START_TEST(a_destination_min_severity_keeps_lesser_alerts_and_their_resolves_away)
{
    start_backend();
    config_t cfg;
    char hooks[512];
    alerts_config(
        &cfg,
        "json:http://127.0.0.1:%d/all,json:http://127.0.0.1:%d/crit;min_severity=critical;name=oncall,"
        "pagerduty:" ROUTING_KEY ";min_severity=error",
        hooks, sizeof(hooks));
    alerts_t *a = alerts_start(&cfg);
    json_t *p = alerts_incident_payload(1, "warn one", "payment");
    json_object_set_new(p, "severity", json_string("warning"));
    enqueue(a, "incident", "incident:1", p);
    p = alerts_incident_payload(2, "critical one", "payment");
    json_object_set_new(p, "severity", json_string("critical"));
    enqueue(a, "incident", "incident:2", p);
    enqueue(a, "incident", "incident:3", alerts_incident_payload(3, "no severity: error", "payment"));
    wait_count(6, 20); /* all: #1 #2 #3; crit: #2; pd: #2 #3 */
    enqueue(a, "resolved", "resolved:1", alerts_resolved_payload(1, "warn one", "payment"));
    enqueue(a, "resolved", "resolved:2", alerts_resolved_payload(2, "critical one", "payment"));
    wait_count(10, 20); /* resolves: all #1 #2, crit #2, pd #2 */
    sleep(1);
    ck_assert_int_eq(ts_sink_count(sink), 10);
    json_t *pd = bodies("/pd/v2/enqueue");
    ck_assert_int_eq(json_array_size(pd), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(pd, 2), "event_action")), "resolve");
    json_decref(pd);
    json_t *crit = bodies("/crit");
    ck_assert_int_eq(json_array_size(crit), 2);
    ck_assert_str_eq(str(json_array_get(crit, 0), "title"), "critical one");
    ck_assert_str_eq(str(json_array_get(crit, 1), "kind"), "resolved");
    json_decref(crit);
    ck_assert_int_eq(
        ts_pg_long(pg, "SELECT count(*) FROM alert_deliveries WHERE state = 'filtered' AND last_error = "
                       "'severity warning is below this destination''s min_severity critical' AND "
                       "destination = 'oncall' AND incident_id = 1"),
        1);
    ck_assert_int_eq(ts_pg_long(pg, "SELECT count(*) FROM alert_deliveries WHERE state = 'filtered'"), 3);
    /* no resolve stored where the page was filtered */
    ck_assert_int_eq(ts_pg_long(pg, "SELECT count(*) FROM alert_deliveries WHERE kind = 'resolved' AND "
                                    "incident_id = 1"),
                     1);
    alerts_stop(a);
    stop_backend();
}
END_TEST

/* Alertmanager resolves what it has not heard of for resolve_timeout: the page of an open incident is
 * sent again every ALERTMANAGER_RESEND_S, with the labels and startsAt it fired with, until its
 * resolve. */
START_TEST(alertmanager_hears_again_of_open_incidents_until_they_resolve)
{
    start_backend();
    ck_assert_int_eq(ts_pg_long(pg,
                                "INSERT INTO incidents (fingerprint, kind, title, root_service, first_seen, "
                                "last_seen) VALUES ('fp-am', 'degradation', 'slow', 'gateway', now(), now()) "
                                "RETURNING id"),
                     1);
    config_t cfg;
    char hooks[256];
    alerts_config(&cfg, "alertmanager:http://127.0.0.1:%d", hooks, sizeof(hooks));
    cfg.alertmanager_resend_s = 1;
    alerts_t *a = alerts_start(&cfg);
    enqueue(a, "degradation", "degradation:1",
            alerts_degradation_payload(1, "gateway", "GET /orders", "slow"));
    wait_count(3, 10); /* the page, then at least two resends */
    json_t *am = bodies("/api/v2/alerts");
    json_t *first = json_array_get(json_array_get(am, 0), 0),
           *again = json_array_get(json_array_get(am, 2), 0);
    ck_assert(json_equal(json_object_get(first, "labels"), json_object_get(again, "labels")));
    ck_assert_str_eq(str(again, "startsAt"), str(first, "startsAt"));
    ck_assert_ptr_null(json_object_get(again, "endsAt"));
    json_decref(am);
    ck_assert_int_eq(ts_pg_long(pg, "SELECT count(*) FROM alert_deliveries"),
                     1); /* resends are no deliveries */
    /* resolved: the resolve goes, and nothing after it */
    ck_assert_int_eq(ts_pg_long(pg, "WITH u AS (UPDATE incidents SET status = 'resolved' RETURNING 1) "
                                    "SELECT count(*) FROM u"),
                     1);
    enqueue(a, "resolved", "resolved:1", alerts_resolved_payload(1, "slow", "gateway"));
    ck_assert_int_eq(ts_pg_wait_long(pg,
                                     "SELECT count(*) FROM alert_deliveries WHERE kind = 'resolved' AND "
                                     "state = 'delivered'",
                                     1, 10),
                     1);
    size_t n = ts_sink_count(sink);
    sleep(3);
    ck_assert_int_eq(ts_sink_count(sink), n);
    am = bodies("/api/v2/alerts");
    ck_assert_int_gt(strlen(str(json_array_get(json_array_get(am, json_array_size(am) - 1), 0), "endsAt")),
                     0);
    json_decref(am);
    alerts_stop(a);
    stop_backend();
}
END_TEST

/* An HTTP request to the backend with `key`; returns the status, the body in *body (caller frees). */
static long call(const char *method, const char *path, const char *key, const char *json, char **body)
{
    char url[256], auth[128];
    snprintf(url, sizeof(url), "%s%s", backend.url, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    ts_resp_t r;
    ck_assert_int_eq(ts_http(method, url, h, json, json ? strlen(json) : 0, &r), 0);
    long status = r.status;
    if (body) *body = strdup(r.body ? r.body : "");
    ts_resp_free(&r);
    return status;
}

/* Expects 400 naming `path` for `json`. */
static void refused(const char *json, const char *path, const char *says)
{
    char *b;
    long st = call("POST", "/query/silences", TS_ADMIN_KEY, json, &b);
    json_t *j = json_loads(b, 0, NULL);
    json_t *e = json_object_get(j, "error");
    ck_assert_msg(st == 400, "%s: %ld %s", json, st, b);
    ck_assert_msg(strcmp(str(e, "path"), path) == 0 && strstr(str(e, "message"), says), "%s: %s", json, b);
    json_decref(j);
    free(b);
}

static void iso(time_t t, char *out, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

START_TEST(silences_are_made_by_admins_listed_expired_and_keep_matching_alerts_unsent)
{
    start_backend();
    char later[32], past[32], body[512], *b;
    iso(time(NULL) + 3600, later, sizeof(later));
    iso(time(NULL) - 3600, past, sizeof(past));

    /* the API: ADMIN key to write, 400 naming the field */
    snprintf(body, sizeof(body), "{\"service\":\"payment\",\"ends_at\":\"%s\"}", later);
    ck_assert_int_eq(call("POST", "/query/silences", TS_READ_KEY, body, NULL), 401);
    refused("[]", "", "expected a JSON object");
    snprintf(body, sizeof(body), "{\"service\":\"payment\",\"ends_at\":\"%s\",\"endpiont\":\"x\",\"zz\":1}",
             later);
    refused(body, "endpiont", "unknown field(s): endpiont, zz");
    refused("{\"ends_at\":\"2030-01-01T00:00:00Z\"}", "service", "service is required");
    refused("{\"service\":\"payment\"}", "ends_at", "ends_at is required");
    refused("{\"service\":\"payment\",\"ends_at\":\"tomorrow\"}", "ends_at", "RFC 3339");
    refused("{\"service\":\"payment\",\"ends_at\":\"2030-01-01T00:00:00Z\",\"starts_at\":7}", "starts_at",
            "non-empty string");
    snprintf(body, sizeof(body), "{\"service\":\"payment\",\"ends_at\":\"%s\"}", past);
    refused(body, "ends_at", "in the future");
    refused("{\"service\":\"payment\",\"starts_at\":\"2031-01-01T00:00:00Z\",\"ends_at\":\"2030-01-01T00:00:"
            "00Z\"}",
            "ends_at", "later than starts_at");

    snprintf(body, sizeof(body),
             "{\"service\":\"payment\",\"ends_at\":\"%s\",\"comment\":\"db maintenance\"}", later);
    ck_assert_int_eq(call("POST", "/query/silences", TS_ADMIN_KEY, body, &b), 201);
    json_t *s1 = json_loads(b, 0, NULL);
    free(b);
    ck_assert_str_eq(str(s1, "state"), "active");
    ck_assert(json_is_true(json_object_get(s1, "active")));
    ck_assert_str_eq(str(s1, "comment"), "db maintenance");
    long id1 = (long)json_integer_value(json_object_get(s1, "id"));
    json_decref(s1);
    snprintf(body, sizeof(body), "{\"service\":\"gateway\",\"endpoint\":\"GET /orders\",\"ends_at\":\"%s\"}",
             later);
    ck_assert_int_eq(call("POST", "/query/silences", TS_ADMIN_KEY, body, NULL), 201);

    /* their effect on alerts */
    config_t cfg;
    char hooks[256];
    alerts_config(&cfg, "json:http://127.0.0.1:%d/json", hooks, sizeof(hooks));
    alerts_t *a = alerts_start(&cfg);
    enqueue(a, "incident", "incident:1", alerts_incident_payload(1, "payment down", "payment"));
    enqueue(a, "degradation", "degradation:2",
            alerts_degradation_payload(2, "gateway", "GET /orders", "slow orders"));
    enqueue(a, "degradation", "degradation:3",
            alerts_degradation_payload(3, "gateway", "GET /cart", "slow cart"));
    enqueue(a, "incident", "incident:4", alerts_incident_payload(4, "inventory down", "inventory"));
    wait_count(2, 20);
    sleep(1);
    json_t *got = bodies("/json");
    ck_assert_int_eq(json_array_size(got), 2);
    ck_assert_str_eq(str(json_array_get(got, 0), "title"), "slow cart");
    ck_assert_str_eq(str(json_array_get(got, 1), "title"), "inventory down");
    json_decref(got);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM alert_deliveries WHERE state = 'silenced' AND attempts = 0 AND "
             "incident_id = 1 AND last_error = 'silenced by silence %ld'",
             id1);
    ck_assert_int_eq(ts_pg_long(pg, sql), 1);
    ck_assert_int_eq(ts_pg_long(pg, "SELECT count(*) FROM alert_deliveries WHERE state = 'silenced'"), 2);
    /* the resolve of a silenced page is not sent either */
    enqueue(a, "resolved", "resolved:1", alerts_resolved_payload(1, "payment down", "payment"));

    /* expired by DELETE: listed as expired, and payment pages again */
    char path[64];
    snprintf(path, sizeof(path), "/query/silences/%ld", id1);
    ck_assert_int_eq(call("DELETE", path, TS_READ_KEY, NULL, NULL), 401);
    ck_assert_int_eq(call("DELETE", path, TS_ADMIN_KEY, NULL, &b), 200);
    json_t *expired = json_loads(b, 0, NULL);
    free(b);
    ck_assert_str_eq(str(expired, "state"), "expired");
    ck_assert(json_is_false(json_object_get(expired, "active")));
    json_decref(expired);
    ck_assert_int_eq(call("DELETE", "/query/silences/999", TS_ADMIN_KEY, NULL, NULL), 404);
    ck_assert_int_eq(call("GET", "/query/silences", TS_READ_KEY, NULL, &b), 200);
    json_t *listed = json_loads(b, 0, NULL), *list = json_object_get(listed, "silences");
    free(b);
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(str(json_array_get(list, 0), "state"), "active"); /* active first */
    ck_assert_str_eq(str(json_array_get(list, 0), "endpoint"), "GET /orders");
    ck_assert_str_eq(str(json_array_get(list, 1), "state"), "expired");
    ck_assert(json_is_true(json_object_get(json_array_get(list, 1), "expired")));
    json_decref(listed);
    enqueue(a, "incident", "incident:5", alerts_incident_payload(5, "payment down again", "payment"));
    wait_count(3, 20);
    sleep(1);
    ck_assert_int_eq(ts_sink_count(sink), 3);
    ck_assert_int_eq(ts_pg_long(pg, "SELECT count(*) FROM alert_deliveries WHERE kind = 'resolved'"), 0);

    /* a silence begun after an alert was queued (it waits for a retry) keeps it from being sent; the
     * resolve of a page sent before the silence still goes, to close it */
    enqueue(a, "incident", "incident:6", alerts_incident_payload(6, "billing down", "billing"));
    wait_count(4, 20);
    ts_sink_set_status(sink, 500);
    enqueue(a, "incident", "incident:7", alerts_incident_payload(7, "search down", "search"));
    ck_assert_int_eq(ts_pg_wait_long(pg,
                                     "SELECT count(*) FROM alert_deliveries WHERE incident_id = 7 AND "
                                     "attempts >= 1 AND state = 'pending'",
                                     1, 20),
                     1);
    const char *services[] = {"search", "billing"};
    for (int i = 0; i < 2; i++) {
        snprintf(body, sizeof(body), "{\"service\":\"%s\",\"ends_at\":\"%s\"}", services[i], later);
        ck_assert_int_eq(call("POST", "/query/silences", TS_ADMIN_KEY, body, NULL), 201);
    }
    ck_assert_int_eq(
        ts_pg_wait_long(pg,
                        "SELECT count(*) FROM alert_deliveries WHERE incident_id = 7 AND state = "
                        "'silenced' AND last_error LIKE 'silenced by silence %'",
                        1, 10),
        1);
    size_t before = ts_sink_count(sink);
    ts_sink_set_status(sink, 200);
    enqueue(a, "resolved", "resolved:6", alerts_resolved_payload(6, "billing down", "billing"));
    ck_assert_int_eq(ts_pg_wait_long(pg,
                                     "SELECT count(*) FROM alert_deliveries WHERE kind = 'resolved' AND "
                                     "incident_id = 6 AND state = 'delivered'",
                                     1, 10),
                     1);
    sleep(1);
    ck_assert_int_eq(ts_sink_count(sink), before + 1); /* the resolve, and no retry of the silenced one */
    alerts_stop(a);
    stop_backend();
}
END_TEST

START_TEST(query_alerts_lists_deliveries_by_destination_id_filtered_and_paged)
{
    start_backend();
    ts_sink_set_status(sink, 404); /* refused: the deliveries fail after 3 attempts */
    config_t cfg;
    char hooks[256];
    alerts_config(&cfg, "slack:http://127.0.0.1:%d/services/T0/B0/SECRETPATH;name=team-slack", hooks,
                  sizeof(hooks));
    alerts_t *a = alerts_start(&cfg);
    enqueue(a, "incident", "incident:1", alerts_incident_payload(1, "one", "payment"));
    ck_assert_int_eq(
        ts_pg_wait_long(pg, "SELECT count(*) FROM alert_deliveries WHERE state = 'failed'", 1, 20), 1);
    ts_sink_set_status(sink, 200);
    for (int i = 2; i <= 4; i++) {
        char key[32];
        snprintf(key, sizeof(key), "incident:%d", i);
        enqueue(a, "incident", key, alerts_incident_payload(i, "more", "payment"));
    }
    ck_assert_int_eq(
        ts_pg_wait_long(pg, "SELECT count(*) FROM alert_deliveries WHERE state = 'delivered'", 3, 20), 3);
    alerts_stop(a);

    char *b;
    ck_assert_int_eq(call("GET", "/query/alerts?state=failed", TS_READ_KEY, NULL, &b), 200);
    ck_assert_ptr_null(strstr(b, "SECRETPATH"));
    json_t *j = json_loads(b, 0, NULL);
    free(b);
    json_t *row = json_array_get(json_object_get(j, "alerts"), 0);
    ck_assert_int_eq(json_array_size(json_object_get(j, "alerts")), 1);
    ck_assert_str_eq(str(row, "destination"), "team-slack");
    ck_assert_str_eq(str(row, "format"), "slack");
    ck_assert_str_eq(str(row, "kind"), "incident");
    ck_assert_int_eq(json_integer_value(json_object_get(row, "incident_id")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(row, "attempts")), 3);
    ck_assert_str_eq(str(row, "last_error"), "HTTP 404: ok");
    ck_assert_int_gt(strlen(str(row, "created_at")), 0);
    ck_assert(json_is_null(json_object_get(row, "delivered_at")));
    json_decref(j);

    /* newest first, two a page */
    ck_assert_int_eq(call("GET", "/query/alerts?limit=2", TS_READ_KEY, NULL, &b), 200);
    j = json_loads(b, 0, NULL);
    free(b);
    ck_assert_int_eq(json_array_size(json_object_get(j, "alerts")), 2);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(json_object_get(j, "alerts"), 0), "incident_id")),
        4);
    ck_assert_int_gt(strlen(str(json_array_get(json_object_get(j, "alerts"), 0), "delivered_at")), 0);
    char path[96];
    snprintf(path, sizeof(path), "/query/alerts?limit=2&cursor=%s", str(j, "next_cursor"));
    json_decref(j);
    ck_assert_int_eq(call("GET", path, TS_READ_KEY, NULL, &b), 200);
    j = json_loads(b, 0, NULL);
    free(b);
    ck_assert_int_eq(json_array_size(json_object_get(j, "alerts")), 2);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(json_object_get(j, "alerts"), 1), "incident_id")),
        1);
    json_decref(j);
    ck_assert_int_eq(call("GET", "/query/alerts?state=lost", TS_READ_KEY, NULL, NULL), 400);
    ck_assert_int_eq(call("GET", "/query/alerts?sate=failed", TS_READ_KEY, NULL, NULL), 400);
    ck_assert_int_eq(call("GET", "/query/alerts", "wrong-key-wrong-key", NULL, NULL), 401);
    stop_backend();
}
END_TEST

/* One failing span of `service` throwing `exception` (a new trace): one incident per pair. */
static void send_failure(const char *service, const char *exception)
{
    ts_ingest_failure(&backend, service, exception, NULL);
}

/* Issue 16: two pipelines with the same destinations, a receiver that was down while eight incidents
 * queued sixteen alerts: once it is up, both senders claim and post at once, and each alert arrives
 * exactly once. */
START_TEST(two_pipelines_sending_at_once_deliver_each_alert_once)
{
    start_backend();
    ts_sink_free(sink);
    sink = ts_sink_create(); /* down */
    char hooks[160];
    snprintf(hooks, sizeof(hooks), "ALERT_WEBHOOKS=json:http://127.0.0.1:%d/json", ts_sink_port(sink));
    /* GROUP_WINDOW_S=0: eight faults of payment, each its own page (grouped, they would be one) */
    const char *penv[] = {"WORKERS=1",        hooks, "ALERT_RETRY_BASE_MS=50", "PUBLIC_URL=" PUBLIC,
                          "GROUP_WINDOW_S=0", NULL};
    ts_proc_t p1, p2;
    ck_assert_int_eq(ts_start_pipeline(&p1, db_url, prefix, penv), 0);
    ck_assert_int_eq(ts_start_pipeline(&p2, db_url, prefix, penv), 0);
    const char *exc[] = {"E1Exception", "E2Exception", "E3Exception", "E4Exception",
                         "E5Exception", "E6Exception", "E7Exception", "E8Exception"};
    for (int i = 0; i < 8; i++)
        send_failure("payment", exc[i]);
    ck_assert_int_eq(ts_pg_wait_long(pg,
                                     "SELECT count(*) FROM alert_deliveries WHERE attempts >= 1 AND state IN "
                                     "('pending', 'sending')",
                                     16, 40),
                     16);
    ts_sink_up(sink, 200);
    ck_assert_int_eq(
        ts_pg_wait_long(pg, "SELECT count(*) FROM alert_deliveries WHERE state = 'delivered'", 16, 40), 16);
    sleep(2); /* anything sent twice would have arrived by now */
    ck_assert_int_eq(ts_sink_accepted(sink), 16);
    json_t *got = bodies("/json");
    for (size_t i = 0; i < json_array_size(got); i++)
        for (size_t k = i + 1; k < json_array_size(got); k++) {
            json_t *x = json_array_get(got, i), *y = json_array_get(got, k);
            ck_assert_msg(!(strcmp(str(x, "kind"), str(y, "kind")) == 0 &&
                            json_integer_value(json_object_get(x, "incident_id")) ==
                                json_integer_value(json_object_get(y, "incident_id"))),
                          "%s of incident %lld received twice", str(x, "kind"),
                          (long long)json_integer_value(json_object_get(x, "incident_id")));
        }
    ck_assert_int_eq(strncmp(str(json_array_get(got, 0), "link"), PUBLIC "/#/incident/", strlen(PUBLIC) + 12),
                     0);
    json_decref(got);
    ts_stop(&p1, SIGTERM);
    ts_stop(&p2, SIGTERM);
    stop_backend();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alert_destinations");
    TCase *tc = tcase_create("destinations");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, each_destination_gets_its_shape_and_a_resolve_closes_what_its_page_opened);
    tcase_add_test(tc, a_destination_min_severity_keeps_lesser_alerts_and_their_resolves_away);
    tcase_add_test(tc, alertmanager_hears_again_of_open_incidents_until_they_resolve);
    tcase_add_test(tc, silences_are_made_by_admins_listed_expired_and_keep_matching_alerts_unsent);
    tcase_add_test(tc, query_alerts_lists_deliveries_by_destination_id_filtered_and_paged);
    tcase_add_test(tc, two_pipelines_sending_at_once_deliver_each_alert_once);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
