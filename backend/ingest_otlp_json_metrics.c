/* OTLP/HTTP JSON: one metric, each of its data points (gauge, sum, histogram, exponential histogram,
 * summary) read into an ingest_metric_t. */
#include "ingest_otlp_json_int.h"

#include <stdio.h>
#include <string.h>

static const char *const temporality_names[] = {"UNSPECIFIED", "DELTA", "CUMULATIVE"};

typedef struct {
    const char *member; /* "gauge", ... */
    ingest_metric_kind_t kind;
    const char *value_field, *buckets_field;
} metric_shape_t;

static const metric_shape_t shapes[] = {
    {"gauge", METRIC_GAUGE, "asDouble", "bucketCounts"},
    {"sum", METRIC_SUM, "asDouble", "bucketCounts"},
    {"histogram", METRIC_HISTOGRAM, "count", "bucketCounts"},
    {"exponentialHistogram", METRIC_EXP_HISTOGRAM, "count", "positive"},
    {"summary", METRIC_SUMMARY, "count", "quantileValues"},
};
static const char *const shape_snake[] = {"gauge", "sum", "histogram", "exponential_histogram", "summary"};

/* What a metric's data points share. */
typedef struct {
    const metric_shape_t *shape;
    int temporality, monotonic;
    size_t plen; /* the metric's path: the prefix of its points' errors */
} metric_ctx_t;

/* An array of numbers appended to `arr` (doubles or uint64) up to INGEST_MAX_BUCKETS + 1 of them. */
static int number_array(parser_t *p, const char *field, buf_t *arr, int doubles)
{
    buf_reset(arr);
    if (oj_take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_ARRAY) {
        oj_bad_field(p, field, "expected an array");
        return oj_skip_value(p);
    }
    jscan_array_begin(&p->j);
    int e;
    while ((e = jscan_array_next(&p->j)) == 1) {
        double d = 0;
        uint64_t u = 0;
        int present, rc = doubles ? oj_read_double(p, field, &d, &present) : oj_read_u64(p, field, &u);
        if (rc != 0) return -1;
        if ((doubles ? buf_append(arr, &d, sizeof(d)) : buf_append(arr, &u, sizeof(u))) != 0)
            oj_bad_field(p, field, "more than %d buckets", INGEST_MAX_BUCKETS + 1);
    }
    return e < 0 ? oj_syntax_fail(p) : 0;
}

static const double *doubles_of(const buf_t *b, size_t *n)
{
    *n = b->len / sizeof(double);
    return (const double *)(const void *)b->data;
}

static const uint64_t *u64s_of(const buf_t *b, size_t *n)
{
    *n = b->len / sizeof(uint64_t);
    return (const uint64_t *)(const void *)b->data;
}

/* Exponential buckets {offset, bucketCounts}. */
static int exp_buckets(parser_t *p, const char *field, int32_t *offset, buf_t *counts)
{
    buf_reset(counts);
    if (oj_take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        oj_bad_field(p, field, "expected an object");
        return oj_skip_value(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int rc;
        int64_t off = 0;
        if (oj_is(&k, "offset", NULL)) {
            rc = oj_read_i64(p, field, &off);
            if (off < INT32_MIN || off > INT32_MAX) oj_bad_field(p, field, "offset out of range");
            *offset = (int32_t)off;
        } else if (oj_is(&k, "bucketCounts", "bucket_counts")) {
            rc = number_array(p, field, counts, 0);
        } else {
            rc = oj_skip_value(p);
        }
        if (rc != 0) return -1;
    }
    return m < 0 ? oj_syntax_fail(p) : 0;
}

/* quantileValues [{quantile, value}]. */
static int quantiles(parser_t *p)
{
    metric_bufs_t *mb = &p->mt;
    buf_reset(&mb->quantiles);
    buf_reset(&mb->values);
    if (oj_take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_ARRAY) {
        oj_bad_field(p, "quantileValues", "expected an array");
        return oj_skip_value(p);
    }
    jscan_array_begin(&p->j);
    int e;
    while ((e = jscan_array_next(&p->j)) == 1) {
        double q = 0, v = 0;
        int present, m;
        jstr_t k;
        if (jscan_peek(&p->j) != JT_OBJECT) {
            oj_bad_field(p, "quantileValues", "expected an object");
            if (oj_skip_value(p) != 0) return -1;
            continue;
        }
        jscan_object_begin(&p->j);
        while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
            int rc = oj_is(&k, "quantile", NULL) ? oj_read_double(p, "quantileValues", &q, &present)
                     : oj_is(&k, "value", NULL)  ? oj_read_double(p, "quantileValues", &v, &present)
                                                 : oj_skip_value(p);
            if (rc != 0) return -1;
        }
        if (m < 0) return oj_syntax_fail(p);
        if (buf_append(&mb->quantiles, &q, sizeof(q)) != 0 || buf_append(&mb->values, &v, sizeof(v)) != 0)
            oj_bad_field(p, "quantileValues", "more than %d quantiles", INGEST_MAX_BUCKETS + 1);
    }
    return e < 0 ? oj_syntax_fail(p) : 0;
}

/* Every field any data point shape may carry. */
typedef struct {
    ingest_metric_t m;
    int has_value, has_labels;
    ingest_histogram_t h;
    ingest_exp_histogram_t x;
    ingest_summary_t s;
    uint64_t count;
    double sum, min, max;
    int has_sum, has_min, has_max;
} point_t;

static int point_field(parser_t *p, const jstr_t *k, point_t *pt)
{
    metric_bufs_t *mb = &p->mt;
    int present = 0, rc;
    int64_t i = 0;
    if (oj_is(k, "timeUnixNano", "time_unix_nano")) return oj_read_time(p, "timeUnixNano", &pt->m.ts_ns);
    if (oj_is(k, "startTimeUnixNano", "start_time_unix_nano"))
        return oj_read_time(p, "startTimeUnixNano", &pt->m.start_ns);
    if (oj_is(k, "attributes", NULL)) {
        pt->has_labels = 1;
        return oj_attributes(p, &mb->labels, "attributes", NULL, NULL, 0);
    }
    if (oj_is(k, "asDouble", "as_double")) {
        rc = oj_read_double(p, "asDouble", &pt->m.value, &present);
        pt->has_value |= present;
        return rc;
    }
    if (oj_is(k, "asInt", "as_int")) {
        if (oj_take_null(p)) return 0;
        rc = oj_read_i64(p, "asInt", &i);
        pt->m.value = (double)i;
        pt->has_value = 1;
        return rc;
    }
    if (oj_is(k, "count", NULL)) return oj_read_u64(p, "count", &pt->count);
    if (oj_is(k, "sum", NULL)) {
        rc = oj_read_double(p, "sum", &pt->sum, &present);
        pt->has_sum |= present;
        return rc;
    }
    if (oj_is(k, "min", NULL)) {
        rc = oj_read_double(p, "min", &pt->min, &present);
        pt->has_min |= present;
        return rc;
    }
    if (oj_is(k, "max", NULL)) {
        rc = oj_read_double(p, "max", &pt->max, &present);
        pt->has_max |= present;
        return rc;
    }
    if (oj_is(k, "bucketCounts", "bucket_counts")) return number_array(p, "bucketCounts", &mb->counts, 0);
    if (oj_is(k, "explicitBounds", "explicit_bounds"))
        return number_array(p, "explicitBounds", &mb->bounds, 1);
    if (oj_is(k, "scale", NULL)) {
        rc = oj_read_i64(p, "scale", &i);
        if (i < INT32_MIN || i > INT32_MAX) oj_bad_field(p, "scale", "out of range");
        pt->x.scale = (int32_t)i;
        return rc;
    }
    if (oj_is(k, "zeroCount", "zero_count")) return oj_read_u64(p, "zeroCount", &pt->x.zero_count);
    if (oj_is(k, "zeroThreshold", "zero_threshold"))
        return oj_read_double(p, "zeroThreshold", &pt->x.zero_threshold, &present);
    if (oj_is(k, "positive", NULL)) return exp_buckets(p, "positive", &pt->x.positive_offset, &mb->positive);
    if (oj_is(k, "negative", NULL)) return exp_buckets(p, "negative", &pt->x.negative_offset, &mb->negative);
    if (oj_is(k, "quantileValues", "quantile_values")) return quantiles(p);
    return oj_skip_value(p);
}

/* The shape of a finished point, from its fields. */
static void point_shape(parser_t *p, const metric_ctx_t *c, point_t *pt)
{
    metric_bufs_t *mb = &p->mt;
    switch (c->shape->kind) {
    case METRIC_GAUGE:
    case METRIC_SUM:
        if (!pt->has_value) oj_bad_field(p, "asDouble", "expected asDouble or asInt");
        break;
    case METRIC_HISTOGRAM:
        pt->h = (ingest_histogram_t){.count = pt->count,
                                     .sum = pt->sum,
                                     .min = pt->min,
                                     .max = pt->max,
                                     .has_sum = pt->has_sum,
                                     .has_min = pt->has_min,
                                     .has_max = pt->has_max};
        pt->h.bounds = doubles_of(&mb->bounds, &pt->h.nbounds);
        pt->h.counts = u64s_of(&mb->counts, &pt->h.ncounts);
        pt->m.histogram = &pt->h;
        break;
    case METRIC_EXP_HISTOGRAM:
        pt->x.count = pt->count;
        pt->x.sum = pt->sum, pt->x.min = pt->min, pt->x.max = pt->max;
        pt->x.has_sum = pt->has_sum, pt->x.has_min = pt->has_min, pt->x.has_max = pt->has_max;
        pt->x.positive = u64s_of(&mb->positive, &pt->x.npositive);
        pt->x.negative = u64s_of(&mb->negative, &pt->x.nnegative);
        pt->m.exp_histogram = &pt->x;
        break;
    case METRIC_SUMMARY:
        pt->s = (ingest_summary_t){.count = pt->count, .sum = pt->sum};
        pt->s.quantiles = doubles_of(&mb->quantiles, &pt->s.n);
        pt->s.values = doubles_of(&mb->values, &pt->s.n);
        pt->m.summary = &pt->s;
        break;
    }
    if (c->shape->kind >= METRIC_HISTOGRAM) pt->m.value = (double)pt->count;
}

static int one_point(parser_t *p, const metric_ctx_t *c, size_t i)
{
    if (oj_record_begin(p, "resourceMetrics") != 0) return -1;
    size_t old = oj_path_push(p, ".dataPoints[%zu]", i);
    int rc = -1;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        rc = oj_not_an_object(p);
        goto out;
    }
    metric_bufs_t *mb = &p->mt;
    point_t pt;
    memset(&pt, 0, sizeof(pt));
    buf_reset(&mb->bounds), buf_reset(&mb->counts), buf_reset(&mb->positive), buf_reset(&mb->negative);
    buf_reset(&mb->quantiles), buf_reset(&mb->values);
    jscan_object_begin(&p->j);
    jstr_t k;
    int m;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1)
        if (point_field(p, &k, &pt) != 0) goto out;
    if (m < 0) {
        rc = oj_syntax_fail(p);
        goto out;
    }
    point_shape(p, c, &pt);
    rc = 0;
    if (oj_rejected(p)) goto out;
    pt.m.resource = &p->res;
    pt.m.scope = &p->scope;
    pt.m.name = oj_istr_of(&mb->name);
    pt.m.unit = oj_istr_of(&mb->unit);
    pt.m.kind = c->shape->kind;
    pt.m.temporality =
        c->shape->kind == METRIC_GAUGE || c->shape->kind == METRIC_SUMMARY ? 0 : c->temporality;
    pt.m.monotonic = c->shape->kind == METRIC_SUM && c->monotonic;
    pt.m.labels = pt.has_labels ? oj_istr_buf(&mb->labels) : ISTR_NONE;
    /* errors name the point's fields from the metric's path: "<metric>.sum.dataPoints[2].timeUnixNano" */
    static const char *const fields[MF_COUNT] = {
        [MF_TIME] = "timeUnixNano", [MF_SERVICE] = "resource.attributes.service.name",
        [MF_NAME] = "name",         [MF_VALUE] = NULL,
        [MF_LABELS] = "attributes", [MF_START] = "startTimeUnixNano",
        [MF_BUCKETS] = NULL};
    char bufs[MF_COUNT][128];
    const char *names[MF_COUNT];
    const char *rel = p->path + c->plen + (p->path[c->plen] == '.');
    for (int f = 0; f < MF_COUNT; f++) {
        const char *name = f == MF_VALUE     ? c->shape->value_field
                           : f == MF_BUCKETS ? c->shape->buckets_field
                                             : fields[f];
        if (f == MF_NAME || f == MF_SERVICE)
            snprintf(bufs[f], sizeof(bufs[f]), "%s", name);
        else
            snprintf(bufs[f], sizeof(bufs[f]), "%s.%s", rel, name);
        names[f] = bufs[f];
    }
    char prefix[sizeof(p->path)];
    snprintf(prefix, sizeof(prefix), "%.*s", (int)c->plen, p->path);
    ingest_err_t e;
    rc = oj_finish(p, ingest_record_metric(p->b, &pt.m, names, prefix, &e), &e);
out:
    oj_path_pop(p, old);
    return rc;
}

static int points(parser_t *p, const metric_ctx_t *c)
{
    if (oj_take_null(p)) return 0;
    if (jscan_peek(&p->j) != JT_ARRAY) return oj_envelope_fail(p, p->path, "dataPoints to be an array");
    jscan_array_begin(&p->j);
    int e;
    size_t i = 0;
    while ((e = jscan_array_next(&p->j)) == 1)
        if (one_point(p, c, i++) != 0) return -1;
    return e < 0 ? oj_syntax_fail(p) : 0;
}

/* The data of a metric: {"dataPoints":[...], "aggregationTemporality", "isMonotonic"}. */
static int metric_data(parser_t *p, metric_ctx_t *c)
{
    size_t old = oj_path_push(p, ".%s", c->shape->member);
    int rc = -1, m, has_temporality = 0, has_monotonic = 0;
    later_t later = {0};
    if (jscan_peek(&p->j) != JT_OBJECT) {
        rc = oj_envelope_fail(p, p->path, "an object");
        goto out;
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (oj_is(&k, "dataPoints", "data_points")) {
            /* sums and histograms need their temporality, which exporters write after the points */
            int ready = c->shape->kind == METRIC_GAUGE || c->shape->kind == METRIC_SUMMARY ||
                        (has_temporality && (has_monotonic || c->shape->kind != METRIC_SUM));
            if (ready) oj_take_ctx(p, CTX_METRIC);
            r = ready ? points(p, c) : oj_defer(p, &later);
        } else if (oj_is(&k, "aggregationTemporality", "aggregation_temporality")) {
            has_temporality = 1;
            r = oj_read_enum(p, "aggregationTemporality", "AGGREGATION_TEMPORALITY_", temporality_names, 3,
                             &c->temporality);
        } else if (oj_is(&k, "isMonotonic", "is_monotonic")) {
            has_monotonic = 1;
            r = oj_read_bool(p, "isMonotonic", &c->monotonic);
        } else {
            r = oj_skip_value(p);
        }
        if (r != 0) goto out;
    }
    if (m < 0) {
        rc = oj_syntax_fail(p);
        goto out;
    }
    oj_take_ctx(p, CTX_METRIC);
    if (later.pending) {
        jscan_t here = p->j;
        p->j = later.at;
        if (points(p, c) != 0) goto out;
        p->j = here;
    }
    rc = 0;
out:
    oj_path_pop(p, old);
    return rc;
}

static int shape_of(const jstr_t *k)
{
    for (int i = 0; i < (int)(sizeof(shapes) / sizeof(*shapes)); i++)
        if (oj_is(k, shapes[i].member, shape_snake[i])) return i;
    return -1;
}

int oj_one_metric(parser_t *p)
{
    metric_bufs_t *mb = &p->mt;
    metric_ctx_t c = {.plen = p->plen};
    mb->name.s.s = mb->unit.s.s = NULL;
    p->ctx_bad[CTX_METRIC] = 0;
    p->bad = 0;
    if (jscan_peek(&p->j) != JT_OBJECT) {
        if (oj_record_begin(p, "resourceMetrics") != 0) return -1;
        return oj_not_an_object(p);
    }
    jscan_object_begin(&p->j);
    jstr_t k;
    int m, has_name = 0, has_unit = 0, data = 0, shape;
    later_t later = {0};
    while ((m = jscan_object_next(&p->j, &k, &p->key)) == 1) {
        int r;
        if (oj_is(&k, "name", NULL)) {
            has_name = 1;
            r = oj_read_text(p, "name", &mb->name);
        } else if (oj_is(&k, "unit", NULL)) {
            has_unit = 1;
            r = oj_read_text(p, "unit", &mb->unit);
        } else if ((shape = shape_of(&k)) >= 0) {
            data = 1;
            c.shape = &shapes[shape];
            r = has_name && has_unit ? metric_data(p, &c) : oj_defer(p, &later);
        } else {
            r = oj_skip_value(p);
        }
        if (r != 0) return -1;
    }
    if (m < 0) return oj_syntax_fail(p);
    if (!data) { /* no points: the metric counts as one rejected record */
        if (oj_record_begin(p, "resourceMetrics") != 0) return -1;
        oj_bad_field(p, NULL, "expected one of gauge, sum, histogram, exponentialHistogram, summary");
        ingest_batch_reject(p->b, &p->rej);
        return 0;
    }
    if (later.pending) {
        jscan_t here = p->j;
        p->j = later.at;
        if (metric_data(p, &c) != 0) return -1;
        p->j = here;
    }
    return 0;
}
