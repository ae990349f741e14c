/* Configuration from environment variables, parsed and validated once in main, read-only afterwards.
 * Every program shares one table of variables (config.c) so --help and validation agree. */
#ifndef PS_CONFIG_H
#define PS_CONFIG_H

#include "auth.h"
#include "listen.h"
#include "log.h"

#include <stdio.h>

/* Which programs read a variable: --help of each program lists only its own. */
enum {
    CFG_BACKEND = 1 << 0,
    CFG_PIPELINE = 1 << 1,
    CFG_FAKE = 1 << 2,
};

/* Shortest API key or database password accepted. */
#define CONFIG_MIN_SECRET_LEN 16

typedef struct {
    char *database_url;          /* the owner: migrations and retention */
    char *ingest_database_url;   /* the backend's writers and debounce; DATABASE_URL when unset */
    char *query_database_url;    /* the backend's query API and /ready; DATABASE_URL when unset */
    char *pipeline_database_url; /* everything the pipeline does; DATABASE_URL when unset */
    /* Scale-out (issue 16): the query API's writes on the primary while its reads may use a replica, and
     * Redis through Sentinel. */
    char *query_write_database_url; /* feedback and rerun; QUERY_DATABASE_URL when unset */
    char *redis_sentinels;          /* host:port,...; NULL: REDIS_URL names the server itself */
    char *redis_master_name;        /* the master's name in Sentinel */
    char *partition_interval;       /* PARTITION_INTERVAL: "day" or "hour" */
    int partition_hourly;           /* 1 when partition_interval is "hour" */
    char *redis_url;    /* the Redis target of redisx.h: REDIS_URL, or redis+sentinel://... with sentinels */
    char *redis_prefix; /* namespace of every Redis key we use */
    char *bind_addr;    /* IPv4 or IPv6 literal every listener binds (HTTP and gRPC) */
    int backend_port;
    int pipeline_port;
    int otlp_http_port;         /* the backend's second HTTP port for OTLP clients; 0: none */
    int otlp_grpc_port;         /* OTLP/gRPC listener; 0: none */
    char *cors_allowed_origins; /* cors.h syntax; NULL: no CORS */
    listen_edge_t edge;         /* per-address limits and TLS of every listener */
    keyset_t ingest_keys;
    keyset_t read_keys;
    keyset_t admin_keys;
    char *llm_base_url; /* NULL when no LLM is configured */
    char *llm_api_key;
    char *llm_model;
    int llm_timeout_ms;
    int llm_allow_insecure;
    int llm_breaker_open_ms;
    int llm_max_calls_per_hour; /* across every pipeline (pipeline/llm_budget.h); 0: no LLM call */
    log_level_t log_level;
    int debounce_quiet_ms;
    int debounce_max_ms;
    int trigger_resend_ms; /* a handed-over trigger not analysed after this long is handed over again */
    int http_threads;
    int writer_threads;
    int workers;
    long max_body_bytes;
    int max_batch_records;
    int rate_per_key;
    int max_connections;
    int request_timeout_ms;
    int retention_days;
    int ingest_max_future_s; /* with retention_days: the accepted range of record times */
    int redact_at_ingest;    /* 1: texts and attribute strings are stored redacted (redact.h) */
    int visibility_timeout_ms;
    int max_attempts;
    int max_spans_per_trace;      /* analysis and /query/traces: a larger trace is sampled or paged */
    int max_logs_per_trace;       /* likewise for the logs of a trace */
    int query_max_search_range_s; /* /query/signals?q= needs from and to at most this far apart */
    int query_max_queue;          /* query jobs waiting for a pool thread; more get 503 */
    int anomaly_period_s;         /* how often the anomaly detector scans new metric points */
    int anomaly_lag_s;            /* points younger than this wait for the next scan */
    int degrade_period_s;         /* how often the degradation watcher runs */
    int degrade_window_s;         /* its rolling window */
    int degrade_baseline_s;       /* the baseline before the window */
    char *migrations_dir;
    char *frontend_dir;
    char *backend_url;           /* where fake services send telemetry */
    char *alert_webhooks;        /* alert destinations (common/alert_dest.h syntax); NULL: no alerts */
    char *pagerduty_events_url;  /* where pagerduty: destinations post */
    char *public_url;            /* the dashboard's address for absolute alert links; NULL: relative */
    int alertmanager_resend_s;   /* open incidents' pages sent to Alertmanager again this often; 0: never */
    double alert_min_confidence; /* alerts below this report confidence are not sent */
    int alert_rate_per_min;      /* per destination */
    int alert_retry_base_ms;     /* backoff: this times 2^attempts */
    /* scale-out (issue 16): several backends and pipelines on one PostgreSQL and one Redis */
    char *instance_id;      /* this process in /ready, /metrics, logs; default "<hostname>-<pid>" */
    int leader_takeover_s;  /* a dead holder's singleton duties move to another instance within this */
    int retention_period_s; /* how often the retention duty runs */
    /* incident lifecycle (common/incident_rows.h) */
    int incident_resolve_after_s;  /* an incident with no new trace or degraded window this long resolves */
    int group_window_s;            /* incidents of one root service opened this close are grouped */
    int alert_min_traces;          /* a new error incident pages once it has this many traces... */
    double alert_entry_error_rate; /* ...or at once when its entry point fails more than this share */
} config_t;

/* Loads every variable the program (a CFG_* mask) reads. Returns 0, or -1 with one line in `err`
 * naming the variable and what is wrong with it. Secrets (API keys, LLM_API_KEY, passwords in the
 * database URLs) shorter than CONFIG_MIN_SECRET_LEN or starting with a documented placeholder
 * ("change-me", "changeme", "replace-me") are refused; the message never repeats the secret. Caller disposes
 * with config_dispose(). */
int config_load(config_t *cfg, int program, char *err, size_t errlen);
void config_dispose(config_t *cfg);
/* Prints the variables of `program` with default and meaning. */
void config_print_help(FILE *out, const char *program_name, int program);
/* The i-th variable of the table (0-based): its name, with its default in `def` (NULL: required) and the
 * CFG_* mask of the programs reading it in `programs`; NULL past the last. Lets other files be checked
 * against the table (tests/unit/test_compose.c: docker-compose.yml passes every option). */
const char *config_var(size_t i, const char **def, int *programs);

#endif
