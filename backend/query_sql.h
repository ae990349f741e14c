/* Running a read-only SQL statement for an HTTP request on a pool thread, where PostgreSQL itself
 * builds the JSON answer (json_build_object / json_agg): the statement returns one row with one text
 * column, or no row for "not found". Every value travels as a parameter. */
#ifndef PS_QUERY_SQL_H
#define PS_QUERY_SQL_H

#include "httpd.h"
#include "workpool.h"

#define QUERY_MAX_PARAMS 12

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
