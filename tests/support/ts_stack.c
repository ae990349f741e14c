/* The end-to-end stack of the simulated services (see ts_stack.h). */
#include "ts_stack.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SERVICE_ENV 8

/* One fake service of `role` sending to the stack's backend; `downstream` ("NAME=url") may be NULL. */
static void start_service(ts_stack_t *s, ts_proc_t *p, const char *role, const char *port_var,
                          const char *downstream, const char *const *service_env)
{
    char be[128], r[64];
    snprintf(be, sizeof(be), "BACKEND_URL=%s", s->backend.url);
    snprintf(r, sizeof(r), "FAKE_SERVICE_ROLE=%s", role);
    const char *env[4 + MAX_SERVICE_ENV + 1] = {be, r, "INGEST_API_KEY=" TS_INGEST_KEY};
    size_t n = 3;
    if (downstream) env[n++] = downstream;
    for (size_t i = 0; service_env && service_env[i]; i++) {
        ck_assert_msg(i < MAX_SERVICE_ENV, "ts_stack: too many service variables");
        env[n++] = service_env[i];
    }
    ck_assert_msg(ts_start(p, "fake-services/fake-service", port_var, s->db_url, s->prefix, env) == 0,
                  "fake service %s did not start", role);
}

void ts_stack_start(ts_stack_t *s, const ts_stack_opts_t *o)
{
    memset(s, 0, sizeof(*s));
    if (o->redis_prefix) {
        snprintf(s->prefix, sizeof(s->prefix), "%s", o->redis_prefix);
    } else {
        char suffix[9];
        ts_hex(suffix, 8);
        snprintf(s->prefix, sizeof(s->prefix), "t:%s:", suffix);
    }
    s->db_url = ts_create_database(o->db_name);
    ck_assert_int_eq(ts_start_backend(&s->backend, s->db_url, s->prefix, o->backend_env), 0);
    ck_assert_int_eq(ts_start_pipeline(&s->pipeline, s->db_url, s->prefix, o->pipeline_env), 0);
    start_service(s, &s->inventory, "inventory", "INVENTORY_PORT", NULL, o->service_env);
    char inv[96], pay[96];
    snprintf(inv, sizeof(inv), "INVENTORY_URL=%s", s->inventory.url);
    start_service(s, &s->payment, "payment", "PAYMENT_PORT", inv, o->service_env);
    snprintf(pay, sizeof(pay), "PAYMENT_URL=%s", s->payment.url);
    start_service(s, &s->gateway, "gateway", "GATEWAY_PORT", pay, o->service_env);
}

void ts_stack_stop(ts_stack_t *s)
{
    ts_stop(&s->gateway, SIGTERM);
    ts_stop(&s->payment, SIGTERM);
    ts_stop(&s->inventory, SIGTERM);
    ts_stop(&s->pipeline, SIGTERM);
    ts_stop(&s->backend, SIGTERM);
    free(s->db_url);
    s->db_url = NULL;
}

long ts_stack_post_order(const ts_proc_t *gateway, const char *body, const char *traceparent, char trace[33])
{
    char url[128], tp[128];
    snprintf(url, sizeof(url), "%s/orders", gateway->url);
    snprintf(tp, sizeof(tp), "traceparent: %s", traceparent ? traceparent : "");
    const char *h[] = {"Content-Type: application/json", traceparent ? tp : NULL, NULL};
    ts_resp_t r;
    ck_assert_int_eq(ts_http("POST", url, h, body, strlen(body), &r), 0);
    json_t *o = json_loads(r.body, 0, NULL);
    snprintf(trace, 33, "%s", json_string_value(json_object_get(o, "trace_id")) ?: "");
    json_decref(o);
    long st = r.status;
    ts_resp_free(&r);
    return st;
}

long ts_stack_order(const ts_stack_t *s, const char *id, char trace[33])
{
    char body[128];
    snprintf(body, sizeof(body), "{\"order_id\":\"%s\",\"amount\":12}", id);
    return ts_stack_post_order(&s->gateway, body, NULL, trace);
}

void ts_stack_control(const ts_proc_t *service, const char *path, const char *body)
{
    char url[160];
    snprintf(url, sizeof(url), "%s%s", service->url, path);
    ts_resp_t r;
    ck_assert_int_eq(ts_post_json(url, NULL, body, &r), 0);
    ck_assert_msg(r.status == 200, "%s: %ld %s", path, r.status, r.body);
    ts_resp_free(&r);
}

json_t *ts_stack_wait_analysis(PGconn *c, const char *expr, const char *trace, char incident[24], int seconds)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT (%s)::text, a.incident_id FROM analyses a JOIN incident_traces t ON t.incident_id = "
             "a.incident_id WHERE t.trace_id = $1 ORDER BY a.id DESC LIMIT 1",
             expr);
    const char *p[] = {trace};
    json_t *o = NULL;
    for (int i = 0; i < seconds * 5 && o == NULL; i++) {
        PGresult *r = PQexecParams(c, sql, 1, NULL, p, NULL, NULL, 0);
        if (PQntuples(r) == 1) {
            o = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
            if (incident) snprintf(incident, 24, "%s", PQgetvalue(r, 0, 1));
        }
        PQclear(r);
        if (o == NULL) usleep(200 * 1000);
    }
    return o;
}
