/* POST /debug/analyze-window (see window_analysis.h). */
#include "window_analysis.h"
#include "alloc.h"
#include "db.h"
#include "window_rank.h"
#include "rfc3339.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    httpd_job_t super;
    int64_t from, to, bfrom, bto;
    int status;
    char *body;
} window_job_t;

static void run(httpd_job_t *hjob, worker_t *wk)
{
    window_job_t *j = (window_job_t *)hjob;
    j->status = 503;
    if (db_ensure(&wk->pg, wk->database_url)) {
        int db_failed = 0;
        json_t *js = window_rank(wk->pg, j->from, j->to, j->bfrom, j->bto, &db_failed);
        if (js) j->body = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        json_decref(js);
        j->status = j->body ? 200 : db_failed ? 503 : 500;
    }
    httpd_job_finish(hjob);
}

static void done(httpd_job_t *hjob, h2o_req_t *req)
{
    window_job_t *j = (window_job_t *)hjob;
    if (req) {
        if (j->status == 200)
            httpd_send_text(req, 200, "application/json", j->body, strlen(j->body));
        else if (j->status == 503) {
            httpd_add_header(req, "Retry-After", "2");
            httpd_send_error(req, 503, "unavailable", "database unavailable; retry later", NULL);
        } else
            httpd_send_error(req, 500, "internal", "ranking failed", NULL);
    }
    free(j->body);
    free(j);
}

/* A time field of the body: RFC 3339 or integer epoch ns. Returns 1 when present and valid, 0 when
 * absent, -1 when invalid. */
static int body_time(json_t *b, const char *field, int64_t *ns)
{
    json_t *v = json_object_get(b, field);
    const char *why;
    if (v == NULL) return 0;
    if (json_is_integer(v)) {
        *ns = json_integer_value(v);
        return *ns >= RFC3339_MIN_NS && *ns < RFC3339_MAX_NS ? 1 : -1;
    }
    if (json_is_string(v))
        return rfc3339_parse(json_string_value(v), json_string_length(v), ns, &why) == 0 ? 1 : -1;
    return -1;
}

static int on_window(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    workpool_t *pool = ctx;
    json_t *b = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    window_job_t *j = xcalloc(1, sizeof(*j));
    const char *bad = NULL;
    int f = 0, t = 0, bf = 0, bt = 0;
    if (!json_is_object(b))
        bad = "";
    else if ((f = body_time(b, "from", &j->from)) != 1)
        bad = "from";
    else if ((t = body_time(b, "to", &j->to)) != 1 || j->to <= j->from)
        bad = "to";
    else if ((bf = body_time(b, "baseline_from", &j->bfrom)) < 0)
        bad = "baseline_from";
    else if ((bt = body_time(b, "baseline_to", &j->bto)) < 0)
        bad = "baseline_to";
    json_decref(b);
    if (bad) {
        httpd_send_error(
            req, 400, "invalid",
            "expected {\"from\",\"to\"[,\"baseline_from\",\"baseline_to\"]} as RFC 3339 or epoch ns, "
            "to after from",
            bad);
        free(j);
        return 0;
    }
    if (!bt) j->bto = j->from;
    if (!bf) j->bfrom = j->bto - (j->to - j->from);
    if (j->bto <= j->bfrom) {
        httpd_send_error(req, 400, "invalid", "baseline_to must be after baseline_from", "baseline_to");
        free(j);
        return 0;
    }
    httpd_job_attach(&j->super, req, m->request_id, done);
    workpool_submit(pool, &j->super, run);
    return 0;
}

void window_analysis_register(httpd_t *h, workpool_t *pool, const keyset_t *admin_keys)
{
    httpd_route(h, "POST", "/debug/analyze-window", admin_keys, on_window, pool);
}
