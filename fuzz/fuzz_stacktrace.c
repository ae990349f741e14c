/* libFuzzer target: the stack-trace recognisers of the trace analysis (pipeline/rca/stacktrace.h:
 * Python, Java, Go, Node.js, .NET) and the message template used by fingerprints, on any text. Every
 * field must stay NUL-terminated inside its buffer, the counts within their bounds, a failed parse must
 * leave no format, and two parses of the same text must agree. */
#include "rca.h"
#include "stacktrace.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void terminated(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL) abort();
}

static void check(const st_info_t *st)
{
    terminated(st->type, ST_TEXT);
    terminated(st->message, ST_TEXT);
    terminated(st->root_type, ST_TEXT);
    terminated(st->root_message, ST_TEXT);
    terminated(st->app_frame.function, ST_TEXT);
    terminated(st->app_frame.file, ST_TEXT);
    if (st->ntop < 0 || st->ntop > ST_MAX_FRAMES || st->chain_length < 1) abort();
    for (int i = 0; i < st->ntop; i++) {
        terminated(st->top[i].function, ST_TEXT);
        terminated(st->top[i].file, ST_TEXT);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1); /* exactly the text and its NUL: ASan sees any over-read */
    memcpy(text, data, size);
    text[size] = '\0';
    st_info_t a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    int ra = stacktrace_parse(text, &a), rb = stacktrace_parse(text, &b);
    if (ra != rb || a.format != b.format) abort();
    if (ra == 0) {
        check(&a);
        if (strcmp(a.type, b.type) || strcmp(a.root_type, b.root_type) || a.ntop != b.ntop ||
            strcmp(a.app_frame.function, b.app_frame.function))
            abort();
        if (stacktrace_format_name(a.format) == NULL) abort();
    } else if (a.format != ST_NONE) {
        abort();
    }
    char tmpl[512];
    rca_template(text, tmpl, sizeof(tmpl));
    terminated(tmpl, sizeof(tmpl));
    free(text);
    return 0;
}
