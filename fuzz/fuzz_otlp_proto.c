/* libFuzzer target: the OTLP protobuf decoders (traces, logs, metrics) and the answers. Never crashes;
 * an accepted body gives rows with the same number of columns each, within the byte cap, and no more
 * records than allowed. */
#include "ingest_otlp_proto.h"
#include "otlp_response.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECORDS 200
#define MAX_COPY (1 << 20)

static void check_rows(const ingest_batch_t *b)
{
    if (b->copy.len > MAX_COPY || b->records > MAX_RECORDS) abort();
    const char *s = b->copy.data ? b->copy.data : "";
    long tabs = -1, t = 0;
    size_t lines = 0;
    for (size_t i = 0; i < b->copy.len; i++) {
        if (s[i] == '\t') t++;
        if (s[i] == '\n') {
            if (tabs >= 0 && t != tabs) abort();
            tabs = t, t = 0, lines++;
        }
    }
    if (lines != b->records || (b->copy.len > 0 && s[b->copy.len - 1] != '\n')) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ingest_kind_t kinds[] = {INGEST_SPANS, INGEST_LOGS, INGEST_METRICS};
    for (size_t k = 0; k < 3; k++) {
        ingest_batch_t b;
        ingest_err_t e;
        if (ingest_otlp_proto(kinds[k], data, size, MAX_RECORDS, MAX_COPY, &b, &e) != 0) {
            if (e.status != 400 && e.status != 413) abort();
            continue;
        }
        check_rows(&b);
        buf_t r;
        buf_init(&r, 4096);
        if (otlp_response_success_proto(&r, kinds[k], b.rejected, b.first_rejection.reason) != 0 ||
            otlp_response_success_json(&r, kinds[k], b.rejected, b.first_rejection.reason) != 0)
            abort();
        buf_dispose(&r);
        ingest_batch_dispose(&b);
    }
    return 0;
}
