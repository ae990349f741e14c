/* libFuzzer target: timestamps, ids and traceparent; a parsed time formats and parses back to itself. */
#include "hexid.h"
#include "rfc3339.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *why;
    int64_t ns, back;
    if (rfc3339_parse(s, size, &ns, &why) == 0) {
        char out[40];
        rfc3339_format(ns, out, sizeof(out));
        if (rfc3339_parse(out, strlen(out), &back, &why) != 0 || back != ns) abort();
    }
    epoch_ns_parse(s, size, &ns, &why);
    char t[33], sp[17];
    int sampled;
    hexid_parse(s, size, 16, t, &why);
    hexid_parse(s, size, 8, sp, &why);
    traceparent_parse(s, size, t, sp, &sampled);
    return 0;
}
