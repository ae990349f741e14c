/* Go panics:
 *
 *   panic: first failure [recovered]                   <- the original panic: root cause
 *   	panic: runtime error: invalid memory address    <- re-panicked: chain[0]
 *   [signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x48f2c5]
 *
 *   goroutine 1 [running]:
 *   main.(*Server).handle(0xc000010000, {0x4d2a40, 0xc000012345})
 *   	/app/server.go:42 +0x25
 *   created by net/http.(*Server).Serve in goroutine 1
 *   	/usr/local/go/src/net/http/server.go:3285 +0x4b4
 *
 * Go panics carry no exception type: "runtime error: ..." reads as runtime.Error, "fatal error: ..."
 * as "fatal error", anything else as "panic". Only the first goroutine (the panicking one) is read;
 * its frames belong to the last panic printed. */
#include "stacktrace_int.h"

#include <string.h>

static const char runtime_error[] = "runtime.Error";
static const char fatal_error[] = "fatal error";
static const char plain_panic[] = "panic";

static void add_panic(analysis_stacktrace_t *st, an_slice_t msg, int fatal)
{
    if (st_ends(msg, " [recovered]")) msg.n -= 12;
    long rp = st_find(msg, " [recovered, repanicked]");
    if (rp >= 0) msg.n = (size_t)rp;
    msg = st_trim(msg);
    const char *type = fatal ? fatal_error : st_starts(msg, "runtime error: ") ? runtime_error : plain_panic;
    st_add_exception(st, st_slice(type, strlen(type)), msg);
}

/* "main.(*S).run(0xc0, ...)" or "created by net/http.(*Server).Serve in goroutine 1" */
static an_slice_t function_of(an_slice_t t)
{
    if (st_starts(t, "created by ")) {
        t = st_skip(t, 11);
        long in = st_find(t, " in goroutine ");
        return in >= 0 ? st_slice(t.p, (size_t)in) : t;
    }
    long op = st_open_paren_of_last(t);
    return op > 0 ? st_slice(t.p, (size_t)op) : t;
}

/* "/app/server.go:42 +0x25" */
static void location_of(an_slice_t t, an_slice_t *file, int *line)
{
    long sp = st_find(t, " ");
    if (sp >= 0) t = st_slice(t.p, (size_t)sp);
    long colon = st_rfind(t, ":");
    *line = 0;
    *file = t;
    if (colon > 0 && st_number(st_skip(t, (size_t)colon + 1)) > 0) {
        *line = st_number(st_skip(t, (size_t)colon + 1));
        *file = st_slice(t.p, (size_t)colon);
    }
}

void st_parse_go(const char *text, size_t len, analysis_stacktrace_t *st)
{
    st_lines_t l;
    st_line_t ln;
    int in_goroutine = 0, have_fn = 0;
    an_slice_t fn = {0};
    st_lines_init(&l, text, len);
    while (st_lines_next(&l, &ln)) {
        an_slice_t t = ln.text;
        if (!in_goroutine) {
            if (st_starts(t, "panic: "))
                add_panic(st, st_skip(t, 7), 0);
            else if (st_starts(t, "fatal error: "))
                add_panic(st, st_skip(t, 13), 1);
            else if (st_starts(t, "goroutine ") && st_ends(t, "]:"))
                in_goroutine = 1;
            continue;
        }
        if (st_starts(t, "goroutine ") && st_ends(t, "]:")) break; /* the other goroutines */
        if (t.n == 0) continue;
        if (ln.indent == 0) {
            fn = function_of(t);
            have_fn = 1;
        } else if (have_fn) {
            an_slice_t file;
            int line;
            location_of(t, &file, &line);
            /* frames go to the last panic printed, chain[nchain-1] before the chain is reversed */
            if (st->nchain == 0) {
                an_slice_t none = {0};
                st_add_exception(st, st_slice(plain_panic, 5), none);
            }
            st_add_frame(st, st->nchain - 1, fn, file, line);
            have_fn = 0;
        }
    }
    st_reverse_chain(st);
}
