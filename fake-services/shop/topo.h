/* The shop's topology, generated from a seed: an entry `gateway`, 5-8 mid-tier services, leaves (a
 * database proxy, a cache, one or two more) and an asynchronous consumer. Each operation lists the
 * callee operations it calls, in sequence or in parallel, some only with a probability. Pure: no I/O.
 *
 *   gateway (depth 0) -> mid (1) -> mid (2) -> mid (3) -> leaf (4)      mids call deeper mids or leaves
 *   some mid op --publish--> notifier (async: parent = the producer span, after a queue lag) */
#ifndef PS_SHOP_TOPO_H
#define PS_SHOP_TOPO_H

#include <stdint.h>

#define TOPO_MAX_SVC 16
#define TOPO_MAX_OPS 6 /* the gateway: up to 4 ops plus the hidden "new endpoint" op */
#define TOPO_MAX_CALLS 6
#define TOPO_NAME 48

typedef enum { TOPO_ENTRY, TOPO_MID, TOPO_LEAF, TOPO_ASYNC } topo_kind_t;
/* Positions of the fault matrix (see topo_generate): entry = the gateway; shared = called by >= 2
 * services; middle = has callers and callees; leaf = no callees and exactly one calling service. */
typedef enum { POS_ENTRY, POS_MIDDLE, POS_LEAF, POS_SHARED, POS_COUNT } topo_pos_t;
typedef enum { CALL_SEQ, CALL_PAR, CALL_ASYNC } topo_mode_t;

typedef struct {
    int svc, op;
    topo_mode_t mode; /* CALL_PAR: starts with the previous call (a fan-out group) */
    double prob;      /* 1.0, or the chance the call is made at all */
} topo_call_t;

typedef struct {
    char name[TOPO_NAME];     /* span name, e.g. "POST /charge" */
    char method[TOPO_NAME];   /* code method, e.g. "charge" */
    char internal[TOPO_NAME]; /* the internal work span, e.g. "PaymentService.charge" */
    double self_median_ms, self_sigma;
    double weight; /* entry operations: share of the traffic */
    int log_line;  /* line number of its log statements */
    int reachable; /* the gateway's traffic gets to it (calls of unreachable ops never happen) */
    int n_calls;
    topo_call_t calls[TOPO_MAX_CALLS];
} topo_op_t;

typedef struct {
    char name[TOPO_NAME], pod[TOPO_NAME + 20], node[20];
    char pkg[TOPO_NAME], cls[TOPO_NAME]; /* logger "c.s.PaymentService", class "PaymentService" */
    char exception[TOPO_NAME * 2];       /* what its code throws, e.g. "java.lang.IllegalStateException" */
    topo_kind_t kind;
    topo_pos_t pos;
    int depth, n_callers, n_callees, logs_requests;
    double cpu_base, mem_base, gc_base_ms, bytes_per_op;
    int n_ops;
    topo_op_t ops[TOPO_MAX_OPS];
} topo_service_t;

typedef struct {
    char system[32];
    uint64_t seed;
    int n_svc;
    int new_op; /* index of the gateway's hidden operation, used only in "new endpoint" windows */
    int attempts;
    topo_service_t svc[TOPO_MAX_SVC];
} topo_t;

/* Generates the topology of seed `seed` (service 0 is the gateway), regenerating until every position
 * has a service and a request stays a reasonable size. Always succeeds. */
void topo_generate(topo_t *t, uint64_t seed);
const char *topo_pos_name(topo_pos_t p);
int topo_find(const topo_t *t, const char *name);
/* Expected spans per request of the gateway's visible operations. */
double topo_expected_spans(const topo_t *t);

#endif
