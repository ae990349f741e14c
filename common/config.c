/* The one table of environment variables (name, default, meaning, type, bounds) and its validation. */
#include "config.h"
#include "alert_dest.h"
#include "alloc.h"
#include "cors.h"
#include "leader.h"
#include "listen.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef enum {
    T_STRING,
    T_URL,
    T_INT,
    T_LONG,
    T_KEYS,
    T_LEVEL,
    T_OPT_URL,
    T_DIR,
    T_FRACTION,
    T_WEBHOOKS,
    T_ADDR,
    T_ORIGINS,
    T_FILE /* a readable file; empty: NULL */
} var_type_t;

typedef struct {
    const char *name;
    const char *def; /* NULL: required */
    var_type_t type;
    int programs;
    size_t offset;
    long min, max;
    const char *help;
} var_spec_t;

#define OFF(f) offsetof(config_t, f)
#define ALL (CFG_BACKEND | CFG_PIPELINE)

static const var_spec_t vars[] = {
    {"DATABASE_URL", "postgresql://prodsentinel@127.0.0.1:5432/prodsentinel", T_URL, ALL, OFF(database_url),
     0, 0,
     "PostgreSQL URI of the schema's owner (postgresql://user[:pass]@host:port/db): migrations, retention; "
     "the default of the three role URLs below"},
    {"INGEST_DATABASE_URL", "", T_OPT_URL, CFG_BACKEND, OFF(ingest_database_url), 0, 0,
     "PostgreSQL URI of the ingest writers (role prodsentinel_ingest: INSERT into raw telemetry); "
     "empty: DATABASE_URL"},
    {"QUERY_DATABASE_URL", "", T_OPT_URL, CFG_BACKEND, OFF(query_database_url), 0, 0,
     "PostgreSQL URI of the query API and /ready (role prodsentinel_query: SELECT, feedback); "
     "empty: DATABASE_URL"},
    {"QUERY_WRITE_DATABASE_URL", "", T_OPT_URL, CFG_BACKEND, OFF(query_write_database_url), 0, 0,
     "PostgreSQL URI of the query API's few writes (feedback, rerun) as prodsentinel_query: the primary when "
     "QUERY_DATABASE_URL points at a read replica; empty: QUERY_DATABASE_URL"},
    {"PIPELINE_DATABASE_URL", "", T_OPT_URL, CFG_PIPELINE, OFF(pipeline_database_url), 0, 0,
     "PostgreSQL URI of the pipeline (role prodsentinel_pipeline: SELECT, analysis writes); "
     "empty: DATABASE_URL"},
    {"REDIS_URL", "redis://127.0.0.1:6379/0", T_URL, ALL, OFF(redis_url), 0, 0,
     "Redis URI (redis://[:password@]host:port[/db])"},
    {"REDIS_SENTINELS", "", T_STRING, ALL, OFF(redis_sentinels), 0, 0,
     "comma-separated host:port of Redis Sentinels: the master named REDIS_MASTER_NAME is found through them "
     "and followed across failovers (REDIS_URL then gives only the password and database); empty: "
     "REDIS_URL's "
     "server"},
    {"REDIS_MASTER_NAME", "prodsentinel", T_STRING, ALL, OFF(redis_master_name), 0, 0,
     "the master's name in Sentinel (sentinel monitor <name> ...), with REDIS_SENTINELS"},
    {"REDIS_PREFIX", "ps:", T_STRING, ALL, OFF(redis_prefix), 0, 0,
     "prefix of every Redis key (queue, debounce)"},
    {"BIND_ADDR", LISTEN_DEFAULT_ADDR, T_ADDR, ALL | CFG_FAKE, OFF(bind_addr), 0, 0,
     "address every listener binds: an IPv4 or IPv6 literal (127.0.0.1, 0.0.0.0, ::1, ::)"},
    {"BACKEND_PORT", "8000", T_INT, CFG_BACKEND, OFF(backend_port), 1, 65535,
     "HTTP port of the ingest and query API"},
    {"OTLP_HTTP_PORT", "4318", T_INT, CFG_BACKEND, OFF(otlp_http_port), 0, 65535,
     "second HTTP port serving the same API, for OTLP/HTTP exporters (/v1/traces, /v1/logs, /v1/metrics); "
     "0: none"},
    {"OTLP_GRPC_PORT", "4317", T_INT, CFG_BACKEND, OFF(otlp_grpc_port), 0, 65535,
     "OTLP/gRPC port (TraceService, LogsService, MetricsService); 0: none"},
    {"CORS_ALLOWED_ORIGINS", "", T_ORIGINS, CFG_BACKEND, OFF(cors_allowed_origins), 0, 0,
     "comma-separated origins (scheme://host[:port]) browsers may send telemetry from, or *; empty: no CORS"},
    {"MAX_CONNECTIONS_PER_ADDR", "16", T_INT, ALL, OFF(edge.max_connections_per_addr), 0, 1000000,
     "open connections from one client address (IPv6: one /64) on each server; more are closed at once; "
     "0: no limit"},
    {"AUTH_FAILURES_PER_MIN", "20", T_INT, ALL, OFF(edge.auth_failures_per_min), 0, 1000000,
     "failed authentications from one client address (IPv6: one /64) per minute; past it every request "
     "needing a key gets 429 (gRPC: RESOURCE_EXHAUSTED) until the minute ends; 0: no limit"},
    {"TLS_CERT_FILE", "", T_FILE, ALL, OFF(edge.tls_cert_file), 0, 0,
     "PEM certificate chain: the HTTP listeners speak HTTPS only and the OTLP/gRPC listener TLS with ALPN "
     "h2 (set with TLS_KEY_FILE); empty: plain HTTP and h2c"},
    {"TLS_KEY_FILE", "", T_FILE, ALL, OFF(edge.tls_key_file), 0, 0, "PEM private key of TLS_CERT_FILE"},
    {"PIPELINE_PORT", "8001", T_INT, CFG_PIPELINE, OFF(pipeline_port), 1, 65535,
     "HTTP port of the pipeline (health, /debug/analyze)"},
    {"INGEST_API_KEYS", NULL, T_KEYS, CFG_BACKEND, OFF(ingest_keys), 0, 0,
     "comma-separated keys accepted by /ingest and /v1 (Authorization: Bearer or X-API-Key)"},
    {"READ_API_KEYS", NULL, T_KEYS, CFG_BACKEND, OFF(read_keys), 0, 0,
     "comma-separated keys accepted by /query"},
    {"ADMIN_API_KEY", NULL, T_KEYS, ALL, OFF(admin_keys), 0, 0, "key for /debug and admin operations"},
    {"LLM_BASE_URL", "", T_OPT_URL, CFG_PIPELINE, OFF(llm_base_url), 0, 0,
     "OpenAI-compatible base URL (POST {url}/chat/completions); empty: deterministic reports only"},
    {"LLM_ALLOW_INSECURE", "0", T_INT, CFG_PIPELINE, OFF(llm_allow_insecure), 0, 1,
     "1 allows LLM_BASE_URL over plain http:// to a host other than loopback (prompts would cross the "
     "network unencrypted)"},
    {"LLM_API_KEY", "", T_STRING, CFG_PIPELINE, OFF(llm_api_key), 0, 0, "bearer token sent to the LLM"},
    {"LLM_MODEL", "gpt-4o-mini", T_STRING, CFG_PIPELINE, OFF(llm_model), 0, 0, "model name sent to the LLM"},
    {"LLM_TIMEOUT_MS", "30000", T_INT, CFG_PIPELINE, OFF(llm_timeout_ms), 100, 600000,
     "timeout of one LLM call"},
    {"LLM_BREAKER_OPEN_MS", "30000", T_INT, CFG_PIPELINE, OFF(llm_breaker_open_ms), 100, 3600000,
     "after 5 failed LLM calls in a row, no call is tried for this long (deterministic reports meanwhile)"},
    {"LLM_MAX_CALLS_PER_HOUR", "60", T_INT, CFG_PIPELINE, OFF(llm_max_calls_per_hour), 0, 10000000,
     "most LLM calls per clock hour, counted in PostgreSQL across every pipeline; past it reports are "
     "deterministic and say so; 0: never call the LLM"},
    {"LOG_LEVEL", "info", T_LEVEL, ALL | CFG_FAKE, OFF(log_level), 0, 0, "debug, info, warn or error"},
    {"DEBOUNCE_QUIET_MS", "5000", T_INT, CFG_BACKEND, OFF(debounce_quiet_ms), 0, 3600000,
     "a trace is analysed after this long without new errors"},
    {"DEBOUNCE_MAX_MS", "60000", T_INT, CFG_BACKEND, OFF(debounce_max_ms), 0, 86400000,
     "... and at most this long after its first error"},
    {"TRIGGER_RESEND_MS", "600000", T_INT, CFG_BACKEND, OFF(trigger_resend_ms), 500, 86400000,
     "an error trace handed to the analysis stream and still not analysed after this long is handed over "
     "again from PostgreSQL (its stream entry was lost with Redis)"},
    {"HTTP_THREADS", "2", T_INT, ALL, OFF(http_threads), 1, 64, "event-loop threads of the HTTP server"},
    {"WRITER_THREADS", "2", T_INT, CFG_BACKEND, OFF(writer_threads), 1, 64,
     "database writer threads (each one PostgreSQL connection)"},
    {"WORKERS", "2", T_INT, CFG_PIPELINE, OFF(workers), 1, 64, "analysis worker threads"},
    {"MAX_BODY_BYTES", "16777216", T_LONG, CFG_BACKEND, OFF(max_body_bytes), 1024, 1073741824L,
     "largest accepted request body; larger gets 413"},
    {"MAX_BATCH_RECORDS", "20000", T_INT, CFG_BACKEND, OFF(max_batch_records), 1, 10000000,
     "most records in one batch; more gets 413"},
    {"RATE_LIMIT_PER_KEY", "2000", T_INT, CFG_BACKEND, OFF(rate_per_key), 0, 10000000,
     "requests per second per API key (burst of 2 s); over it: 429 with Retry-After; 0: no limit"},
    {"MAX_CONNECTIONS", "1024", T_INT, CFG_BACKEND, OFF(max_connections), 1, 1000000,
     "open client connections at most (split over HTTP_THREADS); more are closed at once"},
    {"REQUEST_TIMEOUT_MS", "10000", T_INT, CFG_BACKEND, OFF(request_timeout_ms), 100, 600000,
     "a client slower than this to send its request is dropped (slow clients cannot hold threads)"},
    {"RETENTION_DAYS", "30", T_INT, CFG_BACKEND, OFF(retention_days), 1, 36500,
     "raw telemetry partitions older than this many days are dropped; records older than that are refused "
     "at ingest (400, or counted as rejected in OTLP's partialSuccess)"},
    {"INGEST_MAX_FUTURE_S", "600", T_INT, CFG_BACKEND, OFF(ingest_max_future_s), 0, 31536000,
     "records stamped more than this many seconds ahead of now are refused at ingest"},
    {"REDACT_AT_INGEST", "0", T_INT, CFG_BACKEND, OFF(redact_at_ingest), 0, 1,
     "1: secrets (the patterns of redaction, as for LLM prompts and alerts) are replaced before storage in "
     "log messages, bodies and stack traces, span names and status messages, and every string of "
     "attributes, events and links (identities are computed on the redacted form); 0: stored as sent"},
    {"PARTITION_INTERVAL", "day", T_STRING, CFG_BACKEND, OFF(partition_interval), 0, 0,
     "size of the raw telemetry partitions the backend creates: day, or hour (high volume: smaller "
     "partitions to vacuum, index and drop; a day already partitioned keeps its layout)"},
    {"VISIBILITY_TIMEOUT_MS", "60000", T_INT, CFG_PIPELINE, OFF(visibility_timeout_ms), 100, 86400000,
     "a job whose worker stopped renewing its claim (it renews every third of this while it works) goes "
     "to another worker after this long"},
    {"MAX_ATTEMPTS", "3", T_INT, CFG_PIPELINE, OFF(max_attempts), 1, 100,
     "a job that fails this many times goes to the dead-letter list"},
    {"MAX_SPANS_PER_TRACE", "20000", T_INT, ALL, OFF(max_spans_per_trace), 10, 10000000,
     "most spans of one trace analysed (a larger trace is sampled: errors and their paths first, then the "
     "longest spans, then by start time) and the largest page of /query/traces"},
    {"MAX_LOGS_PER_TRACE", "20000", T_INT, ALL, OFF(max_logs_per_trace), 10, 10000000,
     "most logs of one trace analysed (ERROR and above first, then by time) and the largest page of "
     "/query/traces"},
    {"QUERY_MAX_SEARCH_RANGE_S", "604800", T_INT, CFG_BACKEND, OFF(query_max_search_range_s), 1, 31536000,
     "the text search (/query/signals?q=) needs from and to, at most this many seconds apart"},
    {"QUERY_MAX_QUEUE", "64", T_INT, CFG_BACKEND, OFF(query_max_queue), 1, 100000,
     "query requests waiting for a database thread; more get 503 with Retry-After"},
    {"ANOMALY_PERIOD_S", "10", T_INT, CFG_PIPELINE, OFF(anomaly_period_s), 1, 3600,
     "how often the metric anomaly detector scans the points that arrived"},
    {"ANOMALY_LAG_S", "15", T_INT, CFG_PIPELINE, OFF(anomaly_lag_s), 0, 3600,
     "points younger than this wait for the next scan (late arrivals)"},
    {"DEGRADE_PERIOD_S", "30", T_INT, CFG_PIPELINE, OFF(degrade_period_s), 1, 3600,
     "how often the degradation watcher compares each endpoint's window with its baseline"},
    {"DEGRADE_WINDOW_S", "300", T_INT, CFG_PIPELINE, OFF(degrade_window_s), 5, 86400,
     "the rolling window of entry spans judged for degradation (and ranked for its report)"},
    {"DEGRADE_BASELINE_S", "1800", T_INT, CFG_PIPELINE, OFF(degrade_baseline_s), 5, 604800,
     "the baseline before the rolling window"},
    {"MIGRATIONS_DIR", "migrations", T_DIR, CFG_BACKEND, OFF(migrations_dir), 0, 0,
     "folder of numbered SQL files"},
    {"FRONTEND_DIR", "frontend/dist", T_STRING, CFG_BACKEND, OFF(frontend_dir), 0, 0,
     "built dashboard served at / (skipped when absent)"},
    /* alert destinations (pipeline/alerts.h, common/alert_dest.h) */
    {"ALERT_WEBHOOKS", "", T_WEBHOOKS, CFG_PIPELINE, OFF(alert_webhooks), 0, 0,
     "comma-separated alert destinations [type:]target[;min_severity=LEVEL][;name=ID], type json (default), "
     "slack, teams, alertmanager (target: URL) or pagerduty (target: routing key)"},
    {"PAGERDUTY_EVENTS_URL", "https://events.pagerduty.com/v2/enqueue", T_URL, CFG_PIPELINE,
     OFF(pagerduty_events_url), 0, 0, "where pagerduty: destinations post (PagerDuty Events API v2)"},
    {"ALERTMANAGER_RESEND_S", "60", T_INT, CFG_PIPELINE, OFF(alertmanager_resend_s), 1, 3600,
     "the pages of open incidents are sent to alertmanager: destinations again this often (Alertmanager "
     "resolves an alert it has not heard of for its resolve_timeout, 5 minutes by default)"},
    {"PUBLIC_URL", "", T_OPT_URL, CFG_PIPELINE, OFF(public_url), 0, 0,
     "the dashboard's address as users reach it (https://host[:port]): alert links are absolute under it; "
     "empty: relative links (/#/incident/N)"},
    {"ALERT_MIN_CONFIDENCE", "0", T_FRACTION, CFG_PIPELINE, OFF(alert_min_confidence), 0, 0,
     "report alerts below this confidence (0..1) are not sent"},
    {"ALERT_RETRY_BASE_MS", "1000", T_INT, CFG_PIPELINE, OFF(alert_retry_base_ms), 10, 600000,
     "a failed alert is retried after this times 2^attempts (at most 10 minutes)"},
    {"ALERT_RATE_PER_MIN", "30", T_INT, CFG_PIPELINE, OFF(alert_rate_per_min), 1, 100000,
     "most alerts sent to one destination per minute (the rest wait)"},
    /* scale-out (issue 16) */
    {"INSTANCE_ID", "", T_STRING, ALL, OFF(instance_id), 0, 0,
     "this process's name in /ready, /metrics and logs, and the stem of its queue consumer names "
     "(letters, digits, . _ : -); empty: <hostname>-<pid>"},
    {"LEADER_TAKEOVER_S", "15", T_INT, ALL, OFF(leader_takeover_s), 3, 3600,
     "a singleton duty (retention, debounce scheduler, anomaly and degradation scans) held by an instance "
     "that died or lost PostgreSQL moves to another instance within this many seconds"},
    {"RETENTION_PERIOD_S", "3600", T_INT, CFG_BACKEND, OFF(retention_period_s), 1, 86400,
     "how often the retention duty drops old raw partitions (one backend runs it at a time)"},
    {"INCIDENT_RESOLVE_AFTER_S", "1800", T_INT, CFG_PIPELINE, OFF(incident_resolve_after_s), 1, 2592000,
     "an incident with no new trace (or degraded window) for this long resolves (by arrival time)"},
    {"GROUP_WINDOW_S", "600", T_INT, CFG_PIPELINE, OFF(group_window_s), 0, 86400,
     "incidents whose root cause is the same service opened this close together join one parent (0: never)"},
    {"ALERT_MIN_TRACES", "3", T_INT, CFG_PIPELINE, OFF(alert_min_traces), 1, 1000000,
     "a new error incident pages once it has this many traces (or see ALERT_ENTRY_ERROR_RATE)"},
    {"ALERT_ENTRY_ERROR_RATE", "0.5", T_FRACTION, CFG_PIPELINE, OFF(alert_entry_error_rate), 0, 0,
     "a new error incident pages at once when its entry point failed more than this share of its requests "
     "in the minute before"},
    {"BACKEND_URL", "http://127.0.0.1:8000", T_URL, CFG_FAKE, OFF(backend_url), 0, 0,
     "where the fake services send their telemetry"},
};

static int url_ok(const char *v)
{
    static const char *schemes[] = {"postgresql://", "postgres://", "redis://", "http://", "https://"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++) {
        size_t n = strlen(schemes[i]);
        if (strncmp(v, schemes[i], n) == 0 && v[n] != '\0') return 1;
    }
    return 0;
}

/* ---------------- secrets ---------------- */

/* Variables holding secrets: API keys (each key of the list), LLM_API_KEY when set, and the password of each
 * database URL when it has one. */
static const char *const secret_vars[] = {"DATABASE_URL",
                                          "INGEST_DATABASE_URL",
                                          "QUERY_DATABASE_URL",
                                          "PIPELINE_DATABASE_URL",
                                          "QUERY_WRITE_DATABASE_URL",
                                          "INGEST_API_KEYS",
                                          "READ_API_KEYS",
                                          "ADMIN_API_KEY",
                                          "LLM_API_KEY"};

static int is_secret(const char *name)
{
    for (size_t i = 0; i < sizeof(secret_vars) / sizeof(*secret_vars); i++)
        if (strcmp(secret_vars[i], name) == 0) return 1;
    return 0;
}

/* Placeholders of the examples (docker/.env.example, docker-compose.yml): never a real secret. */
static const char *const placeholder_prefixes[] = {"change-me", "changeme", "replace-me"};

/* One secret of `len` bytes at `v`: -1 with `err` (naming `what`, never the secret) when it is shorter than
 * CONFIG_MIN_SECRET_LEN or starts with a placeholder. */
static int secret_ok(const char *name, const char *what, const char *v, size_t len, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(placeholder_prefixes) / sizeof(*placeholder_prefixes); i++) {
        size_t n = strlen(placeholder_prefixes[i]);
        if (len >= n && strncasecmp(v, placeholder_prefixes[i], n) == 0) {
            snprintf(err, errlen, "%s: %s is the placeholder \"%s...\": set a real secret", name, what,
                     placeholder_prefixes[i]);
            return -1;
        }
    }
    if (len < CONFIG_MIN_SECRET_LEN) {
        snprintf(err, errlen, "%s: %s has %zu characters; secrets need at least %d", name, what, len,
                 CONFIG_MIN_SECRET_LEN);
        return -1;
    }
    return 0;
}

/* The password of a URL (scheme://user:password@host... or ?password=...), or NULL. */
static const char *url_password(const char *v, size_t *len)
{
    const char *auth = strstr(v, "://");
    if (auth == NULL) return NULL;
    auth += 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@') at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon) {
        *len = (size_t)(at - colon - 1);
        return colon + 1;
    }
    const char *q = strstr(v, "password=");
    if (q && (q[-1] == '?' || q[-1] == '&')) {
        *len = strcspn(q + 9, "&#");
        return q + 9;
    }
    return NULL;
}

/* Applies secret_ok() to what `s` holds: each key of a key list, a URL's password, a string when set. */
static int check_secret(const var_spec_t *s, const char *v, char *err, size_t errlen)
{
    switch (s->type) {
    case T_KEYS: {
        size_t i = 1;
        for (const char *p = v; *p; i++) {
            size_t len = strcspn(p, ",");
            char what[32];
            snprintf(what, sizeof(what), "key %zu", i);
            if (secret_ok(s->name, what, p, len, err, errlen) != 0) return -1;
            p += len + (p[len] == ',');
        }
        return 0;
    }
    case T_URL:
    case T_OPT_URL: {
        size_t len = 0;
        const char *pw = url_password(v, &len);
        return pw ? secret_ok(s->name, "the password", pw, len, err, errlen) : 0;
    }
    default:
        return *v ? secret_ok(s->name, "the value", v, strlen(v), err, errlen) : 0;
    }
}

static int load_one(config_t *cfg, const var_spec_t *s, char *err, size_t errlen)
{
    const char *v = getenv(s->name);
    if (v == NULL || (*v == '\0' && s->type != T_OPT_URL && s->type != T_STRING && s->type != T_FILE))
        v = s->def;
    if (v == NULL) {
        snprintf(err, errlen, "%s: missing (required; see --help)", s->name);
        return -1;
    }
    if (is_secret(s->name) && check_secret(s, v, err, errlen) != 0) return -1;
    void *field = (char *)cfg + s->offset;
    switch (s->type) {
    case T_INT:
    case T_LONG: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end != '\0' || n < s->min || n > s->max) {
            snprintf(err, errlen, "%s: \"%s\" is not an integer in %ld..%ld", s->name, v, s->min, s->max);
            return -1;
        }
        if (s->type == T_INT)
            *(int *)field = (int)n;
        else
            *(long *)field = n;
        return 0;
    }
    case T_URL:
    case T_OPT_URL:
        if (*v == '\0' && s->type == T_OPT_URL) {
            *(char **)field = NULL;
            return 0;
        }
        if (!url_ok(v)) {
            /* the value is not repeated: URLs hold passwords and tokens */
            snprintf(err, errlen, "%s: not a URL (expected scheme://host...)", s->name);
            return -1;
        }
        *(char **)field = xstrdup(v);
        return 0;
    case T_FRACTION: {
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end != '\0' || !(d >= 0.0 && d <= 1.0)) {
            snprintf(err, errlen, "%s: \"%s\" is not a number in 0..1", s->name, v);
            return -1;
        }
        *(double *)field = d;
        return 0;
    }
    case T_WEBHOOKS: {
        if (*v == '\0') {
            *(char **)field = NULL;
            return 0;
        }
        alert_dest_t *d = xcalloc(ALERT_DEST_MAX, sizeof(*d));
        int n;
        char why[200];
        int rc = alert_dest_parse(v, d, &n, why, sizeof(why));
        free(d);
        if (rc != 0) {
            snprintf(err, errlen, "%s: %s", s->name, why);
            return -1;
        }
        *(char **)field = xstrdup(v);
        return 0;
    }
    case T_ADDR:
        if (listen_addr_check(v) != 0) {
            snprintf(err, errlen,
                     "%s: \"%s\" is not an IPv4 or IPv6 address (e.g. 127.0.0.1, 0.0.0.0, ::1, ::)", s->name,
                     v);
            return -1;
        }
        *(char **)field = xstrdup(v);
        return 0;
    case T_ORIGINS: {
        cors_origins_t *o;
        char why[200];
        if (cors_origins_parse(v, &o, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: %s", s->name, why);
            return -1;
        }
        *(char **)field = o ? xstrdup(v) : NULL;
        cors_origins_free(o);
        return 0;
    }
    case T_FILE:
        if (*v == '\0') {
            *(char **)field = NULL;
            return 0;
        }
        if (access(v, R_OK) != 0) {
            snprintf(err, errlen, "%s: cannot read \"%s\": %s", s->name, v, strerror(errno));
            return -1;
        }
        *(char **)field = xstrdup(v);
        return 0;
    case T_STRING:
    case T_DIR:
        *(char **)field = xstrdup(v);
        return 0;
    case T_KEYS: {
        char why[160];
        if (keyset_parse((keyset_t *)field, v, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: %s", s->name, why);
            return -1;
        }
        return 0;
    }
    case T_LEVEL:
        if (log_level_parse(v, (log_level_t *)field) != 0) {
            snprintf(err, errlen, "%s: \"%s\" is not one of debug, info, warn, error", s->name, v);
            return -1;
        }
        return 0;
    }
    return -1;
}

/* 1 when the URL's host is a loopback address (127.0.0.0/8, ::1, localhost). */
static int host_is_loopback(const char *url)
{
    const char *h = strstr(url, "://");
    if (h == NULL) return 0;
    h += 3;
    const char *at = strpbrk(h, "@/"); /* skip user:pass@ */
    if (at && *at == '@') h = at + 1;
    return strncmp(h, "127.", 4) == 0 || strncmp(h, "[::1]", 5) == 0 || strncmp(h, "localhost", 9) == 0;
}

/* With REDIS_SENTINELS, replaces cfg->redis_url by the redis+sentinel:// target of redisx.h, keeping
 * REDIS_URL's password and database. */
static int apply_sentinels(config_t *cfg, char *err, size_t errlen)
{
    if (cfg->redis_sentinels == NULL || cfg->redis_sentinels[0] == '\0') return 0;
    const char *s = cfg->redis_sentinels;
    if (s[strlen(s) - 1] == ',') {
        snprintf(err, errlen, "REDIS_SENTINELS: expected host:port[,host:port...] (an entry is empty)");
        return -1;
    }
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, ",");
        const char *colon = memchr(p, ':', n);
        size_t digits = colon ? strspn(colon + 1, "0123456789") : 0;
        if (n == 0 || colon == NULL || colon == p || digits == 0 || colon + 1 + digits != p + n ||
            atoi(colon + 1) > 65535 || memchr(p, '/', n) || memchr(p, '@', n)) {
            snprintf(err, errlen, "REDIS_SENTINELS: expected host:port[,host:port...]");
            return -1;
        }
        p += n + (p[n] == ',');
    }
    const char *m = cfg->redis_master_name;
    if (m[0] == '\0' || strcspn(m, "/@, ") != strlen(m)) {
        snprintf(err, errlen, "REDIS_MASTER_NAME: expected a name without '/', '@', ',' or spaces");
        return -1;
    }
    if (strncmp(cfg->redis_url, "redis://", 8) != 0) {
        snprintf(err, errlen,
                 "REDIS_URL: expected redis://... (with REDIS_SENTINELS it gives the password and db)");
        return -1;
    }
    const char *rest = cfg->redis_url + 8;
    const char *at = strchr(rest, '@');
    int auth_len = at ? (int)(at + 1 - rest) : 0;
    const char *db = strchr(at ? at : rest, '/');
    db = db && db[1] ? db + 1 : "0";
    size_t len = strlen("redis+sentinel://") + (size_t)auth_len + strlen(s) + strlen(m) + strlen(db) + 3;
    char *url = xmalloc(len);
    snprintf(url, len, "redis+sentinel://%.*s%s/%s/%s", auth_len, rest, s, m, db);
    free(cfg->redis_url);
    cfg->redis_url = url;
    return 0;
}

/* Rules between the pipeline's variables. */
static int check_pipeline(const config_t *cfg, char *err, size_t errlen)
{
    const char *web[] = {"PAGERDUTY_EVENTS_URL", cfg->pagerduty_events_url, "PUBLIC_URL", cfg->public_url};
    for (int i = 0; i < 4; i += 2)
        if (web[i + 1] && strncmp(web[i + 1], "http://", 7) != 0 && strncmp(web[i + 1], "https://", 8) != 0) {
            snprintf(err, errlen, "%s: not an http(s) URL", web[i]);
            return -1;
        }
    const char *u = cfg->llm_base_url;
    if (u && strncmp(u, "http://", 7) == 0 && !host_is_loopback(u) && !cfg->llm_allow_insecure) {
        snprintf(
            err, errlen,
            "LLM_BASE_URL: plain http:// to a host other than loopback would send prompts unencrypted; use "
            "https:// or set LLM_ALLOW_INSECURE=1");
        return -1;
    }
    return 0;
}

/* TLS needs both files or neither. */
static int check_tls(const config_t *cfg, char *err, size_t errlen)
{
    if ((cfg->edge.tls_cert_file == NULL) == (cfg->edge.tls_key_file == NULL)) return 0;
    snprintf(err, errlen, "%s: required when %s is set (TLS needs both files, or neither)",
             cfg->edge.tls_key_file ? "TLS_CERT_FILE" : "TLS_KEY_FILE",
             cfg->edge.tls_key_file ? "TLS_KEY_FILE" : "TLS_CERT_FILE");
    return -1;
}

/* Rules between the backend's variables. */
/* INSTANCE_ID goes into metric labels and Redis consumer names unescaped: a narrow alphabet. Empty gets
 * the default. */
static int check_instance(config_t *cfg, char *err, size_t errlen)
{
    if (cfg->instance_id == NULL || cfg->instance_id[0] == '\0') {
        char id[128];
        leader_default_instance(id, sizeof(id));
        free(cfg->instance_id);
        cfg->instance_id = xstrdup(id);
        return 0;
    }
    size_t n = strlen(cfg->instance_id);
    if (n > 64 ||
        strspn(cfg->instance_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") != n) {
        snprintf(err, errlen, "INSTANCE_ID: at most 64 letters, digits, '.', '_', ':' or '-'");
        return -1;
    }
    return 0;
}

static int check_backend(const config_t *cfg, char *err, size_t errlen)
{
    if (cfg->debounce_max_ms < cfg->debounce_quiet_ms) {
        snprintf(err, errlen, "DEBOUNCE_MAX_MS: must be at least DEBOUNCE_QUIET_MS (%d)",
                 cfg->debounce_quiet_ms);
        return -1;
    }
    if (strcmp(cfg->partition_interval, "day") != 0 && strcmp(cfg->partition_interval, "hour") != 0) {
        snprintf(err, errlen, "PARTITION_INTERVAL: \"%s\" is not day or hour", cfg->partition_interval);
        return -1;
    }
    if (cfg->otlp_http_port != 0 && cfg->otlp_http_port == cfg->backend_port) {
        snprintf(err, errlen, "OTLP_HTTP_PORT: %d is BACKEND_PORT already (0 disables it)",
                 cfg->otlp_http_port);
        return -1;
    }
    if (cfg->otlp_grpc_port != 0 &&
        (cfg->otlp_grpc_port == cfg->backend_port || cfg->otlp_grpc_port == cfg->otlp_http_port)) {
        snprintf(err, errlen, "OTLP_GRPC_PORT: %d is BACKEND_PORT or OTLP_HTTP_PORT already (0 disables it)",
                 cfg->otlp_grpc_port);
        return -1;
    }
    return 0;
}

int config_load(config_t *cfg, int program, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->log_level = LOG_INFO;
    for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++) {
        if (!(vars[i].programs & program)) continue;
        if (load_one(cfg, &vars[i], err, errlen) != 0) {
            config_dispose(cfg);
            return -1;
        }
    }
    /* each role's URL defaults to the owner's (setups with one database user keep working) */
    char **role_urls[] = {&cfg->ingest_database_url, &cfg->query_database_url, &cfg->pipeline_database_url};
    for (size_t i = 0; i < sizeof(role_urls) / sizeof(*role_urls); i++)
        if (*role_urls[i] == NULL && cfg->database_url) *role_urls[i] = xstrdup(cfg->database_url);
    if (cfg->query_write_database_url == NULL && cfg->query_database_url)
        cfg->query_write_database_url = xstrdup(cfg->query_database_url);
    if ((program & ALL) && (check_instance(cfg, err, errlen) != 0 ||
                            (cfg->redis_url && apply_sentinels(cfg, err, errlen) != 0))) {
        config_dispose(cfg);
        return -1;
    }
    if (((program & ALL) && check_tls(cfg, err, errlen) != 0) ||
        ((program & CFG_BACKEND) && check_backend(cfg, err, errlen) != 0) ||
        ((program & CFG_PIPELINE) && check_pipeline(cfg, err, errlen) != 0)) {
        config_dispose(cfg);
        return -1;
    }
    cfg->partition_hourly = cfg->partition_interval && strcmp(cfg->partition_interval, "hour") == 0;
    return 0;
}

void config_dispose(config_t *cfg)
{
    if (cfg == NULL) return;
    char **strings[] = {&cfg->database_url,
                        &cfg->redis_url,
                        &cfg->redis_prefix,
                        &cfg->llm_base_url,
                        &cfg->llm_api_key,
                        &cfg->llm_model,
                        &cfg->migrations_dir,
                        &cfg->frontend_dir,
                        &cfg->backend_url,
                        &cfg->alert_webhooks,
                        &cfg->bind_addr,
                        &cfg->cors_allowed_origins,
                        &cfg->edge.tls_cert_file,
                        &cfg->edge.tls_key_file,
                        &cfg->query_write_database_url,
                        &cfg->redis_sentinels,
                        &cfg->redis_master_name,
                        &cfg->partition_interval,
                        &cfg->instance_id,
                        &cfg->pagerduty_events_url,
                        &cfg->public_url};
    for (size_t i = 0; i < sizeof(strings) / sizeof(*strings); i++) {
        free(*strings[i]);
        *strings[i] = NULL;
    }
    free(cfg->ingest_database_url);
    free(cfg->query_database_url);
    free(cfg->pipeline_database_url);
    cfg->ingest_database_url = cfg->query_database_url = cfg->pipeline_database_url = NULL;
    keyset_dispose(&cfg->ingest_keys);
    keyset_dispose(&cfg->read_keys);
    keyset_dispose(&cfg->admin_keys);
}

void config_print_help(FILE *out, const char *program_name, int program)
{
    fprintf(out, "Usage: %s [--help]\n\nConfiguration (environment variables):\n", program_name);
    for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++) {
        if (!(vars[i].programs & program)) continue;
        const char *def = vars[i].def ? (*vars[i].def ? vars[i].def : "(empty)") : "(required)";
        fprintf(out, "  %-22s default %s\n  %-22s %s\n", vars[i].name, def, "", vars[i].help);
    }
}

const char *config_var(size_t i, const char **def, int *programs)
{
    if (i >= sizeof(vars) / sizeof(*vars)) return NULL;
    *def = vars[i].def;
    *programs = vars[i].programs;
    return vars[i].name;
}
