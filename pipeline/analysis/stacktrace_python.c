/* Python tracebacks, chained or not:
 *
 *   Traceback (most recent call last):
 *     File "/app/inventory/stock.py", line 42, in reserve        <- outermost call first
 *       raise OutOfStock(sku)
 *   inventory.errors.OutOfStock: sku-123 has 0 left              <- root cause (printed first)
 *
 *   The above exception was the direct cause of the following exception:
 *
 *   Traceback (most recent call last):
 *     File "/app/inventory/api.py", line 17, in post_reserve
 *   inventory.errors.ReserveFailed: could not reserve             <- chain[0] (printed last)
 *
 * Frames are printed outermost first; they are kept innermost first (the last ones printed), up to
 * the per-exception cap. An exception printed without a traceback before a chain sentence ("During
 * handling of the above exception, another exception occurred:") is kept too. */
#include "stacktrace_int.h"

typedef struct {
    an_slice_t fn, file;
    int line;
} pending_frame_t;

/* Frames of the traceback being read: a ring holding the last ANALYSIS_ST_MAX_FRAMES_PER_EXC. */
typedef struct {
    pending_frame_t ring[ANALYSIS_ST_MAX_FRAMES_PER_EXC];
    int count; /* frames seen in this traceback */
} pending_t;

/* 'File "/app/x.py", line 42, in reserve' */
static int parse_frame(an_slice_t t, pending_frame_t *f)
{
    if (!st_starts(t, "File \"")) return 0;
    an_slice_t rest = st_skip(t, 6);
    long q = st_find(rest, "\", line ");
    if (q < 0) return 0;
    f->file = st_slice(rest.p, (size_t)q);
    rest = st_skip(rest, (size_t)q + 8);
    long comma = st_find(rest, ", in ");
    an_slice_t num = comma >= 0 ? st_slice(rest.p, (size_t)comma) : rest;
    f->line = st_number(num);
    f->fn = comma >= 0 ? st_trim(st_skip(rest, (size_t)comma + 5)) : st_slice(rest.p + rest.n, 0);
    return 1;
}

static void flush(analysis_stacktrace_t *st, pending_t *pf, an_slice_t type, an_slice_t msg)
{
    int exc = st_add_exception(st, type, msg);
    int kept = pf->count < ANALYSIS_ST_MAX_FRAMES_PER_EXC ? pf->count : ANALYSIS_ST_MAX_FRAMES_PER_EXC;
    /* innermost (printed last) first */
    for (int k = 0; k < kept; k++) {
        const pending_frame_t *f = &pf->ring[(pf->count - 1 - k) % ANALYSIS_ST_MAX_FRAMES_PER_EXC];
        st_add_frame(st, exc, f->fn, f->file, f->line);
    }
    if (exc >= 0) st->chain[exc].omitted += pf->count - kept;
    pf->count = 0;
}

static int chain_sentence(an_slice_t t)
{
    return st_starts(t, "During handling of the above exception") ||
           st_starts(t, "The above exception was the direct cause");
}

void st_parse_python(const char *text, size_t len, analysis_stacktrace_t *st)
{
    st_lines_t l;
    st_line_t ln;
    pending_t pf;
    pf.count = 0;
    int in_tb = 0, have_loose = 0;
    size_t tb_indent = 0; /* a log formatter may indent the whole traceback */
    an_slice_t ltype = {0}, lmsg = {0};
    st_lines_init(&l, text, len);
    while (st_lines_next(&l, &ln)) {
        an_slice_t t = ln.text, type, msg;
        pending_frame_t f;
        if (st_starts(t, "Traceback (most recent call last):")) {
            in_tb = 1;
            tb_indent = ln.indent;
            pf.count = 0;
            have_loose = 0;
        } else if (in_tb && parse_frame(t, &f)) {
            pf.ring[pf.count % ANALYSIS_ST_MAX_FRAMES_PER_EXC] = f;
            if (pf.count < 1000000) pf.count++;
        } else if (chain_sentence(t)) {
            /* an exception printed without a traceback before the sentence is part of the chain */
            if (have_loose) flush(st, &pf, ltype, lmsg);
            have_loose = 0;
        } else if (in_tb && ln.indent <= tb_indent && t.n && st_header(t, 0, &type, &msg)) {
            flush(st, &pf, type, msg);
            in_tb = 0;
        } else if (!in_tb && ln.indent <= tb_indent && st_header(t, 1, &type, &msg)) {
            ltype = type;
            lmsg = msg;
            have_loose = 1;
        }
        /* source lines, "^^^^" markers and other text are skipped */
    }
    if (in_tb && pf.count > 0) { /* cut off before its exception line */
        an_slice_t none = {0};
        flush(st, &pf, none, none);
    }
    st_reverse_chain(st);
}
