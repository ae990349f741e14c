/* libFuzzer target: the stack-trace recognisers (Python, Java, Go, Node.js, .NET) on any text, and the
 * message template used by fingerprints. */
#include "rca.h"
#include "stacktrace.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    st_info_t info;
    stacktrace_parse(text, &info);
    char tmpl[512];
    rca_template(text, tmpl, sizeof(tmpl));
    free(text);
    return 0;
}
