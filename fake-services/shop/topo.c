/* Topology generation from a seed (see topo.h). */
#include "topo.h"

#include "prng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_SPANS_PER_REQUEST 70.0
#define OP_MAX_CALLS 4

typedef struct {
    const char *name, *cls, *ops[3][2]; /* {span name, method} */
} pool_entry_t;

static const pool_entry_t MIDS[] = {
    {"catalog",
     "Catalog",
     {{"GET /products", "listProducts"},
      {"GET /products/{id}", "getProduct"},
      {"GET /categories", "listCategories"}}},
    {"cart",
     "Cart",
     {{"GET /cart", "getCart"}, {"POST /cart/items", "addItem"}, {"DELETE /cart/items", "removeItem"}}},
    {"checkout",
     "Checkout",
     {{"POST /checkout", "placeOrder"}, {"GET /checkout/quote", "quote"}, {NULL, NULL}}},
    {"pricing",
     "Pricing",
     {{"POST /prices/quote", "quotePrices"}, {"GET /prices/{sku}", "getPrice"}, {NULL, NULL}}},
    {"orders",
     "Order",
     {{"POST /orders", "createOrder"}, {"GET /orders/{id}", "getOrder"}, {"GET /orders", "listOrders"}}},
    {"payment",
     "Payment",
     {{"POST /charge", "charge"}, {"POST /refund", "refund"}, {"GET /payments/{id}", "getPayment"}}},
    {"shipping",
     "Shipping",
     {{"POST /shipments", "createShipment"}, {"GET /shipping/rates", "getRates"}, {NULL, NULL}}},
    {"recommendation",
     "Recommendation",
     {{"GET /recommendations", "recommend"}, {"POST /recommendations/feedback", "feedback"}, {NULL, NULL}}},
    {"users",
     "User",
     {{"GET /users/{id}", "getUser"},
      {"PUT /users/{id}", "updateUser"},
      {"GET /users/{id}/addresses", "getAddresses"}}},
    {"reviews", "Review", {{"GET /reviews", "listReviews"}, {"POST /reviews", "addReview"}, {NULL, NULL}}},
    {"search", "Search", {{"GET /search", "search"}, {"GET /search/suggest", "suggest"}, {NULL, NULL}}},
    {"promotions",
     "Promotion",
     {{"GET /promotions", "listPromotions"}, {"POST /promotions/apply", "applyPromotion"}, {NULL, NULL}}},
    {"auth",
     "Auth",
     {{"POST /auth/verify", "verifyToken"}, {"POST /auth/token", "issueToken"}, {NULL, NULL}}},
    {"inventory",
     "Inventory",
     {{"GET /stock/{sku}", "getStock"},
      {"POST /stock/reserve", "reserve"},
      {"POST /stock/release", "release"}}},
};
#define N_MIDS (int)(sizeof(MIDS) / sizeof(*MIDS))

static const pool_entry_t EXTRA_LEAVES[] = {
    {"fraud-check", "FraudScore", {{"POST /score", "score"}, {NULL, NULL}, {NULL, NULL}}},
    {"mailer", "Mail", {{"POST /send", "send"}, {NULL, NULL}, {NULL, NULL}}},
    {"object-store",
     "ObjectStore",
     {{"GET /objects/{key}", "getObject"}, {"PUT /objects/{key}", "putObject"}, {NULL, NULL}}},
    {"tax", "Tax", {{"POST /tax/calculate", "calculate"}, {NULL, NULL}, {NULL, NULL}}},
};

static const pool_entry_t DB = {
    "db-proxy", "QueryRouter", {{"SELECT", "select"}, {"UPDATE", "update"}, {"INSERT", "insert"}}};
static const pool_entry_t CACHE = {"cache", "CacheServer", {{"GET", "get"}, {"SET", "set"}, {NULL, NULL}}};
static const pool_entry_t NOTIFIER = {
    "notifier", "Notification", {{"consume order-events", "onOrderEvent"}, {NULL, NULL}, {NULL, NULL}}};

static const char *const ENTRY_OPS[][2] = {
    {"GET /products", "products"}, {"POST /cart", "cart"},    {"POST /checkout", "checkout"},
    {"GET /orders", "orders"},     {"GET /search", "search"}, {"GET /account", "account"},
};
static const char *const NEW_OPS[][2] = {
    {"GET /wishlist", "wishlist"}, {"GET /deals", "deals"}, {"POST /gift-cards", "giftCards"}};

static const char *const EXCEPTIONS[] = {
    "java.lang.IllegalStateException",
    "java.lang.NullPointerException",
    "org.springframework.dao.DataAccessResourceFailureException",
    "java.net.SocketTimeoutException",
    "java.util.concurrent.TimeoutException",
    "java.lang.IllegalArgumentException",
};

const char *topo_pos_name(topo_pos_t p)
{
    static const char *const names[] = {"entry", "middle", "leaf", "shared"};
    return p < POS_COUNT ? names[p] : "none";
}

int topo_find(const topo_t *t, const char *name)
{
    for (int i = 0; i < t->n_svc; i++)
        if (strcmp(t->svc[i].name, name) == 0) return i;
    return -1;
}

static void set_op(topo_op_t *o, const char *name, const char *method, const char *cls, prng_t *r,
                   double lo_ms, double hi_ms)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "%s", name);
    snprintf(o->method, sizeof(o->method), "%s", method);
    snprintf(o->internal, sizeof(o->internal), "%s.%s", cls, method);
    /* log-uniform median between lo and hi */
    o->self_median_ms = lo_ms * exp(prng_unit(r) * log(hi_ms / lo_ms));
    o->self_sigma = prng_uniform(r, 0.2, 0.45);
    o->weight = 1.0;
    o->log_line = prng_range(r, 30, 240);
}

static int add_service(topo_t *t, prng_t *r, const pool_entry_t *e, topo_kind_t kind, int depth, int min_ops,
                       int max_ops, double lo_ms, double hi_ms)
{
    topo_service_t *s = &t->svc[t->n_svc];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", e->name);
    char h[11], a[6];
    prng_hex(r, h, 10);
    prng_alnum(r, a, 5);
    snprintf(s->pod, sizeof(s->pod), "%s-%s-%s", e->name, h, a);
    snprintf(s->node, sizeof(s->node), "10.0.%d.%d", prng_range(r, 1, 9), prng_range(r, 2, 250));
    snprintf(s->cls, sizeof(s->cls), "%sService", e->cls);
    snprintf(s->pkg, sizeof(s->pkg), "c.s.%.2s.%sService", e->name, e->cls);
    snprintf(s->exception, sizeof(s->exception), "%s", EXCEPTIONS[prng_range(r, 0, 5)]);
    s->kind = kind;
    s->depth = depth;
    s->logs_requests = kind != TOPO_LEAF || strcmp(e->name, "cache") != 0; /* a cache logs only trouble */
    s->cpu_base = prng_uniform(r, 5, 30);
    s->mem_base = prng_uniform(r, 25, 60);
    s->gc_base_ms = kind == TOPO_LEAF && strcmp(e->name, "db-proxy") == 0 ? 0 : prng_uniform(r, 2, 15);
    s->bytes_per_op = prng_uniform(r, 800, 6000);
    int avail = 0;
    while (avail < 3 && e->ops[avail][0])
        avail++;
    int n = prng_range(r, min_ops, max_ops < avail ? max_ops : avail);
    int idx[3] = {0, 1, 2};
    prng_shuffle(r, idx, (size_t)avail);
    for (int i = 0; i < n; i++)
        set_op(&s->ops[i], e->ops[idx[i]][0], e->ops[idx[i]][1], s->cls, r, lo_ms, hi_ms);
    s->n_ops = n;
    return t->n_svc++;
}

static int has_call(const topo_op_t *o, int svc, int op)
{
    for (int i = 0; i < o->n_calls; i++)
        if (o->calls[i].svc == svc && o->calls[i].op == op) return 1;
    return 0;
}

static int add_call(prng_t *r, topo_op_t *o, int svc, int op, topo_mode_t mode)
{
    if (o->n_calls >= TOPO_MAX_CALLS || has_call(o, svc, op)) return -1;
    topo_call_t *c = &o->calls[o->n_calls];
    c->svc = svc;
    c->op = op;
    c->mode = mode;
    if (mode == CALL_SEQ && o->n_calls > 0 && prng_chance(r, 0.35)) c->mode = CALL_PAR;
    c->prob = mode != CALL_ASYNC && prng_chance(r, 0.2) ? prng_uniform(r, 0.3, 0.85) : 1.0;
    o->n_calls++;
    return 0;
}

static int random_op(prng_t *r, const topo_service_t *s)
{
    return prng_range(r, 0, s->n_ops - 1);
}

/* A callee for an op of a service at `depth`: a deeper mid, or the database or the cache. The other
 * leaves keep the one caller wire() gave them, so every system has synchronous single-caller leaves. */
static int pick_callee(const topo_t *t, prng_t *r, int depth)
{
    int cand[TOPO_MAX_SVC], n = 0;
    for (int i = 0; i < t->n_svc; i++)
        if (t->svc[i].kind == TOPO_MID && t->svc[i].depth == depth + 1) cand[n++] = i;
    if (n > 0 && (depth == 0 || prng_chance(r, 0.5))) return cand[prng_range(r, 0, n - 1)];
    return prng_chance(r, 0.5) ? topo_find(t, "db-proxy") : topo_find(t, "cache");
}

/* A reachable op (one the gateway's traffic gets to) of a service with depth `depth` (or among the mids
 * 1..n_mid when depth < 0), preferring ops with room for another call. Returns the op, its service in
 * *svc; -1 when there is none. */
static int reachable_op(const topo_t *t, prng_t *r, int n_mid, int depth, int *svc)
{
    int cs[TOPO_MAX_SVC * TOPO_MAX_OPS], co[TOPO_MAX_SVC * TOPO_MAX_OPS], n = 0;
    for (int pass = 0; pass < 2 && n == 0; pass++)
        for (int j = depth < 0 ? 1 : 0; j <= n_mid; j++)
            for (int k = 0; k < t->svc[j].n_ops; k++) {
                const topo_op_t *o = &t->svc[j].ops[k];
                if (!o->reachable || (depth >= 0 && t->svc[j].depth != depth)) continue;
                if (pass == 0 && o->n_calls >= OP_MAX_CALLS) continue;
                cs[n] = j;
                co[n++] = k;
            }
    if (n == 0) return -1;
    int pick = prng_range(r, 0, n - 1);
    *svc = cs[pick];
    return co[pick];
}

/* A call from a reachable op of a caller picked by reachable_op() to a random op of `callee`. */
static void wire_one(topo_t *t, prng_t *r, int n_mid, int depth, int callee, topo_mode_t mode)
{
    int ps, pk = reachable_op(t, r, n_mid, depth, &ps);
    if (pk < 0) return; /* acceptable() then refuses the topology */
    int op = random_op(r, &t->svc[callee]);
    if (add_call(r, &t->svc[ps].ops[pk], callee, op, mode) == 0) t->svc[callee].ops[op].reachable = 1;
}

static void wire(topo_t *t, prng_t *r, int n_mid)
{
    /* Reachability first (mids are in depth order): every mid gets a caller op one level up that the
     * gateway's traffic reaches, every extra leaf a reachable mid op, the async consumer its producer. */
    for (int k = 0; k < t->svc[0].n_ops; k++)
        t->svc[0].ops[k].reachable = 1;
    for (int i = 1; i <= n_mid; i++)
        wire_one(t, r, n_mid, t->svc[i].depth - 1, i, CALL_SEQ);
    for (int i = n_mid + 1; i < t->n_svc; i++) {
        topo_service_t *s = &t->svc[i];
        if (s->kind == TOPO_ASYNC || strcmp(s->name, "db-proxy") == 0 || strcmp(s->name, "cache") == 0)
            continue;
        wire_one(t, r, n_mid, -1, i, CALL_SEQ);
    }
    /* The producer of the async consumer: "orders" when there is one. */
    int prod = topo_find(t, "orders"), notifier = topo_find(t, "notifier");
    int k = 0;
    while (prod > 0 && k < t->svc[prod].n_ops && !t->svc[prod].ops[k].reachable)
        k++;
    if (prod > 0 && k < t->svc[prod].n_ops)
        add_call(r, &t->svc[prod].ops[k], notifier, 0, CALL_ASYNC);
    else
        wire_one(t, r, n_mid, -1, notifier, CALL_ASYNC);
    /* Then fill every op up to its own count of calls. */
    for (int i = 0; i <= n_mid; i++) {
        topo_service_t *s = &t->svc[i];
        for (int k = 0; k < s->n_ops; k++) {
            topo_op_t *o = &s->ops[k];
            int want = s->depth == 0 ? prng_range(r, 1, 3) : prng_range(r, 1, OP_MAX_CALLS - (s->depth > 1));
            for (int tries = 0; o->n_calls < want && tries < 20; tries++) {
                int c = pick_callee(t, r, s->depth);
                add_call(r, o, c, random_op(r, &t->svc[c]), CALL_SEQ);
            }
        }
    }
}

static void add_new_endpoint(topo_t *t, prng_t *r)
{
    topo_service_t *g = &t->svc[0];
    int k = prng_range(r, 0, 2);
    topo_op_t *o = &g->ops[g->n_ops];
    set_op(o, NEW_OPS[k][0], NEW_OPS[k][1], g->cls, r, 1, 5);
    t->new_op = g->n_ops;
    int want = prng_range(r, 1, 3);
    for (int tries = 0; o->n_calls < want && tries < 20; tries++) {
        int c = prng_range(r, 1, t->n_svc - 1);
        if (t->svc[c].kind == TOPO_ASYNC) continue;
        add_call(r, o, c, random_op(r, &t->svc[c]), CALL_SEQ);
    }
}

/* Marks the ops the gateway's visible operations reach, through calls of any probability. */
static void mark_reachable(topo_t *t)
{
    for (int i = 0; i < t->n_svc; i++)
        for (int k = 0; k < TOPO_MAX_OPS; k++)
            t->svc[i].ops[k].reachable = i == 0 && k < t->svc[0].n_ops;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < t->n_svc; i++)
            for (int k = 0; k < t->svc[i].n_ops; k++) {
                const topo_op_t *o = &t->svc[i].ops[k];
                if (!o->reachable) continue;
                for (int c = 0; c < o->n_calls; c++) {
                    topo_op_t *callee = &t->svc[o->calls[c].svc].ops[o->calls[c].op];
                    if (!callee->reachable) changed = callee->reachable = 1;
                }
            }
    }
}

static void classify(topo_t *t)
{
    int callers[TOPO_MAX_SVC][TOPO_MAX_SVC];
    memset(callers, 0, sizeof(callers));
    for (int i = 0; i < t->n_svc; i++) {
        topo_service_t *s = &t->svc[i];
        for (int k = 0; k < s->n_ops; k++)
            for (int c = 0; c < s->ops[k].n_calls; c++)
                callers[s->ops[k].calls[c].svc][i] = 1;
    }
    for (int i = 0; i < t->n_svc; i++) {
        topo_service_t *s = &t->svc[i];
        s->n_callers = s->n_callees = 0;
        for (int j = 0; j < t->n_svc; j++) {
            s->n_callers += callers[i][j];
            s->n_callees += callers[j][i];
        }
        if (i == 0)
            s->pos = POS_ENTRY;
        else if (s->n_callers >= 2)
            s->pos = POS_SHARED;
        else if (s->n_callers == 1 && s->n_callees > 0)
            s->pos = POS_MIDDLE;
        else if (s->n_callers == 1)
            s->pos = POS_LEAF;
        else
            s->pos = POS_COUNT; /* unreachable: never happens once wired */
    }
}

static double expected_op(const topo_t *t, int svc, int op, int depth)
{
    const topo_op_t *o = &t->svc[svc].ops[op];
    double n = 2; /* server span and its internal work span */
    if (depth > 6) return n;
    for (int i = 0; i < o->n_calls; i++)
        n += o->calls[i].prob * (1 + expected_op(t, o->calls[i].svc, o->calls[i].op, depth + 1));
    return n;
}

double topo_expected_spans(const topo_t *t)
{
    const topo_service_t *g = &t->svc[0];
    double sum = 0, w = 0;
    for (int k = 0; k < g->n_ops; k++) {
        sum += g->ops[k].weight * expected_op(t, 0, k, 0);
        w += g->ops[k].weight;
    }
    return w > 0 ? sum / w : 0;
}

static int acceptable(const topo_t *t)
{
    int seen[POS_COUNT + 1] = {0};
    for (int i = 0; i < t->n_svc; i++)
        seen[t->svc[i].pos]++;
    if (seen[POS_COUNT]) return 0;
    for (int p = 0; p < POS_COUNT; p++)
        if (seen[p] == 0) return 0;
    for (int i = 0; i < t->n_svc; i++) {
        int reached = 0;
        for (int k = 0; k < t->svc[i].n_ops; k++)
            reached |= t->svc[i].ops[k].reachable;
        if (!reached) return 0; /* a service no request gets to */
    }
    int shared_leaf = 0; /* the database or the cache serves two services or more */
    for (int i = 0; i < t->n_svc; i++)
        shared_leaf |= t->svc[i].kind == TOPO_LEAF && t->svc[i].n_callers >= 2;
    return shared_leaf && topo_expected_spans(t) <= MAX_SPANS_PER_REQUEST;
}

static void generate_once(topo_t *t, prng_t *r)
{
    t->n_svc = 0;
    pool_entry_t gw = {"gateway", "Gateway", {{NULL, NULL}, {NULL, NULL}, {NULL, NULL}}};
    int g = add_service(t, r, &gw, TOPO_ENTRY, 0, 0, 0, 1, 2);
    topo_service_t *gs = &t->svc[g];
    int eidx[6] = {0, 1, 2, 3, 4, 5};
    prng_shuffle(r, eidx, 6);
    gs->n_ops = prng_range(r, 2, 4);
    for (int k = 0; k < gs->n_ops; k++) {
        set_op(&gs->ops[k], ENTRY_OPS[eidx[k]][0], ENTRY_OPS[eidx[k]][1], gs->cls, r, 1, 5);
        gs->ops[k].weight = prng_uniform(r, 0.5, 3.0);
    }
    int n_mid = prng_range(r, 5, 8);
    int midx[N_MIDS];
    for (int i = 0; i < N_MIDS; i++)
        midx[i] = i;
    prng_shuffle(r, midx, N_MIDS);
    int d1 = prng_range(r, 2, 3);
    for (int i = 0; i < n_mid; i++) {
        int depth = i < d1 ? 1 : (i < d1 + (n_mid - d1 + 1) / 2 ? 2 : 3);
        add_service(t, r, &MIDS[midx[i]], TOPO_MID, depth, 1, 3, 2, 40);
    }
    add_service(t, r, &DB, TOPO_LEAF, 4, 2, 3, 0.5, 6);
    add_service(t, r, &CACHE, TOPO_LEAF, 4, 2, 2, 0.3, 2);
    int xidx[4] = {0, 1, 2, 3};
    prng_shuffle(r, xidx, 4);
    int n_extra = prng_range(r, 1, 2);
    for (int i = 0; i < n_extra; i++)
        add_service(t, r, &EXTRA_LEAVES[xidx[i]], TOPO_LEAF, 4, 1, 2, 2, 30);
    add_service(t, r, &NOTIFIER, TOPO_ASYNC, 4, 1, 1, 2, 20);
    wire(t, r, n_mid);
    mark_reachable(t);
    classify(t);
    add_new_endpoint(t, r);
}

void topo_generate(topo_t *t, uint64_t seed)
{
    prng_t r;
    prng_seed(&r, prng_derive(seed, 0x70701));
    memset(t, 0, sizeof(*t));
    t->seed = seed;
    snprintf(t->system, sizeof(t->system), "shop-%llu", (unsigned long long)seed);
    for (t->attempts = 1;; t->attempts++) {
        generate_once(t, &r);
        if (acceptable(t)) break;
    }
}
