/* Running a read-only SQL statement for an HTTP request on a pool thread, where PostgreSQL itself
 * builds the JSON answer (json_build_object / json_agg): the statement returns one row with one text
 * column, or no row for "not found". Every value travels as a parameter. */
#ifndef PS_QUERY_SQL_H
#define PS_QUERY_SQL_H

#include "httpd.h"
#include "workpool.h"

#define QUERY_MAX_PARAMS 12

/* SQL fragments shared by the routes that read raw telemetry (migration 005), so a record's OTel
 * parts read the same everywhere:
 *   QUERY_SQL_SCOPE: the row's instrumentation scope, {"name","version"}, or null when none was sent;
 *   QUERY_SQL_RESOURCES(hashes): {"<hash>": {"service","attributes","schema_url",
 *     "dropped_attributes_count"}} for the resources whose hash the subquery `hashes` yields ({} for
 *     none); rows refer to their resource by that hash ("resource"), so each is sent once. */
#define QUERY_SQL_SCOPE                                                                                      \
    "CASE WHEN scope_name IS NULL AND scope_version IS NULL THEN NULL ELSE json_build_object('name', "       \
    "scope_name, 'version', scope_version) END"
#define QUERY_SQL_RESOURCES(hashes)                                                                          \
    "(SELECT coalesce(json_object_agg(r.resource_hash, json_build_object('service', r.service, "             \
    "'attributes', r.attributes, 'schema_url', r.schema_url, 'dropped_attributes_count', "                   \
    "r.dropped_attributes) ORDER BY r.resource_hash), '{}'::json) FROM resources r WHERE r.resource_hash "   \
    "IN (" hashes "))"

typedef struct {
    const char *sql;
    int nparams;
    const char *params[QUERY_MAX_PARAMS]; /* copied by query_sql_submit(); NULL is SQL NULL */
    const char *not_found;                /* message for a 404 when no row comes back */
    int read_only;                        /* 1: run in a READ ONLY transaction */
    int created;                          /* 1: a row was written; answer 201 instead of 200 */
} query_sql_t;

/* Copies what it needs from `q`, runs it on a pool thread and answers the request: 200 (201 when
 * q->created) with the JSON, 404 with q->not_found, 503 when PostgreSQL is unreachable. Loop thread. */
void query_sql_submit(workpool_t *pool, h2o_req_t *req, const httpd_match_t *m, const query_sql_t *q);

#endif
