/* Faults injected into one simulated service through its control endpoints, for a limited time:
 * added latency, a share of failing requests, a crash loop (503 "restarting", no telemetry), and network
 * delay in front of the service (before its server span starts). Parsing the control bodies is pure;
 * the state has its own lock, so any thread may set or read it. */
#ifndef PS_FAKE_FAULTS_H
#define PS_FAKE_FAULTS_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#define FAULTS_DEFAULT_DURATION_S 60
#define FAULTS_MAX_DURATION_S 86400
#define FAULTS_MAX_DELAY_MS 60000

/* POST /control/fault {"latency_ms":N,"error_rate":0..1,"crash_loop":bool,"duration_s":N} */
typedef struct {
    int latency_ms;
    double error_rate;
    int crash_loop;
    int duration_s;
} fault_spec_t;

/* POST /control/network-delay {"delay_ms":N,"duration_s":N} */
typedef struct {
    int delay_ms;
    int duration_s;
} delay_spec_t;

/* What applies to a request arriving now. */
typedef struct {
    int latency_ms;
    double error_rate;
    int crash_loop;
    int delay_ms;
    int fault_left_s, delay_left_s; /* seconds until each setting expires; 0: not active */
} faults_now_t;

typedef struct {
    pthread_mutex_t lock;
    fault_spec_t fault;
    long long fault_until_ms; /* monotonic */
    delay_spec_t delay;
    long long delay_until_ms;
} faults_t;

/* Each parse returns 0, or -1 with the bad field and the reason in err. Missing fields are 0/false;
 * duration_s defaults to FAULTS_DEFAULT_DURATION_S. */
int faults_parse_fault(const char *body, size_t len, fault_spec_t *out, char *err, size_t errlen);
int faults_parse_delay(const char *body, size_t len, delay_spec_t *out, char *err, size_t errlen);

void faults_init(faults_t *f);
void faults_dispose(faults_t *f);
/* Replace the current fault / delay settings from now on for their duration. */
void faults_set_fault(faults_t *f, const fault_spec_t *spec);
void faults_set_delay(faults_t *f, const delay_spec_t *spec);
/* Clears both. */
void faults_reset(faults_t *f);
void faults_get(faults_t *f, faults_now_t *out);
/* {"latency_ms",...,"fault_left_s","delay_ms","delay_left_s"} of `now` (new reference). */
json_t *faults_to_json(const faults_now_t *now);

#endif
