/* libFuzzer target: our ingest JSON, every kind. The first byte picks the kind. */
#include "ingest_json.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    ingest_batch_t b;
    ingest_err_t e;
    if (ingest_json_native((ingest_kind_t)(data[0] % INGEST_KIND_COUNT), (const char *)data + 1, size - 1,
                           10000, 1 << 22, &b, &e) == 0)
        ingest_batch_dispose(&b);
    return 0;
}
