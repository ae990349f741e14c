/* Ingest batch container and COPY text encoding (see ingest_batch.h). */
#include "ingest_batch.h"
#include "alloc.h"
#include "rfc3339.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ingest_batch_init(ingest_batch_t *b, ingest_kind_t kind, size_t max_copy_bytes)
{
    memset(b, 0, sizeof(*b));
    b->kind = kind;
    buf_init(&b->copy, max_copy_bytes);
    buf_init(&b->resources, max_copy_bytes);
    buf_init(&b->scratch[0], max_copy_bytes);
    buf_init(&b->scratch[1], max_copy_bytes);
    for (size_t i = 0; i < sizeof(b->redacted) / sizeof(*b->redacted); i++)
        buf_init(&b->redacted[i], max_copy_bytes);
    b->min_ns = RFC3339_MIN_NS;
    b->max_ns = RFC3339_MAX_NS;
}

void ingest_batch_init_limited(ingest_batch_t *b, ingest_kind_t kind, const ingest_limits_t *limits)
{
    ingest_batch_init(b, kind, limits->max_copy_bytes);
    ingest_batch_set_window(b, limits->min_ns, limits->max_ns);
    b->redact = limits->redact;
}

ingest_limits_t ingest_limits_of(size_t max_records, size_t max_copy_bytes, int retention_days,
                                 int max_future_s, int64_t now_ns)
{
    int64_t today = now_ns - now_ns % INGEST_NS_PER_DAY;
    ingest_limits_t l = {max_records, max_copy_bytes, today - (int64_t)retention_days * INGEST_NS_PER_DAY,
                         now_ns + (int64_t)max_future_s * 1000000000LL, 0};
    if (l.min_ns < RFC3339_MIN_NS) l.min_ns = RFC3339_MIN_NS;
    if (l.max_ns > RFC3339_MAX_NS) l.max_ns = RFC3339_MAX_NS;
    return l;
}

ingest_limits_t ingest_limits_default(size_t max_records, size_t max_copy_bytes)
{
    return (ingest_limits_t){max_records, max_copy_bytes, RFC3339_MIN_NS, RFC3339_MAX_NS, 0};
}

void ingest_batch_set_window(ingest_batch_t *b, int64_t min_ns, int64_t max_ns)
{
    b->min_ns = min_ns;
    b->max_ns = max_ns;
}

void ingest_batch_reject(ingest_batch_t *b, const ingest_err_t *err)
{
    if (b->rejected++ == 0) b->first_rejection = *err;
}

void ingest_batch_dispose(ingest_batch_t *b)
{
    if (b == NULL) return;
    buf_dispose(&b->copy);
    buf_dispose(&b->resources);
    buf_dispose(&b->scratch[0]);
    buf_dispose(&b->scratch[1]);
    for (size_t i = 0; i < sizeof(b->redacted) / sizeof(*b->redacted); i++)
        buf_dispose(&b->redacted[i]);
    free(b->days);
    free(b->error_traces);
    free(b->resource_hashes);
    b->days = NULL;
    b->error_traces = NULL;
    b->resource_hashes = NULL;
    b->ndays = b->nerror_traces = b->records = b->nresources = 0;
}

void ingest_batch_add_day(ingest_batch_t *b, int64_t ns)
{
    int64_t day = ns >= 0 ? ns / INGEST_NS_PER_DAY : -((-ns + INGEST_NS_PER_DAY - 1) / INGEST_NS_PER_DAY);
    for (size_t i = 0; i < b->ndays; i++)
        if (b->days[i] == day) return;
    b->days = xrealloc(b->days, (b->ndays + 1) * sizeof(*b->days));
    b->days[b->ndays++] = day;
}

void ingest_batch_add_error_trace(ingest_batch_t *b, const char *trace_id)
{
    for (size_t i = 0; i < b->nerror_traces; i++)
        if (strcmp(b->error_traces[i], trace_id) == 0) return;
    b->error_traces = xrealloc(b->error_traces, (b->nerror_traces + 1) * sizeof(*b->error_traces));
    snprintf(b->error_traces[b->nerror_traces++], INGEST_TRACE_ID_LEN + 1, "%s", trace_id);
}

static const char *tables[] = {"spans", "logs", "metric_points", "change_events"};
static const char *names[] = {"spans", "logs", "metrics", "events"};
static const char *columns[] = {
    "trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns, status, status_message, "
    "attributes, events, resource_hash, scope_name, scope_version, trace_state, flags, links, "
    "dropped_attributes_count, dropped_events_count, dropped_links_count",
    "ts_ns, service, level, severity, message, trace_id, span_id, stack_trace, attributes, content_hash, "
    "resource_hash, scope_name, scope_version, severity_number, observed_ns, body, flags, event_name, "
    "dropped_attributes_count",
    "ts_ns, service, name, value, labels, point_hash, resource_hash, scope_name, scope_version, kind, "
    "temporality, monotonic, start_ns, unit, hist",
    "ts_ns, service, type, description, meta, event_hash",
};

const char *ingest_batch_resource_columns(void)
{
    return "resource_hash, service, attributes, schema_url, dropped_attributes";
}

const char *ingest_batch_table(ingest_kind_t kind)
{
    return tables[kind];
}

const char *ingest_batch_columns(ingest_kind_t kind)
{
    return columns[kind];
}

const char *ingest_kind_name(ingest_kind_t kind)
{
    return names[kind];
}

int ingest_copy_text(buf_t *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        char esc = 0;
        switch (s[i]) {
        case '\\':
            esc = '\\';
            break;
        case '\n':
            esc = 'n';
            break;
        case '\r':
            esc = 'r';
            break;
        case '\t':
            esc = 't';
            break;
        default:
            continue;
        }
        char pair[2] = {'\\', esc};
        if (buf_append(b, s + start, i - start) != 0 || buf_append(b, pair, 2) != 0) return -1;
        start = i + 1;
    }
    return buf_append(b, s + start, n - start);
}

int ingest_copy_null(buf_t *b)
{
    return buf_append(b, "\\N", 2);
}

int ingest_copy_i64(buf_t *b, int64_t v)
{
    /* by hand: several integers per row, and snprintf's format parsing showed in profiles */
    char tmp[24];
    size_t i = sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[--i] = '-';
    return buf_append(b, tmp + i, sizeof(tmp) - i);
}

int ingest_copy_double(buf_t *b, double v)
{
    char tmp[40];
    int n = snprintf(tmp, sizeof(tmp), "%.17g", v);
    return buf_append(b, tmp, (size_t)n);
}
