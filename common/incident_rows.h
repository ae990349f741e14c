/* The one owner of incident rows and their transitions (issue 15). Both programs write incidents (the
 * pipeline opens, joins, groups, pages and resolves them; the backend's rerun sends one back for a new
 * report), and every such write is here. Each transition is one guarded UPDATE (... WHERE status =
 * 'open' / paged_at IS NULL ... RETURNING), so several pipelines at once cannot apply it twice, and it
 * records its event row (incident_events) and its notification in the same transaction.
 *
 * Lifecycle:
 *   opened ──(trace joins / degraded window)──► activity (last_activity_at = arrival time; a child's
 *     │                                          activity is its parent's too)
 *     │  ├─ root cause service matches an open top-level incident (any kind) opened within
 *     │  │  GROUP_WINDOW_S ─► grouped (child: parent_id, group_reason; never pages: its traces count
 *     │  │  towards its parent's ALERT_MIN_TRACES, its failing entry point pages the parent)
 *     │  └─ error/slow: ALERT_MIN_TRACES traces, or its entry point (the failed root span's endpoint)
 *     │     failed > ALERT_ENTRY_ERROR_RATE of its requests in the minute before, and its first report
 *     │     is stored (the page carries the root cause) ─► paged
 *     │     degradation: once its report named the root cause (grouping first) ─► paged
 *     └─ no activity for INCIDENT_RESOLVE_AFTER_S, or (degradation) 2 healthy passes of the
 *        watcher in a row ─► resolved (a "resolved" notification when it paged)
 *   a trace or degradation of a resolved fingerprint opens a new incident: recurred (previous_id)
 *
 * The parent chosen is the candidate that already paged, else the earliest (created_at, id); an incident
 * with children is never grouped itself. Grouping of one root service is serialised by an advisory lock,
 * so two incidents grouping at once cannot pick each other.
 *
 * This file does no alerting itself (alerts are the pipeline's): a transition that must notify calls
 * the caller's incident_notifier_t inside its transaction. Any thread, with the caller's connection. */
#ifndef PS_INCIDENT_ROWS_H
#define PS_INCIDENT_ROWS_H

#include "config.h"

#include <libpq-fe.h>
#include <stddef.h>

typedef enum {
    INCIDENT_OPENED,
    INCIDENT_GROUPED,
    INCIDENT_ESCALATED,
    INCIDENT_PAGED,
    INCIDENT_RESOLVED,
    INCIDENT_REOPENED,
    INCIDENT_RECURRED,
} incident_event_kind_t;

/* The event's name as stored in incident_events.kind. */
const char *incident_event_name(incident_event_kind_t k);

typedef struct {
    int resolve_after_s;     /* INCIDENT_RESOLVE_AFTER_S */
    int group_window_s;      /* GROUP_WINDOW_S; 0: never group */
    int min_traces;          /* ALERT_MIN_TRACES */
    double entry_error_rate; /* ALERT_ENTRY_ERROR_RATE */
} incident_policy_t;

/* The policy of the configuration (INCIDENT_RESOLVE_AFTER_S, GROUP_WINDOW_S, ALERT_MIN_TRACES,
 * ALERT_ENTRY_ERROR_RATE). */
void incident_policy_init(incident_policy_t *p, const config_t *cfg);

/* What a notifier hears about: INCIDENT_PAGED (a page is due) or INCIDENT_RESOLVED (of an incident that
 * paged). Strings are borrowed for the call; service and endpoint may be NULL. */
typedef struct {
    incident_event_kind_t event;
    long long id;
    const char *kind; /* error, slow, degradation */
    const char *title, *service, *endpoint;
    /* of a page: "critical" when an error incident's entry point is failing past ALERT_ENTRY_ERROR_RATE,
     * "error" otherwise (degradations included: two signals agreed); destinations filter on it
     * (min_severity). NULL for a resolution. */
    const char *severity;
} incident_note_t;

/* Called inside the transition's transaction with its connection. Returns 0, or -1 to roll the
 * transition back (it is tried again: the next trace, the next timer tick). */
typedef struct {
    int (*fn)(void *ctx, PGconn *c, const incident_note_t *n);
    void *ctx;
} incident_notifier_t;

/* ---- error and slow traces (the pipeline's workers) ---- */

typedef struct {
    const char *fingerprint;
    const char *title;
    const char *kind;                                           /* error, slow */
    const char *root_service, *root_operation, *exception_type; /* may be NULL */
    const char *trace_id;
    const char *services_literal;  /* PostgreSQL array literal, e.g. {gateway,payment} */
    const char *endpoints_literal; /* likewise */
    long long first_ns, last_ns;   /* the trace's time span */
} incident_trace_in_t;

typedef struct {
    long long id;
    int created;      /* this call opened the incident */
    int needs_report; /* no report stored yet for it and this trace is its sample */
    int joined;       /* this trace was new to the incident */
} incident_trace_out_t;

/* Opens the fingerprint's incident (linked to the previous one when it recurs, grouped when its root
 * service matches) or joins the open one, records its activity, and pages it once it qualifies. Runs
 * INSIDE the caller's transaction (the caller commits, or rolls back on -1). Returns 0, or -1 with
 * PostgreSQL's message in err. */
int incident_rows_join_trace(PGconn *c, const incident_policy_t *pol, const incident_notifier_t *nt,
                             const incident_trace_in_t *in, incident_trace_out_t *out, char *err,
                             size_t errlen);

/* Pages the incident of a report just stored for `trace_id` when it qualifies (the page waits for the
 * first report: see incident_rows_join_trace). Its own transaction; a no-op when it paged already, is
 * grouped or does not qualify yet. Returns 0 or -1. */
int incident_rows_page_due(PGconn *c, const incident_policy_t *pol, const incident_notifier_t *nt,
                           long long id, const char *trace_id);

/* Marks the incident's report written (report_state 'ready'). Inside the caller's transaction. 0 or -1. */
int incident_rows_report_ready(PGconn *c, long long id);

/* ---- degradations (the pipeline's degradation runner) ---- */

/* Opens the degradation incident of `endpoint` of `service` (title: `explanation`; its report waits as
 * 'pending') or confirms the open one (activity, healthy windows back to 0). Its own transaction. It
 * pages only once its report named a root cause (incident_rows_report_root): grouping comes first.
 * Returns 0 with *id (and *created), or -1. */
int incident_rows_degraded(PGconn *c, const char *service, const char *endpoint, const char *explanation,
                           const char *window_from_ns, const char *window_to_ns, long long *id, int *created);
/* The endpoint's window was healthy: counts it; the second healthy window in a row resolves its open
 * degradation incident (and notifies when it paged). Its own transaction. Returns 0 or -1. */
int incident_rows_healthy(PGconn *c, const incident_notifier_t *nt, const char *service,
                          const char *endpoint);
/* The degradation report of `id` named `service`/`operation` (NULL: none): stores them, groups the
 * incident under an open one of the same root service, else pages it. Its own transaction. 0 or -1. */
int incident_rows_report_root(PGconn *c, const incident_policy_t *pol, const incident_notifier_t *nt,
                              long long id, const char *service, const char *operation);

/* ---- the resolve timer (a periodic duty of the pipeline) ---- */

/* Resolves up to `max` open incidents with no activity for pol->resolve_after_s, each in its own
 * transaction with its event and (when it paged) its notification. Returns how many, or -1. */
int incident_rows_resolve_idle(PGconn *c, const incident_policy_t *pol, const incident_notifier_t *nt,
                               int max);

/* ---- the backend's POST /query/incidents/{id}/rerun ---- */

typedef struct {
    int found;       /* the incident exists */
    int window;      /* a degradation: sent back to report_state 'pending' for a new window report */
    char sample[64]; /* otherwise its sample trace ("" when it has none) */
} incident_rerun_t;

/* Asks for a new report of incident `id` (decimal text). One statement. Returns 0 (see out), or -1. */
int incident_rows_rerun(PGconn *c, const char *id, incident_rerun_t *out);

#endif
