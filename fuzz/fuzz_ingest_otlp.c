/* libFuzzer target: OTLP/HTTP JSON (ingest_otlp_json*.c) for traces, logs and metrics; the first byte
 * picks the signal. Never crashes; a refused body is a 400 or a 413 with nothing left to free; an
 * accepted body gives well-formed rows (every row with the kind's number of columns, ending in a
 * newline), one resource row per distinct resource, no more records (stored and rejected) than
 * allowed, each rejection a 400 with a path, and the same rows when parsed again. */
#include "ingest_json.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECORDS 200
#define MAX_COPY (1 << 20)

/* Rows of COPY text with `columns` columns each; returns how many. */
static size_t rows(const buf_t *b, long columns)
{
    const char *s = b->data ? b->data : "";
    long tabs = 0;
    size_t lines = 0;
    for (size_t i = 0; i < b->len; i++) {
        if (s[i] == '\t') tabs++;
        if (s[i] == '\n') {
            if (tabs != columns - 1) abort();
            tabs = 0, lines++;
        }
    }
    if (b->len > 0 && s[b->len - 1] != '\n') abort();
    return lines;
}

static long columns_of(const char *list)
{
    long n = 1;
    for (; *list; list++)
        n += *list == ',';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    ingest_kind_t kind = (ingest_kind_t)(data[0] % 3);
    const char *body = (const char *)data + 1;
    ingest_batch_t b;
    ingest_err_t e;
    if (ingest_json_otlp(kind, body, size - 1, MAX_RECORDS, MAX_COPY, &b, &e) != 0) {
        if (e.status != 400 && e.status != 413) abort();
        return 0;
    }
    if (b.copy.len > MAX_COPY || b.records + b.rejected > MAX_RECORDS) abort();
    if (rows(&b.copy, columns_of(ingest_batch_columns(kind))) != b.records) abort();
    if (rows(&b.resources, columns_of(ingest_batch_resource_columns())) != b.nresources) abort();
    if (b.rejected && (b.first_rejection.status != 400 || b.first_rejection.path[0] == '\0')) abort();
    ingest_batch_t again;
    if (ingest_json_otlp(kind, body, size - 1, MAX_RECORDS, MAX_COPY, &again, &e) != 0) abort();
    if (again.copy.len != b.copy.len ||
        (b.copy.len && memcmp(again.copy.data, b.copy.data, b.copy.len) != 0) || again.rejected != b.rejected)
        abort();
    ingest_batch_dispose(&again);
    ingest_batch_dispose(&b);
    return 0;
}
