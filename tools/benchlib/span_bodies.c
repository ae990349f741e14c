/* Span batches in every accepted wire format (see span_bodies.h). A batch is first generated as a
 * model (ids, times, the per-span attribute values), then written out by one encoder per format, so
 * every format carries the same spans. */
#include "span_bodies.h"
#include "grpc_frame.h"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SERVICES 6
#define SPANS_PER_TRACE 20
#define EVENT_EVERY 10 /* one span in ten carries an event */
#define SPAN_ATTRS 10
#define EVENT_ATTRS 2
#define GZIP_LEVEL 6 /* zlib's default, as OpenTelemetry exporters use */

static const char *format_names[SPAN_FMT_COUNT] = {"native",          "otlp-json", "otlp-proto",
                                                   "otlp-proto-gzip", "grpc",      "grpc-gzip"};

static const char *services[SERVICES] = {"gateway", "payment", "inventory", "orders", "shipping", "users"};
static const char *ops[SERVICES] = {"POST /orders",  "POST /charge",    "POST /reserve",
                                    "SELECT orders", "GET /users/{id}", "publish order.created"};

const char *span_format_name(span_format_t f)
{
    return f < SPAN_FMT_COUNT ? format_names[f] : "?";
}

int span_format_parse(const char *name, span_format_t *out)
{
    for (int f = 0; f < SPAN_FMT_COUNT; f++)
        if (strcmp(name, format_names[f]) == 0) {
            *out = (span_format_t)f;
            return 0;
        }
    return -1;
}

span_format_t span_format_plain(span_format_t f)
{
    return f == SPAN_FMT_NATIVE || f == SPAN_FMT_OTLP_JSON ? f : SPAN_FMT_OTLP_PROTO;
}

int span_format_is_grpc(span_format_t f)
{
    return f == SPAN_FMT_GRPC || f == SPAN_FMT_GRPC_GZIP;
}

int span_format_is_gzip(span_format_t f)
{
    return f == SPAN_FMT_OTLP_PROTO_GZIP || f == SPAN_FMT_GRPC_GZIP;
}

uint64_t span_gen_next(span_gen_t *g)
{
    g->state ^= g->state << 13;
    g->state ^= g->state >> 7;
    g->state ^= g->state << 17;
    return g->state;
}

static void *must(void *p)
{
    if (p == NULL) abort();
    return p;
}

/* ---------------- the model ---------------- */

typedef struct {
    const char *key;
    const char *s; /* NULL: an integer value */
    int64_t i;
} attr_t;

typedef struct {
    uint8_t trace[16], span[8], parent[8];
    int service;
    int64_t start_ns, end_ns;
    char peer[64], pod[64], order[32];
    int has_event;
    attr_t attrs[SPAN_ATTRS];
} model_span_t;

static const attr_t event_attrs[EVENT_ATTRS] = {{"retry.attempt", NULL, 1},
                                                {"retry.reason", "upstream timeout", 0}};
#define EVENT_NAME "retry"
#define EVENT_OFFSET_NS 1000000

static void fill_bytes(span_gen_t *g, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = span_gen_next(g);
        memcpy(out + i, &v, n - i < 8 ? n - i : 8);
    }
}

static void model_make(span_gen_t *g, model_span_t *m, int n, int64_t base_ns)
{
    for (int i = 0; i < n; i++) {
        model_span_t *s = &m[i];
        if (i % SPANS_PER_TRACE == 0)
            fill_bytes(g, s->trace, sizeof(s->trace));
        else
            memcpy(s->trace, m[i - 1].trace, sizeof(s->trace));
        fill_bytes(g, s->span, sizeof(s->span));
        fill_bytes(g, s->parent, sizeof(s->parent));
        s->service = (int)(span_gen_next(g) % SERVICES);
        s->start_ns = base_ns + (int64_t)(span_gen_next(g) % 1000000000ULL);
        s->end_ns = s->start_ns + 100000 + (int64_t)(span_gen_next(g) % 50000000ULL);
        const char *svc = services[s->service], *peer_svc = services[(s->service + 1) % SERVICES];
        snprintf(s->peer, sizeof(s->peer), "%s.prod.svc.cluster.local", peer_svc);
        snprintf(s->pod, sizeof(s->pod), "%s-7d9f8b6c5-x2x4q", svc);
        snprintf(s->order, sizeof(s->order), "ord-%" PRIu64, span_gen_next(g) % 1000000);
        s->has_event = i % EVENT_EVERY == EVENT_EVERY - 1;
        attr_t a[SPAN_ATTRS] = {
            {"http.method", "POST", 0},      {"http.route", "/api/v1/orders", 0},
            {"http.status_code", NULL, 200}, {"net.peer.name", s->peer, 0},
            {"net.peer.port", NULL, 8080},   {"http.user_agent", "okhttp/4.9.3", 0},
            {"db.system", "postgresql", 0},  {"db.statement", "SELECT * FROM orders WHERE id = $1", 0},
            {"k8s.pod.name", s->pod, 0},     {"order.id", s->order, 0}};
        memcpy(s->attrs, a, sizeof(a));
    }
}

/* ---------------- text output ---------------- */

typedef struct {
    char *data;
    size_t len, cap;
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_t *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) abort();
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)n;
        t->data = must(realloc(t->data, t->cap));
    }
}

static void hex(char *out, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

typedef struct {
    char trace[33], span[17], parent[17];
} hex_ids_t;

static hex_ids_t ids_of(const model_span_t *s)
{
    hex_ids_t h;
    hex(h.trace, s->trace, 16);
    hex(h.span, s->span, 8);
    hex(h.parent, s->parent, 8);
    return h;
}

/* {"k":v,...} */
static void native_attrs(text_t *t, const attr_t *a, int n)
{
    put(t, "{");
    for (int i = 0; i < n; i++) {
        if (a[i].s)
            put(t, "%s\"%s\":\"%s\"", i ? "," : "", a[i].key, a[i].s);
        else
            put(t, "%s\"%s\":%" PRId64, i ? "," : "", a[i].key, a[i].i);
    }
    put(t, "}");
}

static void encode_native(text_t *t, const model_span_t *m, int n)
{
    put(t, "{\"spans\":[");
    for (int i = 0; i < n; i++) {
        const model_span_t *s = &m[i];
        hex_ids_t h = ids_of(s);
        put(t,
            "%s{\"trace_id\":\"%s\",\"span_id\":\"%s\",\"parent_span_id\":\"%s\",\"service\":\"%s\","
            "\"name\":\"%s\",\"kind\":\"SERVER\",\"start_time\":%" PRId64 ",\"end_time\":%" PRId64
            ",\"status\":\"OK\",\"attributes\":",
            i ? "," : "", h.trace, h.span, h.parent, services[s->service], ops[s->service], s->start_ns,
            s->end_ns);
        native_attrs(t, s->attrs, SPAN_ATTRS);
        if (s->has_event) {
            put(t, ",\"events\":[{\"name\":\"" EVENT_NAME "\",\"time\":%" PRId64 ",\"attributes\":",
                s->start_ns + EVENT_OFFSET_NS);
            native_attrs(t, event_attrs, EVENT_ATTRS);
            put(t, "}]");
        }
        put(t, "}");
    }
    put(t, "]}");
}

/* [{"key":k,"value":{"stringValue":v}},...]; integers as strings, as OTLP JSON spells int64 */
static void otlp_attrs(text_t *t, const attr_t *a, int n)
{
    put(t, "[");
    for (int i = 0; i < n; i++) {
        if (a[i].s)
            put(t, "%s{\"key\":\"%s\",\"value\":{\"stringValue\":\"%s\"}}", i ? "," : "", a[i].key, a[i].s);
        else
            put(t, "%s{\"key\":\"%s\",\"value\":{\"intValue\":\"%" PRId64 "\"}}", i ? "," : "", a[i].key,
                a[i].i);
    }
    put(t, "]");
}

#define SCOPE_NAME "io.opentelemetry.okhttp-3.0"
#define SCOPE_VERSION "1.32.0"

static void encode_otlp_json(text_t *t, const model_span_t *m, int n)
{
    put(t, "{\"resourceSpans\":[");
    int first_resource = 1;
    for (int svc = 0; svc < SERVICES; svc++) {
        int any = 0;
        for (int i = 0; i < n && !any; i++)
            any = m[i].service == svc;
        if (!any) continue;
        put(t,
            "%s{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"%s\"}},"
            "{\"key\":\"telemetry.sdk.language\",\"value\":{\"stringValue\":\"java\"}}]},"
            "\"scopeSpans\":[{\"scope\":{\"name\":\"" SCOPE_NAME "\",\"version\":\"" SCOPE_VERSION
            "\"},\"spans\":[",
            first_resource ? "" : ",", services[svc]);
        first_resource = 0;
        int first_span = 1;
        for (int i = 0; i < n; i++) {
            const model_span_t *s = &m[i];
            if (s->service != svc) continue;
            hex_ids_t h = ids_of(s);
            put(t,
                "%s{\"traceId\":\"%s\",\"spanId\":\"%s\",\"parentSpanId\":\"%s\",\"name\":\"%s\",\"kind\":2,"
                "\"startTimeUnixNano\":\"%" PRId64 "\",\"endTimeUnixNano\":\"%" PRId64 "\",\"attributes\":",
                first_span ? "" : ",", h.trace, h.span, h.parent, ops[svc], s->start_ns, s->end_ns);
            first_span = 0;
            otlp_attrs(t, s->attrs, SPAN_ATTRS);
            if (s->has_event) {
                put(t,
                    ",\"events\":[{\"timeUnixNano\":\"%" PRId64 "\",\"name\":\"" EVENT_NAME
                    "\",\"attributes\":",
                    s->start_ns + EVENT_OFFSET_NS);
                otlp_attrs(t, event_attrs, EVENT_ATTRS);
                put(t, "}]");
            }
            put(t, ",\"status\":{\"code\":1}}");
        }
        put(t, "]}]}");
    }
    put(t, "]}");
}

/* ---------------- protobuf ---------------- */

typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any_t;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span_t;
typedef Opentelemetry__Proto__Trace__V1__Span__Event pb_event_t;

/* The protobuf-c structs of one request, all allocated at once and freed together. */
typedef struct {
    pb_kv_t *kv;
    pb_any_t *any;
    pb_kv_t **kvp;
    size_t used;
} kv_pool_t;

static void kv_pool_init(kv_pool_t *p, size_t n)
{
    p->kv = must(calloc(n, sizeof(*p->kv)));
    p->any = must(calloc(n, sizeof(*p->any)));
    p->kvp = must(calloc(n, sizeof(*p->kvp)));
    p->used = 0;
}

static void kv_pool_dispose(kv_pool_t *p)
{
    free(p->kv);
    free(p->any);
    free(p->kvp);
}

/* Takes n KeyValues from the pool for `a`; returns their pointer array. Strings are borrowed. */
static pb_kv_t **pb_attrs(kv_pool_t *p, const attr_t *a, size_t n)
{
    pb_kv_t **out = &p->kvp[p->used];
    for (size_t i = 0; i < n; i++) {
        size_t k = p->used++;
        pb_kv_t kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
        pb_any_t any = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        if (a[i].s) {
            any.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
            any.string_value = (char *)a[i].s;
        } else {
            any.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
            any.int_value = a[i].i;
        }
        p->any[k] = any;
        kv.key = (char *)a[i].key;
        kv.value = &p->any[k];
        p->kv[k] = kv;
        p->kvp[k] = &p->kv[k];
    }
    return out;
}

static void encode_proto(bench_body_t *out, const model_span_t *m, int n)
{
    size_t nn = (size_t)n;
    kv_pool_t pool;
    kv_pool_init(&pool, nn * (SPAN_ATTRS + EVENT_ATTRS) + 2 * SERVICES);
    pb_span_t *spans = must(calloc(nn, sizeof(*spans)));
    pb_span_t **span_ptrs = must(calloc(nn, sizeof(*span_ptrs)));
    pb_event_t *events = must(calloc(nn, sizeof(*events)));
    pb_event_t **event_ptrs = must(calloc(nn, sizeof(*event_ptrs)));
    Opentelemetry__Proto__Trace__V1__Status ok = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    ok.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK;
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope =
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    scope.name = SCOPE_NAME;
    scope.version = SCOPE_VERSION;
    Opentelemetry__Proto__Resource__V1__Resource res[SERVICES];
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs[SERVICES], *rsp[SERVICES];
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss[SERVICES], *ssp[SERVICES];
    size_t nrs = 0, next = 0;
    for (int svc = 0; svc < SERVICES; svc++) {
        size_t first = next;
        for (size_t i = 0; i < nn; i++) {
            const model_span_t *s = &m[i];
            if (s->service != svc) continue;
            pb_span_t *p = &spans[next];
            *p = (pb_span_t)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
            p->trace_id = (ProtobufCBinaryData){16, (uint8_t *)s->trace};
            p->span_id = (ProtobufCBinaryData){8, (uint8_t *)s->span};
            p->parent_span_id = (ProtobufCBinaryData){8, (uint8_t *)s->parent};
            p->name = (char *)ops[svc];
            p->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
            p->start_time_unix_nano = (uint64_t)s->start_ns;
            p->end_time_unix_nano = (uint64_t)s->end_ns;
            p->n_attributes = SPAN_ATTRS;
            p->attributes = pb_attrs(&pool, s->attrs, SPAN_ATTRS);
            p->status = &ok;
            if (s->has_event) {
                pb_event_t *e = &events[next];
                *e = (pb_event_t)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
                e->name = EVENT_NAME;
                e->time_unix_nano = (uint64_t)(s->start_ns + EVENT_OFFSET_NS);
                e->n_attributes = EVENT_ATTRS;
                e->attributes = pb_attrs(&pool, event_attrs, EVENT_ATTRS);
                event_ptrs[next] = e;
                p->n_events = 1;
                p->events = &event_ptrs[next];
            }
            span_ptrs[next++] = p;
        }
        if (next == first) continue;
        static const attr_t lang = {"telemetry.sdk.language", "java", 0};
        attr_t rattrs[2] = {{"service.name", services[svc], 0}, lang};
        res[nrs] =
            (Opentelemetry__Proto__Resource__V1__Resource)OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
        res[nrs].n_attributes = 2;
        res[nrs].attributes = pb_attrs(&pool, rattrs, 2);
        ss[nrs] =
            (Opentelemetry__Proto__Trace__V1__ScopeSpans)OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
        ss[nrs].scope = &scope;
        ss[nrs].n_spans = next - first;
        ss[nrs].spans = &span_ptrs[first];
        ssp[nrs] = &ss[nrs];
        rs[nrs] = (Opentelemetry__Proto__Trace__V1__ResourceSpans)
            OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
        rs[nrs].resource = &res[nrs];
        rs[nrs].n_scope_spans = 1;
        rs[nrs].scope_spans = &ssp[nrs];
        rsp[nrs] = &rs[nrs];
        nrs++;
    }
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.n_resource_spans = nrs;
    req.resource_spans = rsp;
    out->len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
    out->data = must(malloc(out->len + 1));
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, out->data);
    kv_pool_dispose(&pool);
    free(spans);
    free(span_ptrs);
    free(events);
    free(event_ptrs);
}

/* ---------------- compression and framing ---------------- */

/* Replaces body with its gzip member, `reserve` bytes left free in front (for a gRPC frame header). */
static void gzip_body(bench_body_t *b, size_t reserve)
{
    uLong bound = compressBound((uLong)b->len) + 32;
    uint8_t *z = must(malloc(reserve + bound));
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, GZIP_LEVEL, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    zs.next_in = b->data;
    zs.avail_in = (uInt)b->len;
    zs.next_out = z + reserve;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();
    deflateEnd(&zs);
    free(b->data);
    b->data = z;
    b->len = reserve + zs.total_out;
}

/* Puts a gRPC frame header in front of the message (compressed flag as given). */
static void frame_body(bench_body_t *b, int compressed)
{
    uint8_t *f = must(malloc(b->len + GRPC_FRAME_HEADER_LEN));
    grpc_frame_header_write(f, compressed, (uint32_t)b->len);
    memcpy(f + GRPC_FRAME_HEADER_LEN, b->data, b->len);
    free(b->data);
    b->data = f;
    b->len += GRPC_FRAME_HEADER_LEN;
}

void span_body_make(span_gen_t *g, span_format_t f, int n, int64_t base_ns, bench_body_t *out)
{
    model_span_t *m = must(calloc((size_t)n, sizeof(*m)));
    model_make(g, m, n, base_ns);
    if (f == SPAN_FMT_NATIVE || f == SPAN_FMT_OTLP_JSON) {
        text_t t = {must(malloc(4096)), 0, 4096};
        if (f == SPAN_FMT_NATIVE)
            encode_native(&t, m, n);
        else
            encode_otlp_json(&t, m, n);
        out->data = (uint8_t *)t.data;
        out->len = t.len;
    } else {
        encode_proto(out, m, n);
        if (span_format_is_gzip(f)) gzip_body(out, 0);
        if (span_format_is_grpc(f)) frame_body(out, span_format_is_gzip(f));
    }
    free(m);
}
