/* Validation of query-string filters: each bad value is answered with a 400 naming the filter. */
#ifndef PS_QUERY_PARAMS_H
#define PS_QUERY_PARAMS_H

#include "httpd.h"

#include <stdint.h>

/* Each returns 1 when the value is absent or valid (out filled; `present` says which), 0 after
 * answering the request with 400 naming `name`. */
int qp_time(h2o_req_t *req, const char *name, int64_t *ns, int *present);
int qp_int(h2o_req_t *req, const char *name, long min, long max, long def, long *out);
/* A value among `allowed` (NULL-terminated); *out is NULL when absent. */
int qp_enum(h2o_req_t *req, const char *name, const char *const *allowed, const char **out);
/* Free text of at most max_len bytes; *out is NULL when absent. */
int qp_text(h2o_req_t *req, const char *name, size_t max_len, const char **out);
/* A cursor "<integer>:<integer>" as produced by the list endpoints. */
int qp_cursor(h2o_req_t *req, const char *name, char *a, char *b, size_t len, int *present);
/* A path id that must be a positive integer (answers 400 naming it otherwise). */
int qp_path_id(h2o_req_t *req, h2o_iovec_t v, const char *name, char *out, size_t outlen);
/* A 32-hex trace id in the path. */
int qp_trace_id(h2o_req_t *req, h2o_iovec_t v, char out[33]);
/* Refuses a parameter the route does not read: every name in the query string must be among `known`
 * (NULL-terminated; NULL itself: the route takes none), else 400 naming the first unknown one. A
 * misspelt filter ("servce=payment") would otherwise be ignored and the answer silently unfiltered. */
int qp_known(h2o_req_t *req, const char *const *known);

#endif
