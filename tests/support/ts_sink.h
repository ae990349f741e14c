/* A webhook receiver for alert tests: an HTTP/1.1 server on a loopback port that records each POST
 * (path and body) and answers with a status the test sets. Down (not listening: connection refused)
 * until ts_sink_up(). */
#ifndef PS_TS_SINK_H
#define PS_TS_SINK_H

#include <stddef.h>

typedef struct ts_sink ts_sink_t;

/* Reserves a free loopback port; the sink starts down. */
ts_sink_t *ts_sink_create(void);
int ts_sink_port(const ts_sink_t *s);
/* Starts listening; each request is answered with `status` (changeable at any time). */
void ts_sink_up(ts_sink_t *s, int status);
void ts_sink_set_status(ts_sink_t *s, int status);
/* The next `n` requests are answered with `status`, the later ones with the usual status again. */
void ts_sink_fail_next(ts_sink_t *s, int n, int status);
/* Requests received so far (answered with any status), and how many of them had a 2xx answer. */
size_t ts_sink_count(ts_sink_t *s);
size_t ts_sink_accepted(ts_sink_t *s);
/* Copies of the i-th request's path and body (malloc'd); NULL past the end. */
char *ts_sink_path(ts_sink_t *s, size_t i);
char *ts_sink_body(ts_sink_t *s, size_t i);
/* When the i-th request arrived (wall clock, ms since the epoch, comparable with PostgreSQL's now());
 * the status it was answered with. 0 past the end. */
long long ts_sink_time_ms(ts_sink_t *s, size_t i);
int ts_sink_status(ts_sink_t *s, size_t i);
void ts_sink_free(ts_sink_t *s);

#endif
