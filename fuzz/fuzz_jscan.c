/* libFuzzer target: the JSON scanner must never read out of bounds, and must agree with itself:
 * whatever it accepts as a value, skipping it again from the raw slice is accepted too. */
#include "jscan.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jscan_t j;
    jscan_init(&j, (const char *)data, size, 16);
    jstr_t raw;
    if (jscan_skip(&j, &raw) == 0) {
        jscan_t again;
        jscan_init(&again, raw.s, raw.n, 16);
        if (jscan_skip(&again, NULL) != 0) abort();
    }
    return 0;
}
