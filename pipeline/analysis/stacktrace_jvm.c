/* JVM stack traces (Java, Kotlin, Scala):
 *
 *   Exception in thread "main" com.acme.PaymentException: charge failed      <- chain[0]
 *   	at com.acme.ChargeService.charge(ChargeService.java:41)
 *   	at java.base/java.lang.Thread.run(Thread.java:833)
 *   	Suppressed: java.io.IOException: close failed                         <- skipped with its frames
 *   		at ...
 *   Caused by: java.net.SocketTimeoutException: Read timed out               <- chain[1], root cause
 *   	at java.base/java.net.SocketInputStream.read(SocketInputStream.java:168)
 *   	... 12 more
 *
 * The header is the first line before the frames that reads as "pkg.Type: message"; a log line's
 * own text before it is skipped. Logback's " ~[app.jar:1.0]" after a frame is ignored. */
#include "stacktrace_int.h"

/* "at pkg.Class.method(File.java:12)" (after "at "): 1 with the frame, else 0. */
static int parse_frame(an_slice_t rest, an_slice_t *fn, an_slice_t *file, int *line)
{
    long op = st_find(rest, "(");
    if (op <= 0) return 0;
    an_slice_t after = st_skip(rest, (size_t)op + 1);
    long cp = st_find(after, ")");
    if (cp < 0) return 0;
    an_slice_t f = st_slice(rest.p, (size_t)op);
    if (st_find(f, " ") >= 0) return 0;
    long slash = st_rfind(f, "/"); /* "java.base/java.lang.Thread.run", "app//com.acme.X.m" */
    if (slash >= 0) f = st_skip(f, (size_t)slash + 1);
    if (f.n == 0) return 0;
    an_slice_t in = st_slice(after.p, (size_t)cp);
    long colon = st_rfind(in, ":");
    *line = 0;
    if (colon > 0 && st_number(st_skip(in, (size_t)colon + 1)) > 0) {
        *line = st_number(st_skip(in, (size_t)colon + 1));
        in = st_slice(in.p, (size_t)colon);
    }
    *fn = f;
    *file = in;
    return 1;
}

/* "Exception in thread "main" X: m" -> "X: m" */
static an_slice_t strip_thread_prefix(an_slice_t t)
{
    if (!st_starts(t, "Exception in thread \"")) return t;
    an_slice_t rest = st_skip(t, 21);
    long q = st_find(rest, "\"");
    return q < 0 ? t : st_trim(st_skip(rest, (size_t)q + 1));
}

void st_parse_jvm(const char *text, size_t len, analysis_stacktrace_t *st)
{
    st_lines_t l;
    st_line_t ln;
    int cur = -1, have_pending = 0;
    long suppressed_indent = -1;
    an_slice_t ptype = {0}, pmsg = {0};
    st_lines_init(&l, text, len);
    while (st_lines_next(&l, &ln)) {
        an_slice_t t = ln.text;
        if (t.n == 0) continue;
        if (suppressed_indent >= 0) {
            if ((long)ln.indent > suppressed_indent) continue;
            suppressed_indent = -1;
        }
        an_slice_t fn, file, type, msg;
        int line;
        if (st_starts(t, "at ") && parse_frame(st_skip(t, 3), &fn, &file, &line)) {
            if (cur < 0 && st->nchain == 0) cur = st_add_exception(st, ptype, pmsg);
            st_add_frame(st, cur, fn, file, line);
        } else if (st_starts(t, "... ") && (st_ends(t, " more") || st_ends(t, " omitted"))) {
            an_slice_t num = st_skip(t, 4);
            long sp = st_find(num, " ");
            if (cur >= 0 && sp > 0) st->chain[cur].omitted += st_number(st_slice(num.p, (size_t)sp));
        } else if (st_starts(t, "Caused by: ") && st_header(st_skip(t, 11), 0, &type, &msg)) {
            if (st->nchain == 0 && have_pending) st_add_exception(st, ptype, pmsg);
            cur = st_add_exception(st, type, msg);
        } else if (st_starts(t, "Suppressed: ")) {
            suppressed_indent = (long)ln.indent;
        } else if (st->nchain == 0 && !have_pending && st_header(strip_thread_prefix(t), 1, &type, &msg)) {
            ptype = type;
            pmsg = msg;
            have_pending = 1;
        }
        /* anything else (a message's further lines, text after the trace) is not part of the chain */
    }
    if (st->nchain == 0 && have_pending) st_add_exception(st, ptype, pmsg);
}
