/* Node.js errors:
 *
 *   TypeError: Cannot read properties of undefined (reading 'id')       <- chain[0]
 *       at chargeCard (/app/src/payment.js:42:17)
 *       at async Promise.all (index 0)
 *       at process.processTicksAndRejections (node:internal/process/task_queues:95:5) {
 *     [cause]: Error: connect ECONNREFUSED 10.0.0.7:5432                 <- chain[1], root cause
 *         at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)
 *   }
 *
 * Property lines of the printed error object ("code: 'ECONNREFUSED'", braces) are skipped. */
#include "stacktrace_int.h"

/* After "at ": "fn (file:line:col)", "async fn (...)", "new Foo (...)" or a bare "file:line:col". */
static int parse_frame(an_slice_t rest, an_slice_t *fn, an_slice_t *file, int *line)
{
    if (st_starts(rest, "async ")) rest = st_skip(rest, 6);
    an_slice_t t = rest;
    if (st_ends(t, " {")) t.n -= 2; /* the last frame before the error's own properties */
    an_slice_t loc = t;
    *fn = st_slice(t.p, 0);
    long op = st_open_paren_of_last(t);
    if (op > 0 && t.p[op - 1] == ' ') {
        *fn = st_trim(st_slice(t.p, (size_t)op));
        loc = st_slice(t.p + op + 1, t.n - (size_t)op - 2);
    }
    if (loc.n == 0) return 0;
    *line = 0;
    *file = loc;
    long c2 = st_rfind(loc, ":");
    if (c2 > 0 && st_number(st_skip(loc, (size_t)c2 + 1)) > 0) {
        an_slice_t head = st_slice(loc.p, (size_t)c2);
        long c1 = st_rfind(head, ":");
        if (c1 > 0 && st_number(st_skip(head, (size_t)c1 + 1)) > 0) {
            *line = st_number(st_skip(head, (size_t)c1 + 1));
            *file = st_slice(loc.p, (size_t)c1);
        } else {
            *line = st_number(st_skip(loc, (size_t)c2 + 1));
            *file = head;
        }
    }
    return 1;
}

void st_parse_node(const char *text, size_t len, analysis_stacktrace_t *st)
{
    st_lines_t l;
    st_line_t ln;
    int cur = -1, have_pending = 0;
    an_slice_t ptype = {0}, pmsg = {0};
    st_lines_init(&l, text, len);
    while (st_lines_next(&l, &ln)) {
        an_slice_t t = ln.text, fn, file, type, msg;
        int line;
        if (st_starts(t, "at ") && parse_frame(st_skip(t, 3), &fn, &file, &line)) {
            if (cur < 0 && st->nchain == 0) cur = st_add_exception(st, ptype, pmsg);
            st_add_frame(st, cur, fn, file, line);
        } else if (st_starts(t, "[cause]: ") && st_header(st_skip(t, 9), 0, &type, &msg)) {
            if (st->nchain == 0 && have_pending) st_add_exception(st, ptype, pmsg);
            cur = st_add_exception(st, type, msg);
        } else if (st->nchain == 0 && !have_pending) {
            if (st_starts(t, "Uncaught ")) t = st_skip(t, 9);
            if (st_header(t, 0, &type, &msg)) {
                ptype = type;
                pmsg = msg;
                have_pending = 1;
            }
        }
    }
    if (st->nchain == 0 && have_pending) st_add_exception(st, ptype, pmsg);
}
