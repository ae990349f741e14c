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
    int baseline_given; /* 1 when the request named either baseline bound */
    int status;
    char *body;
} window_job_t;

/* The windows actually used, in both forms, and where the baseline came from: the answer says what it
 * compared, so a default baseline is never a silent assumption. Returns 0, or -1 on allocation failure. */
static int echo_window(json_t *js, const window_job_t *j)
{
    json_t *w = json_object_get(js, "window");
    if (!json_is_object(w)) return -1;
    const struct {
        const char *name;
        int64_t ns;
    } t[] = {{"from", j->from}, {"to", j->to}, {"baseline_from", j->bfrom}, {"baseline_to", j->bto}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char when[40];
        rfc3339_format(t[i].ns, when, sizeof(when));
        if (json_object_set_new(w, t[i].name, json_string(when))) return -1;
    }
    const char *src = j->baseline_given ? "given" : "default: the window of equal length just before";
    return json_object_set_new(w, "baseline", json_string(src));
}

static void run(httpd_job_t *hjob, worker_t *wk)
{
    window_job_t *j = (window_job_t *)hjob;
    j->status = 503;
    if (db_ensure(&wk->pg, wk->database_url)) {
        int db_failed = 0;
        json_t *js = window_rank(wk->pg, j->from, j->to, j->bfrom, j->bto, &db_failed);
        if (js && echo_window(js, j) == 0)
            j->body = json_dumps(js, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
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

static const char *const FIELDS[] = {"from", "to", "baseline_from", "baseline_to"};

/* Validates the body into j. Returns 0, or -1 with the field's path in *path (borrowed from b, or
 * static) and what is wrong with it in *msg. */
static int parse_request(json_t *b, window_job_t *j, const char **path, const char **msg)
{
    *path = "";
    if (!json_is_object(b)) {
        *msg = "expected a JSON object {\"from\",\"to\"[,\"baseline_from\",\"baseline_to\"]}";
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(b, key, v)
    {
        size_t k = 0;
        while (k < sizeof(FIELDS) / sizeof(FIELDS[0]) && strcmp(key, FIELDS[k]) != 0)
            k++;
        if (k == sizeof(FIELDS) / sizeof(FIELDS[0])) {
            *path = key;
            *msg = "unknown field: expected from, to, baseline_from, baseline_to";
            return -1;
        }
    }
    int64_t *dst[] = {&j->from, &j->to, &j->bfrom, &j->bto};
    int got[4];
    for (int k = 0; k < 4; k++) {
        got[k] = body_time(b, FIELDS[k], dst[k]);
        *path = FIELDS[k];
        if (got[k] < 0) {
            *msg = "not a time: expected RFC 3339 or integer epoch nanoseconds, from 2000 to 2100";
            return -1;
        }
        if (got[k] == 0 && k < 2) {
            *msg = "required";
            return -1;
        }
    }
    if (j->to <= j->from) {
        *path = "to";
        *msg = "must be after from";
        return -1;
    }
    j->baseline_given = got[2] || got[3];
    if (!got[3]) j->bto = j->from;
    if (!got[2]) j->bfrom = j->bto - (j->to - j->from);
    if (j->bto <= j->bfrom) {
        *path = "baseline_to";
        *msg = "must be after baseline_from";
        return -1;
    }
    return 0;
}

static int on_window(void *ctx, h2o_req_t *req, const httpd_match_t *m)
{
    workpool_t *pool = ctx;
    json_t *b = json_loadb(req->entity.base, req->entity.len, 0, NULL);
    window_job_t *j = xcalloc(1, sizeof(*j));
    const char *path, *msg;
    if (parse_request(b, j, &path, &msg)) {
        httpd_send_error(req, 400, "invalid", msg, path); /* copies path before b dies */
        json_decref(b);
        free(j);
        return 0;
    }
    json_decref(b);
    httpd_job_attach(&j->super, req, m->request_id, done);
    workpool_submit(pool, &j->super, run);
    return 0;
}

void window_analysis_register(httpd_t *h, workpool_t *pool, const keyset_t *admin_keys)
{
    httpd_route(h, "POST", "/debug/analyze-window", admin_keys, on_window, pool);
}
