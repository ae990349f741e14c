/* Alert routes of the query API: GET /query/alerts (deliveries and what became of them, read key) and
 * silences (issue 15 point 3): GET /query/silences (read key), POST /query/silences and
 * DELETE /query/silences/{id} (ADMIN key). The pipeline's sender (pipeline/alerts.h) reads the silences
 * when it queues an alert and before it sends: one matching an active silence is stored 'silenced' and
 * not sent. */
#include "query_api.h"
#include "query_params.h"
#include "query_sql.h"
#include "rfc3339.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SILENCE_SERVICE_MAX 256
#define SILENCE_ENDPOINT_MAX 512
#define SILENCE_COMMENT_MAX 4096

/* ---- GET /query/alerts?state&incident_id&limit&cursor: deliveries newest first; the cursor is the id
 * of the page's last row. The destination is its id (never a URL: migration 010). ---- */

static const char alerts_sql[] =
    "WITH page AS (SELECT id, destination, format, kind, incident_id, state, severity, attempts, last_error, "
    "  dedup_key, created_at, delivered_at, CASE WHEN state IN ('pending', 'sending') THEN next_attempt_at "
    "END "
    "  AS next_attempt_at FROM alert_deliveries "
    "  WHERE ($1::text IS NULL OR state = $1) AND ($2::bigint IS NULL OR incident_id = $2::bigint) "
    "    AND ($3::bigint IS NULL OR id < $3::bigint) ORDER BY id DESC LIMIT $4::int) "
    "SELECT json_build_object('alerts', coalesce((SELECT json_agg(p ORDER BY p.id DESC) FROM page p), "
    "'[]'::json), 'next_cursor', (SELECT CASE WHEN count(*) = $4::int THEN min(id)::text END FROM "
    "page))::text";

static int on_alerts(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    static const char *const states[] = {"pending",  "sending", "delivered", "suppressed", "silenced",
                                         "filtered", "failed",  "abandoned", NULL};
    static const char *const known[] = {"state", "incident_id", "limit", "cursor", NULL};
    const char *state;
    long incident, limit, cursor;
    if (!qp_known(req, known) || !qp_enum(req, "state", states, &state) ||
        !qp_int(req, "incident_id", 1, INT64_MAX, 0, &incident) ||
        !qp_int(req, "limit", 1, 500, 50, &limit) || !qp_int(req, "cursor", 1, INT64_MAX, 0, &cursor))
        return 0;
    char inc_s[24], limit_s[16], cur_s[24];
    snprintf(inc_s, sizeof(inc_s), "%ld", incident);
    snprintf(limit_s, sizeof(limit_s), "%ld", limit);
    snprintf(cur_s, sizeof(cur_s), "%ld", cursor);
    query_sql_t s = {.sql = alerts_sql,
                     .nparams = 4,
                     .params = {state, incident ? inc_s : NULL, cursor ? cur_s : NULL, limit_s},
                     .read_only = 1};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

/* ---- silences ---- */

/* A silence as the API shows it, with its state now: scheduled (starts later), active, expired. */
#define SILENCE_JSON(t)                                                                                      \
    "json_build_object('id', " t ".id, 'service', " t ".service, 'endpoint', " t                             \
    ".endpoint, 'starts_at', " t ".starts_at, 'ends_at', " t ".ends_at, 'comment', " t                       \
    ".comment, 'created_at', " t ".created_at, "                                                             \
    "'state', CASE WHEN " t ".ends_at <= now() THEN 'expired' WHEN " t ".starts_at > now() THEN "            \
    "'scheduled' ELSE 'active' END, 'active', " t ".starts_at <= now() AND " t ".ends_at > now(), "          \
    "'expired', " t ".ends_at <= now())"

static int on_list_silences(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    static const char *const known[] = {"limit", NULL};
    long limit;
    if (!qp_known(req, known) || !qp_int(req, "limit", 1, 1000, 200, &limit)) return 0;
    char limit_s[16];
    snprintf(limit_s, sizeof(limit_s), "%ld", limit);
    /* active first, then scheduled, then the most recently expired */
    static const char sql[] = "SELECT json_build_object('silences', coalesce(json_agg(" SILENCE_JSON(
        "s") " ORDER BY (s.ends_at <= "
             "now()), s.ends_at DESC, s.id DESC), '[]'::json))::text FROM (SELECT * FROM silences ORDER BY "
             "(ends_at <= now()), ends_at DESC, id DESC LIMIT $1::int) s";
    query_sql_t qs = {.sql = sql, .nparams = 1, .params = {limit_s}, .read_only = 1};
    query_sql_submit(q->pool, req, m, &qs);
    return 0;
}

/* A string member of at most `max` bytes (absent or null: *out NULL, unless `required`). Returns 1, or 0
 * with `why`. */
static int body_string(const json_t *b, const char *key, size_t max, int required, const char **out,
                       char *why, size_t whylen)
{
    const json_t *v = json_object_get(b, key);
    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required) snprintf(why, whylen, "%s is required", key);
        return !required;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(why, whylen, "%s: expected a non-empty string of at most %zu bytes", key, max);
        return 0;
    }
    *out = json_string_value(v);
    return 1;
}

/* An RFC 3339 time member as epoch ns (decimal, for SQL). Returns 1 (absent: out ""), or 0 with `why`. */
static int body_time(const json_t *b, const char *key, int required, char *out, size_t outlen, char *why,
                     size_t whylen)
{
    const char *s;
    out[0] = '\0';
    if (!body_string(b, key, 64, required, &s, why, whylen)) return 0;
    if (s == NULL) return 1;
    int64_t ns;
    const char *reason;
    if (rfc3339_parse(s, strlen(s), &ns, &reason) != 0) {
        snprintf(why, whylen, "%s: expected an RFC 3339 time (e.g. 2026-12-07T10:00:00Z): %s", key, reason);
        return 0;
    }
    snprintf(out, outlen, "%" PRId64, ns);
    return 1;
}

/* ends_at (epoch ns) after starts_at (or now when absent) and in the future: a silence that could never
 * match is a mistake. Returns 1, or 0 with `why`. */
static int range_ok(const char *starts, const char *ends, char *why, size_t whylen)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    int64_t s = starts[0] ? strtoll(starts, NULL, 10) : now_ns, e = strtoll(ends, NULL, 10);
    if (e > s && e > now_ns) return 1;
    snprintf(why, whylen, "ends_at must be later than starts_at (now when absent) and in the future");
    return 0;
}

/* POST /query/silences {"service", "endpoint"?, "starts_at"? (default now), "ends_at", "comment"?}:
 * 201 with the silence. Unknown members are refused (a misspelt "endpiont" would silence the whole
 * service). */
static int on_create_silence(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    if (!qp_known(req, NULL)) return 0;
    json_error_t jerr;
    json_t *b = json_loadb(req->entity.base, req->entity.len, 0, &jerr);
    static const char *const fields[] = {"service", "endpoint", "starts_at", "ends_at", "comment", NULL};
    char why[256] = "", unknown[160] = "", starts[24], ends[24];
    const char *path = NULL, *service, *endpoint, *comment;
    const char *key;
    json_t *v;
    if (!json_is_object(b)) {
        path = "";
        snprintf(why, sizeof(why), "expected a JSON object");
    } else {
        json_object_foreach(b, key, v)
        {
            int ok = 0;
            for (int i = 0; fields[i]; i++)
                ok |= strcmp(key, fields[i]) == 0;
            if (!ok && strlen(unknown) + strlen(key) + 3 < sizeof(unknown)) {
                if (path == NULL) path = key;
                snprintf(unknown + strlen(unknown), sizeof(unknown) - strlen(unknown), "%s%s",
                         unknown[0] ? ", " : "", key);
            }
        }
        if (path)
            snprintf(why, sizeof(why),
                     "unknown field(s): %s (known: service, endpoint, starts_at, ends_at, comment)", unknown);
        else if (!body_string(b, "service", SILENCE_SERVICE_MAX, 1, &service, why, sizeof(why)))
            path = "service";
        else if (!body_string(b, "endpoint", SILENCE_ENDPOINT_MAX, 0, &endpoint, why, sizeof(why)))
            path = "endpoint";
        else if (!body_time(b, "starts_at", 0, starts, sizeof(starts), why, sizeof(why)))
            path = "starts_at";
        else if (!body_time(b, "ends_at", 1, ends, sizeof(ends), why, sizeof(why)))
            path = "ends_at";
        else if (!body_string(b, "comment", SILENCE_COMMENT_MAX, 0, &comment, why, sizeof(why)))
            path = "comment";
        else if (!range_ok(starts, ends, why, sizeof(why)))
            path = "ends_at";
    }
    if (path) {
        httpd_send_error(req, 400, "invalid", why, path);
        json_decref(b);
        return 0;
    }
    static const char sql[] =
        "WITH ins AS (INSERT INTO silences (service, endpoint, starts_at, ends_at, comment) VALUES ($1, $2, "
        "  coalesce(to_timestamp($3::bigint / 1e9), now()), to_timestamp($4::bigint / 1e9), $5) RETURNING *) "
        "SELECT " SILENCE_JSON("ins") "::text FROM ins";
    query_sql_t s = {.sql = sql,
                     .nparams = 5,
                     .params = {service, endpoint, starts[0] ? starts : NULL, ends, comment},
                     .read_only = 0,
                     .created = 1};
    query_sql_submit(q->pool, req, m, &s);
    json_decref(b);
    return 0;
}

/* DELETE /query/silences/{id}: expires the silence now (the row stays, listed as expired); one already
 * expired is left as it was. 200 with the silence. */
static int on_expire_silence(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    query_api_t *q = ctx;
    char id[24];
    if (!qp_known(req, NULL) || !qp_path_id(req, m->params[0], "id", id, sizeof(id))) return 0;
    static const char sql[] =
        "WITH u AS (UPDATE silences SET ends_at = least(ends_at, now()), starts_at = least(starts_at, now()) "
        "  WHERE id = $1::bigint RETURNING *) SELECT " SILENCE_JSON("u") "::text FROM u";
    query_sql_t s = {
        .sql = sql, .nparams = 1, .params = {id}, .not_found = "no such silence", .read_only = 0};
    query_sql_submit(q->pool, req, m, &s);
    return 0;
}

void query_alerts_register(httpd_t *h, query_api_t *q)
{
    httpd_route(h, "GET", "/query/alerts", &q->cfg->read_keys, on_alerts, q);
    httpd_route(h, "GET", "/query/silences", &q->cfg->read_keys, on_list_silences, q);
    httpd_route(h, "POST", "/query/silences", &q->cfg->admin_keys, on_create_silence, q);
    httpd_route(h, "DELETE", "/query/silences/{id}", &q->cfg->admin_keys, on_expire_silence, q);
}
