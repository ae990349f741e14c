/* OTLP protobuf decoding (backend/ingest_otlp_proto.h) and answers (backend/otlp_response.h), without
 * servers: requests built with protobuf-c's generated structs and packed, then decoded into COPY rows;
 * malformed, truncated, oversized and hostile bodies; real exporter payloads when
 * tests/fixtures/otlp/ holds .pb files; a timing of a 1,000-span request. */
#include "ingest_otlp_proto.h"
#include "otlp_response.h"
#include "ts.h"
#include "ts_otlp.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;
typedef Opentelemetry__Proto__Trace__V1__Span span_t;

#define T0 1795357925000000000ULL /* 2026-11-22T14:32:05Z */
static const uint8_t TRACE[16] = {0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
                                  0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c};
#define TRACE_HEX "5b8efff798038103d269b633813fc60c"
static const uint8_t SPAN[8] = {0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74};
#define SPAN_HEX "eee19b7ec3c1b174"

/* ---------------- builders ---------------- */

static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *p = malloc(*len + 64);
    protobuf_c_message_pack(m, p);
    return p;
}

/* A traces request: resource {service.name: checkout, host: a}, one scope, n spans; span i has span id
 * SPAN with its last byte i, an "exception" event and a link on span 0. */
static uint8_t *traces_request(size_t n, size_t *len, const uint8_t *bad_trace_id_for_span1)
{
    any_t svc = ts_otlp_str("checkout"), host = ts_otlp_str("a"), route = ts_otlp_str("/pay");
    kv_t rkv[2] = {ts_otlp_kv("service.name", &svc), ts_otlp_kv("host", &host)},
         *rkvp[2] = {&rkv[0], &rkv[1]};
    kv_t skv = ts_otlp_kv("http.route", &route), *skvp[1] = {&skv};
    Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 2;
    res.attributes = rkvp;
    Opentelemetry__Proto__Trace__V1__Span__Event ev = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
    ev.name = "exception";
    ev.time_unix_nano = T0 + 5;
    Opentelemetry__Proto__Trace__V1__Span__Event *evp[1] = {&ev};
    Opentelemetry__Proto__Trace__V1__Span__Link ln = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
    static const uint8_t other[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    ln.trace_id = (ProtobufCBinaryData){16, (uint8_t *)other};
    ln.span_id = (ProtobufCBinaryData){8, (uint8_t *)SPAN};
    Opentelemetry__Proto__Trace__V1__Span__Link *lnp[1] = {&ln};
    Opentelemetry__Proto__Trace__V1__Status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    st.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    st.message = "boom";
    span_t *spans = calloc(n, sizeof(span_t));
    span_t **sp = calloc(n, sizeof(span_t *));
    uint8_t(*ids)[8] = calloc(n, 8);
    for (size_t i = 0; i < n; i++) {
        span_t s = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
        memcpy(ids[i], SPAN, 8);
        ids[i][7] = (uint8_t)(i + 1);
        ids[i][6] = (uint8_t)((i + 1) >> 8);
        s.trace_id = (ProtobufCBinaryData){16, (uint8_t *)TRACE};
        if (i == 1 && bad_trace_id_for_span1) s.trace_id = (ProtobufCBinaryData){5, (uint8_t *)TRACE};
        s.span_id = (ProtobufCBinaryData){8, ids[i]};
        if (i > 0) s.parent_span_id = (ProtobufCBinaryData){8, ids[0]};
        s.name = "POST /pay";
        s.kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
        s.start_time_unix_nano = T0 + i * 1000;
        s.end_time_unix_nano = T0 + i * 1000 + 500;
        s.n_attributes = 1;
        s.attributes = skvp;
        if (i == 0) {
            s.n_events = 1;
            s.events = evp;
            s.n_links = 1;
            s.links = lnp;
            s.status = &st;
        }
        spans[i] = s;
        sp[i] = &spans[i];
    }
    uint8_t *p = ts_otlp_pack_spans(&res, sp, n, len);
    free(spans);
    free(sp);
    free(ids);
    return p;
}

static int decode(ingest_kind_t k, const uint8_t *p, size_t n, ingest_batch_t *b, ingest_err_t *e)
{
    return ingest_otlp_proto(k, p, n, 100000, 64 << 20, b, e);
}

/* Every row has the same number of tabs. */
static void rows_well_formed(const ingest_batch_t *b)
{
    const char *s = b->copy.data ? b->copy.data : "";
    long tabs = -1, lines = 0, t = 0;
    for (; *s; s++) {
        if (*s == '\t') t++;
        if (*s == '\n') {
            ck_assert(tabs < 0 || t == tabs);
            tabs = t, t = 0, lines++;
        }
    }
    ck_assert_int_eq(lines, (long)b->records);
}

/* ---------------- traces ---------------- */

START_TEST(spans_rows)
{
    size_t n;
    uint8_t *p = traces_request(3, &n, NULL);
    ingest_batch_t b;
    ingest_err_t e;
    ck_assert_msg(decode(INGEST_SPANS, p, n, &b, &e) == 0, "%d %s %s", e.status, e.path, e.reason);
    ck_assert_uint_eq(b.records, 3);
    ck_assert_uint_eq(b.rejected, 0);
    ck_assert_uint_eq(b.nresources, 1);
    rows_well_formed(&b);
    const char *c = b.copy.data;
    ck_assert_ptr_nonnull(strstr(c, TRACE_HEX "\teee19b7ec3c1"));
    ck_assert_ptr_nonnull(strstr(c, "checkout"));
    ck_assert_ptr_nonnull(strstr(c, "SERVER"));
    ck_assert_ptr_nonnull(strstr(c, "\"http.route\":\"/pay\""));
    ck_assert_ptr_nonnull(strstr(c, "\"name\":\"exception\""));
    ck_assert_ptr_nonnull(strstr(c, "0102030405060708090a0b0c0d0e0f10"));
    ck_assert_ptr_nonnull(strstr(b.resources.data, "\"host\":\"a\""));
    ck_assert_uint_eq(b.nerror_traces, 1);
    ingest_batch_dispose(&b);
    free(p);
}
END_TEST

START_TEST(spans_bad_id_partial)
{
    size_t n;
    uint8_t *p = traces_request(3, &n, TRACE);
    ingest_batch_t b;
    ingest_err_t e;
    ck_assert_int_eq(decode(INGEST_SPANS, p, n, &b, &e), 0);
    ck_assert_uint_eq(b.records, 2);
    ck_assert_uint_eq(b.rejected, 1);
    ck_assert_str_eq(b.first_rejection.path, "resourceSpans[0].scopeSpans[0].spans[1].traceId");
    buf_t r;
    buf_init(&r, 4096);
    ck_assert_int_eq(otlp_response_success_json(&r, INGEST_SPANS, b.rejected, b.first_rejection.reason), 0);
    ck_assert_ptr_nonnull(strstr(r.data, "{\"partialSuccess\":{\"rejectedSpans\":\"1\",\"errorMessage\":"));
    buf_dispose(&r);
    ingest_batch_dispose(&b);
    free(p);
}
END_TEST

START_TEST(malformed_and_unknown)
{
    size_t n;
    uint8_t *p = traces_request(2, &n, NULL);
    ingest_batch_t b;
    ingest_err_t e;
    /* truncated anywhere: refused 400 (or, cut at a field boundary, a smaller valid request) */
    for (size_t cut = 1; cut < n; cut++) {
        int rc = decode(INGEST_SPANS, p, cut, &b, &e);
        if (rc == 0)
            ingest_batch_dispose(&b);
        else
            ck_assert_int_eq(e.status, 400);
    }
    ck_assert_int_eq(decode(INGEST_SPANS, p, n - 3, &b, &e), -1);
    ck_assert_int_eq(e.status, 400);
    ck_assert_ptr_nonnull(strstr(e.reason, "malformed protobuf (ExportTraceServiceRequest)"));
    ck_assert_ptr_nonnull(strstr(e.path, "resourceSpans[0]"));
    /* garbled: wire type 7 */
    const uint8_t junk[] = {0x0f, 0x01, 0x02};
    ck_assert_int_eq(decode(INGEST_SPANS, junk, sizeof(junk), &b, &e), -1);
    ck_assert_int_eq(e.status, 400);
    /* an unknown field (number 1000, length-delimited) appended: skipped */
    const uint8_t unknown[] = {0xc2, 0x3e, 0x03, 'a', 'b', 'c'};
    memcpy(p + n, unknown, sizeof(unknown));
    ck_assert_msg(decode(INGEST_SPANS, p, n + sizeof(unknown), &b, &e) == 0, "%s %s", e.path, e.reason);
    ck_assert_uint_eq(b.records, 2);
    ingest_batch_dispose(&b);
    /* another kind's decoder on the same bytes: no crash, whatever it says */
    if (decode(INGEST_LOGS, p, n, &b, &e) == 0) ingest_batch_dispose(&b);
    free(p);
}
END_TEST

START_TEST(max_records)
{
    size_t n;
    uint8_t *p = traces_request(5, &n, NULL);
    ingest_batch_t b;
    ingest_err_t e;
    ck_assert_int_eq(ingest_otlp_proto(INGEST_SPANS, p, n, 4, 1 << 20, &b, &e), -1);
    ck_assert_int_eq(e.status, 413);
    ck_assert_int_eq(ingest_otlp_proto(INGEST_SPANS, p, n, 5, 1 << 20, &b, &e), 0);
    ingest_batch_dispose(&b);
    free(p);
}
END_TEST

/* Hostile shapes: deep nesting; many empty messages (small on the wire, large unpacked). */
START_TEST(bounded)
{
    ingest_batch_t b;
    ingest_err_t e;
    /* AnyValue{array_value{values: AnyValue{array_value{...}}}} nested 100,000 deep inside a log body */
    size_t depth = 100000, cap = depth * 12 + 128, n = 0;
    uint8_t *p = malloc(cap), *q = malloc(cap);
    for (size_t i = 0; i < depth; i++) {
        /* wrap p[0..n) as field 1 of ArrayValue then field 5 of AnyValue */
        size_t m = 0;
        for (int f = 0; f < 2; f++) {
            uint8_t hdr[12];
            size_t h = 0, len = f == 0 ? n : m;
            hdr[h++] = f == 0 ? 0x0a : 0x2a;
            for (size_t v = len; h < 12; v >>= 7) {
                hdr[h++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
                if (v <= 0x7f) break;
            }
            memcpy(q, hdr, h);
            memcpy(q + h, p, len);
            m = h + len;
            uint8_t *t = p;
            p = q, q = t;
        }
        n = m;
    }
    /* into LogRecord.body (5), ScopeLogs.log_records (2), ResourceLogs.scope_logs (2), request (1) */
    const uint8_t tags[4] = {0x2a, 0x12, 0x12, 0x0a};
    for (int w = 0; w < 4; w++) {
        size_t h = 0;
        q[h++] = tags[w];
        for (size_t v = n;; v >>= 7) {
            q[h++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            if (v <= 0x7f) break;
        }
        memcpy(q + h, p, n);
        n += h;
        uint8_t *t = p;
        p = q, q = t;
    }
    int rc = decode(INGEST_LOGS, p, n, &b, &e);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(e.status, 400);
    ck_assert_ptr_nonnull(strstr(e.reason, "deeper"));
    /* 1 MB of empty resource_spans entries: 500,000 messages */
    size_t big = 1 << 20;
    uint8_t *z = malloc(big);
    for (size_t i = 0; i < big; i += 2)
        z[i] = 0x0a, z[i + 1] = 0x00;
    rc = decode(INGEST_SPANS, z, big, &b, &e);
    if (rc == 0)
        ingest_batch_dispose(&b);
    else
        ck_assert_int_eq(e.status, 413);
    /* a packed repeated field claiming more bytes than sent */
    const uint8_t claim[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    ck_assert_int_eq(decode(INGEST_METRICS, claim, sizeof(claim), &b, &e), -1);
    ck_assert_int_eq(e.status, 400);
    free(z);
    free(p);
    free(q);
}
END_TEST

/* ---------------- logs ---------------- */

START_TEST(logs_rows)
{
    any_t svc = ts_otlp_str("payment"), msg = ts_otlp_str("card declined"),
          stack = ts_otlp_str("Error: x\n    at f (a.js:1)");
    any_t k1 = ts_otlp_str("v1"), kvbody = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    kv_t rkv = ts_otlp_kv("service.name", &svc), *rkvp[1] = {&rkv};
    kv_t bkv = ts_otlp_kv("k", &k1), *bkvp[1] = {&bkv};
    Opentelemetry__Proto__Common__V1__KeyValueList list =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    list.n_values = 1;
    list.values = bkvp;
    kvbody.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    kvbody.kvlist_value = &list;
    kv_t stkv = ts_otlp_kv("exception.stacktrace", &stack), *stkvp[1] = {&stkv};
    Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = rkvp;
    Opentelemetry__Proto__Logs__V1__LogRecord l[3];
    Opentelemetry__Proto__Logs__V1__LogRecord *lp[3] = {&l[0], &l[1], &l[2]};
    for (int i = 0; i < 3; i++) {
        Opentelemetry__Proto__Logs__V1__LogRecord x = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
        x.time_unix_nano = i == 2 ? 0 : T0 + (uint64_t)i;
        x.observed_time_unix_nano = T0 + 99;
        l[i] = x;
    }
    l[0].severity_number = 17; /* ERROR */
    l[0].body = &msg;
    l[0].trace_id = (ProtobufCBinaryData){16, (uint8_t *)TRACE};
    l[0].span_id = (ProtobufCBinaryData){8, (uint8_t *)SPAN};
    l[0].n_attributes = 1;
    l[0].attributes = stkvp;
    l[1].severity_text = "warning";
    l[1].body = &kvbody;
    size_t n;
    uint8_t *p = ts_otlp_pack_logs(&res, lp, 3, &n);
    ingest_batch_t b;
    ingest_err_t e;
    ck_assert_msg(decode(INGEST_LOGS, p, n, &b, &e) == 0, "%d %s %s", e.status, e.path, e.reason);
    ck_assert_uint_eq(b.records, 3);
    rows_well_formed(&b);
    const char *c = b.copy.data;
    fprintf(stderr, "logs rows:\n%s", c);
    ck_assert_ptr_nonnull(strstr(c, "\tpayment\tERROR\t5\tcard declined\t" TRACE_HEX "\t" SPAN_HEX "\t"));
    ck_assert_ptr_nonnull(strstr(c, "Error: x\\n    at f (a.js:1)"));
    ck_assert_ptr_null(strstr(c, "exception.stacktrace"));
    ck_assert_ptr_nonnull(strstr(c, "\twarning\t4\t{\"k\":\"v1\"}\t"));
    ck_assert_ptr_nonnull(strstr(c, "\tINFO\t3\t"));
    ck_assert_uint_eq(b.nerror_traces, 1);
    ingest_batch_dispose(&b);
    free(p);
}
END_TEST

/* ---------------- metrics ---------------- */

START_TEST(metrics_rows)
{
    typedef Opentelemetry__Proto__Metrics__V1__Metric metric_t;
    any_t svc = ts_otlp_str("checkout");
    kv_t rkv = ts_otlp_kv("service.name", &svc), *rkvp[1] = {&rkv};
    Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = rkvp;
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint
        np = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT,
        *npp[1] = {&np};
    np.time_unix_nano = T0;
    np.value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    np.as_int = 7;
    Opentelemetry__Proto__Metrics__V1__Gauge g = OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
    g.n_data_points = 1;
    g.data_points = npp;
    Opentelemetry__Proto__Metrics__V1__Sum s = OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT;
    s.n_data_points = 1;
    s.data_points = npp;
    s.aggregation_temporality = 2;
    s.is_monotonic = 1;
    double bounds[2] = {5, 10};
    uint64_t counts[3] = {1, 2, 3};
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint
        hp = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT,
        *hpp[1] = {&hp};
    hp.time_unix_nano = T0;
    hp.count = 6;
    hp._sum_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM;
    hp.sum = 42.5;
    hp.n_explicit_bounds = 2;
    hp.explicit_bounds = bounds;
    hp.n_bucket_counts = 3;
    hp.bucket_counts = counts;
    Opentelemetry__Proto__Metrics__V1__Histogram h = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
    h.n_data_points = 1;
    h.data_points = hpp;
    h.aggregation_temporality = 1;
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets pos =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__BUCKETS__INIT;
    pos.offset = -2;
    pos.n_bucket_counts = 3;
    pos.bucket_counts = counts;
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint
        ep = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__INIT,
        *epp[1] = {&ep};
    ep.time_unix_nano = T0;
    ep.count = 6;
    ep.scale = 3;
    ep.positive = &pos;
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogram eh =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM__INIT;
    eh.n_data_points = 1;
    eh.data_points = epp;
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile
        q = OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__VALUE_AT_QUANTILE__INIT,
        *qp[1] = {&q};
    q.quantile = 0.99;
    q.value = 12;
    Opentelemetry__Proto__Metrics__V1__SummaryDataPoint
        sp = OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__INIT,
        *spp[1] = {&sp};
    sp.time_unix_nano = T0;
    sp.count = 4;
    sp.sum = 20;
    sp.n_quantile_values = 1;
    sp.quantile_values = qp;
    Opentelemetry__Proto__Metrics__V1__Summary su = OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY__INIT;
    su.n_data_points = 1;
    su.data_points = spp;
    metric_t m[5];
    metric_t *mp[5] = {&m[0], &m[1], &m[2], &m[3], &m[4]};
    const char *names[5] = {"queue_depth", "orders_total", "latency", "latency_exp", "latency_sum"};
    for (int i = 0; i < 5; i++) {
        metric_t x = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
        x.name = (char *)names[i];
        m[i] = x;
    }
    m[0].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE, m[0].gauge = &g;
    m[1].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM, m[1].sum = &s;
    m[2].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM, m[2].histogram = &h;
    m[3].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM,
    m[3].exponential_histogram = &eh;
    m[4].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY, m[4].summary = &su;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics
        sm = OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT,
        *smp[1] = {&sm};
    sm.n_metrics = 5;
    sm.metrics = mp;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics
        rm = OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT,
        *rmp[1] = {&rm};
    rm.resource = &res;
    rm.n_scope_metrics = 1;
    rm.scope_metrics = smp;
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    req.n_resource_metrics = 1;
    req.resource_metrics = rmp;
    size_t n;
    uint8_t *p = packed(&req.base, &n);
    ingest_batch_t b;
    ingest_err_t e;
    ck_assert_msg(decode(INGEST_METRICS, p, n, &b, &e) == 0, "%d %s %s", e.status, e.path, e.reason);
    ck_assert_uint_eq(b.records, 5);
    ck_assert_uint_eq(b.rejected, 0);
    rows_well_formed(&b);
    fprintf(stderr, "metric rows:\n%s", b.copy.data);
    const char *c = b.copy.data;
    ck_assert_ptr_nonnull(strstr(c, "queue_depth"));
    ck_assert_ptr_nonnull(strstr(c, "42.5"));
    ck_assert_ptr_nonnull(strstr(c, "0.99"));
    ingest_batch_dispose(&b);
    free(p);
}
END_TEST

/* ---------------- answers ---------------- */

START_TEST(responses)
{
    buf_t r;
    buf_init(&r, 1024);
    ck_assert_int_eq(otlp_response_success_proto(&r, INGEST_SPANS, 0, NULL), 0);
    ck_assert_uint_eq(r.len, 0);
    ck_assert_int_eq(otlp_response_success_json(&r, INGEST_LOGS, 0, NULL), 0);
    ck_assert_str_eq(r.data, "{}");
    buf_reset(&r);
    ck_assert_int_eq(otlp_response_success_json(&r, INGEST_METRICS, 3, "bad \"x\""), 0);
    ck_assert_str_eq(
        r.data, "{\"partialSuccess\":{\"rejectedDataPoints\":\"3\",\"errorMessage\":\"bad \\\"x\\\"\"}}");
    buf_reset(&r);
    ck_assert_int_eq(otlp_response_success_proto(&r, INGEST_LOGS, 2, "why"), 0);
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse *lr =
        opentelemetry__proto__collector__logs__v1__export_logs_service_response__unpack(NULL, r.len,
                                                                                        (uint8_t *)r.data);
    ck_assert_ptr_nonnull(lr);
    ck_assert_ptr_nonnull(lr->partial_success);
    ck_assert_int_eq(lr->partial_success->rejected_log_records, 2);
    ck_assert_str_eq(lr->partial_success->error_message, "why");
    opentelemetry__proto__collector__logs__v1__export_logs_service_response__free_unpacked(lr, NULL);
    buf_reset(&r);
    ck_assert_int_eq(otlp_response_status_proto(&r, 3, "bad"), 0);
    ck_assert_uint_eq(r.len, 7);
    ck_assert_int_eq(memcmp(r.data,
                            "\x08\x03\x12\x03"
                            "bad",
                            7),
                     0);
    buf_reset(&r);
    ck_assert_int_eq(otlp_response_status_json(&r, otlp_response_grpc_code(413), "too big"), 0);
    ck_assert_str_eq(r.data, "{\"code\":8,\"message\":\"too big\"}");
    buf_t tiny;
    buf_init(&tiny, 4);
    ck_assert_int_eq(otlp_response_status_json(&tiny, 3, "long message"), -1);
    ck_assert_uint_eq(tiny.len, 0);
    buf_dispose(&tiny);
    buf_dispose(&r);
}
END_TEST

/* ---------------- real exporter payloads ---------------- */

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len + 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

START_TEST(fixtures)
{
    const char *dir = getenv("PS_OTLP_FIXTURES");
    char root[512], path[640];
    if (dir == NULL) {
        snprintf(root, sizeof(root), "%s/tests/fixtures/otlp",
                 getenv("PS_SOURCE_DIR") ? getenv("PS_SOURCE_DIR") : ".");
        dir = root;
    }
    struct {
        const char *file;
        ingest_kind_t kind;
        size_t records;
        const char *needle;
    } cases[] = {{"traces.pb", INGEST_SPANS, 3, "4f362bf56efe4870ee55d3d39abc3eb9"},
                 {"logs.pb", INGEST_LOGS, 3, "payment"},
                 {"metrics.pb", INGEST_METRICS, 4, "request_duration_ms"},
                 {"metrics-2.pb", INGEST_METRICS, 4, "orders_total"}};
    int found = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        size_t n;
        snprintf(path, sizeof(path), "%s/%s", dir, cases[i].file);
        uint8_t *p = read_file(path, &n);
        if (p == NULL) continue;
        found++;
        ingest_batch_t b;
        ingest_err_t e;
        ck_assert_msg(decode(cases[i].kind, p, n, &b, &e) == 0, "%s: %d %s %s", cases[i].file, e.status,
                      e.path, e.reason);
        ck_assert_msg(b.records == cases[i].records && b.rejected == 0,
                      "%s: %zu records, %zu rejected (%s %s)", cases[i].file, b.records, b.rejected,
                      b.first_rejection.path, b.first_rejection.reason);
        ck_assert_ptr_nonnull(strstr(b.copy.data, cases[i].needle));
        rows_well_formed(&b);
        ingest_batch_dispose(&b);
        free(p);
    }
    if (!found) fprintf(stderr, "no OTLP protobuf fixtures in %s: skipped\n", dir);
}
END_TEST

/* ---------------- speed ---------------- */

START_TEST(speed)
{
    size_t n;
    uint8_t *p = traces_request(1000, &n, NULL);
    const char *dump = getenv("PS_OTLP_DUMP"); /* keeps the request for profiling elsewhere */
    FILE *f = dump ? fopen(dump, "wb") : NULL;
    if (f) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
    ingest_batch_t b;
    ingest_err_t e;
    int rounds = 50;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < rounds; i++) {
        ck_assert_int_eq(decode(INGEST_SPANS, p, n, &b, &e), 0);
        ck_assert_uint_eq(b.records, 1000);
        if (i + 1 < rounds) ingest_batch_dispose(&b);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 / rounds;
    fprintf(stderr, "OTLP protobuf: 1000 spans, %zu bytes in, %zu bytes of rows: %.0f us per request\n", n,
            b.copy.len, us);
    ingest_batch_dispose(&b);
    free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ingest_otlp_proto");
    TCase *t = tcase_create("core");
    tcase_add_test(t, spans_rows);
    tcase_add_test(t, spans_bad_id_partial);
    tcase_add_test(t, malformed_and_unknown);
    tcase_add_test(t, max_records);
    tcase_add_test(t, bounded);
    tcase_add_test(t, logs_rows);
    tcase_add_test(t, metrics_rows);
    tcase_add_test(t, responses);
    tcase_add_test(t, fixtures);
    tcase_add_test(t, speed);
    suite_add_tcase(s, t);
    return ts_run(s);
}
