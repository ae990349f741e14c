/* Injected faults of one service (see faults.h). */
#include "faults.h"
#include "program.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* An optional integer field in min..max; 0 when absent. */
static int int_field(json_t *o, const char *name, int min, int max, int *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, name);
    if (v == NULL) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(err, errlen, "%s: expected an integer in %d..%d", name, min, max);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

static json_t *load_object(const char *body, size_t len, char *err, size_t errlen)
{
    json_t *o = len ? json_loadb(body, len, 0, NULL) : json_object();
    if (!json_is_object(o)) {
        snprintf(err, errlen, "body: expected a JSON object");
        json_decref(o);
        return NULL;
    }
    return o;
}

int faults_parse_fault(const char *body, size_t len, fault_spec_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->duration_s = FAULTS_DEFAULT_DURATION_S;
    json_t *o = load_object(body, len, err, errlen);
    if (o == NULL) return -1;
    int rc = -1;
    json_t *rate = json_object_get(o, "error_rate"), *crash = json_object_get(o, "crash_loop");
    if (int_field(o, "latency_ms", 0, FAULTS_MAX_DELAY_MS, &out->latency_ms, err, errlen) != 0 ||
        int_field(o, "duration_s", 1, FAULTS_MAX_DURATION_S, &out->duration_s, err, errlen) != 0)
        goto out;
    if (rate && (!json_is_number(rate) || !(json_number_value(rate) >= 0 && json_number_value(rate) <= 1))) {
        snprintf(err, errlen, "error_rate: expected a number in 0..1");
        goto out;
    }
    if (crash && !json_is_boolean(crash)) {
        snprintf(err, errlen, "crash_loop: expected true or false");
        goto out;
    }
    out->error_rate = rate ? json_number_value(rate) : 0;
    out->crash_loop = json_is_true(crash);
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int faults_parse_delay(const char *body, size_t len, delay_spec_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->duration_s = FAULTS_DEFAULT_DURATION_S;
    json_t *o = load_object(body, len, err, errlen);
    if (o == NULL) return -1;
    int rc = -1;
    if (!json_is_integer(json_object_get(o, "delay_ms"))) {
        snprintf(err, errlen, "delay_ms: expected an integer in 0..%d", FAULTS_MAX_DELAY_MS);
        goto out;
    }
    if (int_field(o, "delay_ms", 0, FAULTS_MAX_DELAY_MS, &out->delay_ms, err, errlen) != 0 ||
        int_field(o, "duration_s", 1, FAULTS_MAX_DURATION_S, &out->duration_s, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

void faults_init(faults_t *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
}

void faults_dispose(faults_t *f)
{
    pthread_mutex_destroy(&f->lock);
}

void faults_set_fault(faults_t *f, const fault_spec_t *spec)
{
    pthread_mutex_lock(&f->lock);
    f->fault = *spec;
    f->fault_until_ms = mono_ms() + spec->duration_s * 1000LL;
    pthread_mutex_unlock(&f->lock);
}

void faults_set_delay(faults_t *f, const delay_spec_t *spec)
{
    pthread_mutex_lock(&f->lock);
    f->delay = *spec;
    f->delay_until_ms = mono_ms() + spec->duration_s * 1000LL;
    pthread_mutex_unlock(&f->lock);
}

void faults_reset(faults_t *f)
{
    pthread_mutex_lock(&f->lock);
    f->fault_until_ms = f->delay_until_ms = 0;
    pthread_mutex_unlock(&f->lock);
}

static int seconds_left(long long until_ms, long long now)
{
    return until_ms > now ? (int)((until_ms - now + 999) / 1000) : 0;
}

void faults_get(faults_t *f, faults_now_t *out)
{
    memset(out, 0, sizeof(*out));
    long long now = mono_ms();
    pthread_mutex_lock(&f->lock);
    if (f->fault_until_ms > now) {
        out->latency_ms = f->fault.latency_ms;
        out->error_rate = f->fault.error_rate;
        out->crash_loop = f->fault.crash_loop;
        out->fault_left_s = seconds_left(f->fault_until_ms, now);
    }
    if (f->delay_until_ms > now) {
        out->delay_ms = f->delay.delay_ms;
        out->delay_left_s = seconds_left(f->delay_until_ms, now);
    }
    pthread_mutex_unlock(&f->lock);
}

json_t *faults_to_json(const faults_now_t *now)
{
    return json_pack("{s:i,s:f,s:b,s:i,s:i,s:i}", "latency_ms", now->latency_ms, "error_rate",
                     now->error_rate, "crash_loop", now->crash_loop, "fault_left_s", now->fault_left_s,
                     "delay_ms", now->delay_ms, "delay_left_s", now->delay_left_s);
}
