/* .NET exceptions:
 *
 *   System.InvalidOperationException: charge failed ---> Npgsql.NpgsqlException: timeout  <- chain[0], [1]
 *      at Npgsql.NpgsqlConnector.Connect() in /src/Npgsql/NpgsqlConnector.cs:line 120     <- frames of the
 *      at Acme.Payment.ChargeRepository.Save(Charge c) in C:\src\ChargeRepository.cs:line 44  innermost
 *      --- End of inner exception stack trace ---
 *      at Acme.Payment.ChargeService.Charge() in C:\src\ChargeService.cs:line 12            <- chain[0]'s
 *
 * Newer runtimes print " ---> Inner: msg" on a line of its own; "Unhandled exception. " and
 * "Unhandled Exception: " prefixes are skipped. The first block of frames belongs to the innermost
 * exception; each "--- End of inner exception stack trace ---" moves one exception outwards. */
#include "stacktrace_int.h"

/* Adds each "Type: msg" of "A: m1 ---> B: m2 ---> C: m3"; returns how many were added. */
static int add_chain(analysis_stacktrace_t *st, an_slice_t t)
{
    int added = 0;
    for (;;) {
        long arrow = st_find(t, " ---> ");
        an_slice_t seg = arrow >= 0 ? st_slice(t.p, (size_t)arrow) : t;
        an_slice_t type, msg;
        if (st_header(seg, added == 0, &type, &msg)) {
            st_add_exception(st, type, msg);
            added++;
        } else if (added == 0) {
            return 0;
        }
        if (arrow < 0) return added;
        t = st_skip(t, (size_t)arrow + 6);
    }
}

/* After "at ": "NS.Class.Method(String s) in C:\x.cs:line 12" or "NS.Class.Method()". */
static int parse_frame(an_slice_t rest, an_slice_t *fn, an_slice_t *file, int *line)
{
    long op = st_find(rest, "(");
    long in = st_rfind(rest, ") in ");
    *fn = op > 0 ? st_slice(rest.p, (size_t)op) : rest;
    *file = st_slice(rest.p + rest.n, 0);
    *line = 0;
    if (fn->n == 0 || st_find(*fn, " ") >= 0) return 0;
    if (in > 0) {
        an_slice_t loc = st_skip(rest, (size_t)in + 5);
        long ln = st_rfind(loc, ":line ");
        if (ln >= 0) {
            *line = st_number(st_skip(loc, (size_t)ln + 6));
            loc = st_slice(loc.p, (size_t)ln);
        }
        *file = loc;
    }
    return 1;
}

void st_parse_dotnet(const char *text, size_t len, analysis_stacktrace_t *st)
{
    st_lines_t l;
    st_line_t ln;
    int target = -1, in_frames = 0;
    st_lines_init(&l, text, len);
    while (st_lines_next(&l, &ln)) {
        an_slice_t t = ln.text, fn, file;
        int line;
        if (st_starts(t, "--- End of inner exception stack trace ---")) {
            if (target > 0) target--;
        } else if (st_starts(t, "---> ") && st->nchain > 0 && !in_frames) {
            add_chain(st, st_skip(t, 5));
            target = st->nchain - 1;
        } else if (st_starts(t, "at ") && st->nchain > 0 && parse_frame(st_skip(t, 3), &fn, &file, &line)) {
            in_frames = 1;
            st_add_frame(st, target, fn, file, line);
        } else if (st->nchain == 0) {
            if (st_starts(t, "Unhandled exception. "))
                t = st_skip(t, 21);
            else if (st_starts(t, "Unhandled Exception: "))
                t = st_skip(t, 21);
            if (add_chain(st, t) > 0) target = st->nchain - 1;
        }
        /* "--- End of stack trace from previous location ---" and other lines are skipped */
    }
}
