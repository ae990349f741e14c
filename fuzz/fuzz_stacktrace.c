/* libFuzzer target: the stack-trace parser (pipeline/analysis/stacktrace.h) on any bytes. It must never
 * read outside the text (the copy is exactly `size` bytes, so ASan sees any over-read), every slice it
 * returns must lie inside the text (or be one of the Go type names), the bounds must hold, and two
 * parses must agree. The message template and the fingerprint run on the same text. */
#include "fingerprint.h"
#include "stacktrace.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int inside(an_slice_t s, const char *text, size_t size)
{
    if (s.n == 0) return 1;
    if (s.p >= text && s.p + s.n <= text + size) return 1;
    static const char *const go_types[] = {"runtime.Error", "fatal error", "panic", NULL};
    for (const char *const *t = go_types; *t; t++)
        if (s.n == strlen(*t) && memcmp(s.p, *t, s.n) == 0) return 1;
    return 0;
}

static void check(const analysis_stacktrace_t *st, const char *text, size_t size)
{
    if (st->nchain < 0 || st->nchain > ANALYSIS_ST_MAX_CHAIN) abort();
    if (st->nframes < 0 || st->nframes > ANALYSIS_ST_MAX_FRAMES) abort();
    for (int c = 0; c < st->nchain; c++) {
        const analysis_exception_t *e = &st->chain[c];
        if (!inside(e->type, text, size) || !inside(e->message, text, size)) abort();
        if (e->nframes < 0 || e->nframes > ANALYSIS_ST_MAX_FRAMES_PER_EXC) abort();
        if (e->nframes && (e->first_frame < 0 || e->first_frame + e->nframes > st->nframes)) abort();
    }
    for (int i = 0; i < st->nframes; i++)
        if (!inside(st->frames[i].function, text, size) || !inside(st->frames[i].file, text, size)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (size) memcpy(text, data, size);
    analysis_stacktrace_t a, b;
    int ra = analysis_stacktrace_parse(text, size, &a);
    int rb = analysis_stacktrace_parse(text, size, &b);
    if (ra != rb || a.format != b.format || a.nchain != b.nchain || a.nframes != b.nframes) abort();
    if (ra == 0) {
        check(&a, text, size);
        const analysis_frame_t *f = analysis_stacktrace_app_frame(&a);
        if (f && !f->is_app) abort();
        if (analysis_stacktrace_root(&a) == NULL) abort();
    } else if (a.nchain != 0 || a.format != ANALYSIS_ST_NONE) {
        abort();
    }
    char tmpl[256];
    size_t n = analysis_message_template(text, size, tmpl, sizeof(tmpl));
    if (n >= sizeof(tmpl) || tmpl[n] != '\0') abort();
    char *msg = malloc(size + 1); /* the fingerprint takes NUL-terminated strings */
    if (size) memcpy(msg, data, size);
    msg[size] = '\0';
    analysis_fp_input_t in = {"svc", "error", "T", NULL, ra == 0 ? &a : NULL, msg, msg};
    char fp[ANALYSIS_FP_SIZE];
    analysis_fingerprint(&in, fp);
    if (strlen(fp) != 32) abort();
    free(msg);
    free(text);
    return 0;
}
