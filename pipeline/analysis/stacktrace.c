/* Stack-trace parsing (see stacktrace.h): the line reader and slice helpers, the builder, format
 * detection by votes, and the public entry points. The formats themselves are in stacktrace_*.c. */
#include "stacktrace_int.h"

#include <string.h>

/* ---------------- lines and slices ---------------- */

void st_lines_init(st_lines_t *l, const char *text, size_t len)
{
    l->p = text;
    l->end = text + len;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

int st_lines_next(st_lines_t *l, st_line_t *out)
{
    if (l->p >= l->end) return 0;
    const char *s = l->p;
    const char *nl = memchr(s, '\n', (size_t)(l->end - s));
    const char *e = nl ? nl : l->end;
    l->p = nl ? nl + 1 : l->end;
    if (e > s && e[-1] == '\r') e--;
    out->raw = st_slice(s, (size_t)(e - s));
    size_t i = 0;
    while (i < out->raw.n && is_space(s[i]))
        i++;
    out->indent = i;
    out->text = st_trim(out->raw);
    return 1;
}

an_slice_t st_slice(const char *p, size_t n)
{
    an_slice_t s = {p, n};
    return s;
}

an_slice_t st_trim(an_slice_t s)
{
    while (s.n && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

an_slice_t st_skip(an_slice_t s, size_t k)
{
    if (k > s.n) k = s.n;
    return st_slice(s.p + k, s.n - k);
}

int st_starts(an_slice_t s, const char *prefix)
{
    return an_starts(s.p, s.n, prefix);
}

int st_ends(an_slice_t s, const char *suffix)
{
    size_t m = strlen(suffix);
    return s.n >= m && memcmp(s.p + s.n - m, suffix, m) == 0;
}

int st_equals(an_slice_t s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

long st_find(an_slice_t s, const char *lit)
{
    size_t m = strlen(lit);
    for (size_t i = 0; m && i + m <= s.n; i++)
        if (s.p[i] == lit[0] && memcmp(s.p + i, lit, m) == 0) return (long)i;
    return -1;
}

long st_rfind(an_slice_t s, const char *lit)
{
    size_t m = strlen(lit);
    if (m == 0 || m > s.n) return -1;
    for (size_t i = s.n - m + 1; i-- > 0;)
        if (s.p[i] == lit[0] && memcmp(s.p + i, lit, m) == 0) return (long)i;
    return -1;
}

int st_number(an_slice_t s)
{
    if (s.n == 0 || s.n > 9) return 0;
    int v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') return 0;
        v = v * 10 + (s.p[i] - '0');
    }
    return v;
}

long st_open_paren_of_last(an_slice_t s)
{
    if (s.n == 0 || s.p[s.n - 1] != ')') return -1;
    int depth = 0;
    for (size_t i = s.n; i-- > 0;) {
        if (s.p[i] == ')')
            depth++;
        else if (s.p[i] == '(' && --depth == 0)
            return (long)i;
    }
    return -1;
}

static int type_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c == '.' || c == '+';
}

static int exception_like(an_slice_t t)
{
    if (memchr(t.p, '.', t.n)) return 1;
    return st_ends(t, "Exception") || st_ends(t, "Error") || st_ends(t, "Throwable") || st_ends(t, "Fault");
}

int st_header(an_slice_t s, int strict, an_slice_t *type, an_slice_t *message)
{
    s = st_trim(s);
    if (s.n == 0) return 0;
    char c0 = s.p[0];
    if (!((c0 >= 'A' && c0 <= 'Z') || (c0 >= 'a' && c0 <= 'z') || c0 == '_' || c0 == '$')) return 0;
    size_t i = 0;
    while (i < s.n && type_char(s.p[i]))
        i++;
    if (s.p[i - 1] == '.' || s.p[i - 1] == '+') return 0;
    for (size_t k = 1; k < i; k++)
        if (s.p[k] == '.' && s.p[k - 1] == '.') return 0;
    size_t tend = i;
    /* Node.js: "Error [ERR_HTTP_HEADERS_SENT]: ..." */
    if (i + 2 < s.n && s.p[i] == ' ' && s.p[i + 1] == '[') {
        const char *rb = memchr(s.p + i + 2, ']', s.n - i - 2);
        if (rb && (size_t)(rb - s.p) + 1 <= s.n) {
            size_t j = (size_t)(rb - s.p) + 1;
            if (j == s.n || s.p[j] == ':') i = tend = j;
        }
    }
    an_slice_t t = st_slice(s.p, tend);
    if (strict && !exception_like(t)) return 0;
    if (i == s.n) {
        *type = t;
        *message = st_slice(s.p + s.n, 0);
        return 1;
    }
    if (s.p[i] != ':' || (i + 1 < s.n && !is_space(s.p[i + 1]))) return 0;
    *type = t;
    *message = st_trim(st_skip(s, i + 1));
    return 1;
}

/* ---------------- builder ---------------- */

int st_add_exception(analysis_stacktrace_t *st, an_slice_t type, an_slice_t message)
{
    if (st->nchain >= ANALYSIS_ST_MAX_CHAIN) {
        st->chain_dropped++;
        return -1;
    }
    analysis_exception_t *e = &st->chain[st->nchain];
    e->type = type;
    e->message = message;
    e->first_frame = st->nframes;
    e->nframes = 0;
    e->omitted = 0;
    return st->nchain++;
}

void st_add_frame(analysis_stacktrace_t *st, int exc, an_slice_t function, an_slice_t file, int line)
{
    if (exc < 0 || exc >= st->nchain) return;
    analysis_exception_t *e = &st->chain[exc];
    int contiguous = e->nframes == 0 ? 1 : e->first_frame + e->nframes == st->nframes;
    if (!contiguous || e->nframes >= ANALYSIS_ST_MAX_FRAMES_PER_EXC ||
        st->nframes >= ANALYSIS_ST_MAX_FRAMES) {
        e->omitted++;
        return;
    }
    if (e->nframes == 0) e->first_frame = st->nframes;
    analysis_frame_t *f = &st->frames[st->nframes++];
    f->function = function;
    f->file = file;
    f->line = line;
    f->is_app = st_is_app(st->format, function, file);
    e->nframes++;
}

void st_reverse_chain(analysis_stacktrace_t *st)
{
    for (int i = 0, j = st->nchain - 1; i < j; i++, j--) {
        analysis_exception_t t = st->chain[i];
        st->chain[i] = st->chain[j];
        st->chain[j] = t;
    }
}

/* ---------------- detection ---------------- */

/* Votes of one line for each format (indexed by analysis_st_format_t). */
static void vote(const st_line_t *ln, int votes[6])
{
    an_slice_t t = ln->text;
    if (st_starts(t, "Traceback (most recent call last):")) votes[ANALYSIS_ST_PYTHON] += 10;
    if (st_starts(t, "File \"") && st_find(t, "\", line ") > 0) votes[ANALYSIS_ST_PYTHON] += 2;
    if (st_starts(t, "goroutine ") && st_find(t, " [") > 0 && st_ends(t, "]:")) votes[ANALYSIS_ST_GO] += 10;
    if (st_starts(t, "panic: ") || st_starts(t, "fatal error: ")) votes[ANALYSIS_ST_GO] += 3;
    if (ln->raw.n && ln->raw.p[0] == '\t' && st_find(t, ".go:") > 0) votes[ANALYSIS_ST_GO] += 2;
    if (st_find(t, " ---> ") >= 0 || st_starts(t, "---> ")) votes[ANALYSIS_ST_DOTNET] += 5;
    if (st_starts(t, "--- End of inner exception stack trace ---")) votes[ANALYSIS_ST_DOTNET] += 10;
    if (st_starts(t, "Caused by: ")) votes[ANALYSIS_ST_JVM] += 5;
    if (st_starts(t, "Exception in thread \"")) votes[ANALYSIS_ST_JVM] += 10;
    if (st_starts(t, "... ") && (st_ends(t, " more") || st_ends(t, " omitted"))) votes[ANALYSIS_ST_JVM] += 3;
    if (st_starts(t, "[cause]: ")) votes[ANALYSIS_ST_NODE] += 5;
    if (!st_starts(t, "at ")) return;
    an_slice_t rest = st_skip(t, 3);
    if (st_find(rest, ") in ") > 0 && st_find(rest, ":line ") > 0)
        votes[ANALYSIS_ST_DOTNET] += 3;
    else if (st_ends(rest, "()"))
        votes[ANALYSIS_ST_DOTNET] += 1;
    long op = st_find(rest, "(");
    long cp = st_rfind(rest, ")");
    if (op > 0 && cp > op && rest.p[op - 1] != ' ') {
        an_slice_t in = st_slice(rest.p + op + 1, (size_t)(cp - op - 1));
        if (st_find(in, ".java") > 0 || st_find(in, ".kt") > 0 || st_find(in, ".scala") > 0 ||
            st_equals(in, "Native Method") || st_starts(in, "Unknown Source"))
            votes[ANALYSIS_ST_JVM] += 3;
    }
    /* Node.js locations end in file:line:column, which no other format prints */
    an_slice_t loc = rest;
    if (op >= 0 && cp > op && rest.p[cp] == ')') loc = st_slice(rest.p + op + 1, (size_t)(cp - op - 1));
    long c2 = st_rfind(loc, ":");
    if (c2 > 0 && st_number(st_skip(loc, (size_t)c2 + 1)) > 0) {
        an_slice_t head = st_slice(loc.p, (size_t)c2);
        long c1 = st_rfind(head, ":");
        if (c1 > 0 && st_number(st_skip(head, (size_t)c1 + 1)) > 0) votes[ANALYSIS_ST_NODE] += 3;
    }
    if (st_find(rest, "(node:") >= 0 || st_find(rest, "node_modules") >= 0) votes[ANALYSIS_ST_NODE] += 3;
}

static analysis_st_format_t detect(const char *text, size_t len)
{
    int votes[6] = {0};
    st_lines_t l;
    st_line_t ln;
    st_lines_init(&l, text, len);
    while (st_lines_next(&l, &ln))
        vote(&ln, votes);
    analysis_st_format_t best = ANALYSIS_ST_NONE;
    /* ties go to the earlier format in the enum, so the answer never depends on anything else */
    for (int f = ANALYSIS_ST_PYTHON; f <= ANALYSIS_ST_DOTNET; f++)
        if (votes[f] > votes[best]) best = (analysis_st_format_t)f;
    return best;
}

/* ---------------- public ---------------- */

int analysis_stacktrace_parse(const char *text, size_t len, analysis_stacktrace_t *out)
{
    out->format = ANALYSIS_ST_NONE;
    out->nchain = 0;
    out->chain_dropped = 0;
    out->nframes = 0;
    if (text == NULL || len == 0) return -1;
    if (len > ANALYSIS_ST_MAX_INPUT) len = an_utf8_cut(text, len, ANALYSIS_ST_MAX_INPUT);
    analysis_st_format_t f = detect(text, len);
    out->format = f;
    switch (f) {
    case ANALYSIS_ST_PYTHON:
        st_parse_python(text, len, out);
        break;
    case ANALYSIS_ST_JVM:
        st_parse_jvm(text, len, out);
        break;
    case ANALYSIS_ST_GO:
        st_parse_go(text, len, out);
        break;
    case ANALYSIS_ST_NODE:
        st_parse_node(text, len, out);
        break;
    case ANALYSIS_ST_DOTNET:
        st_parse_dotnet(text, len, out);
        break;
    case ANALYSIS_ST_NONE:
        break;
    }
    if (out->nchain == 0) {
        out->format = ANALYSIS_ST_NONE;
        out->nframes = 0;
        return -1;
    }
    return 0;
}

const analysis_exception_t *analysis_stacktrace_root(const analysis_stacktrace_t *st)
{
    return st && st->nchain > 0 ? &st->chain[st->nchain - 1] : NULL;
}

const analysis_frame_t *analysis_stacktrace_app_frame(const analysis_stacktrace_t *st)
{
    if (st == NULL) return NULL;
    for (int c = st->nchain - 1; c >= 0; c--) {
        const analysis_exception_t *e = &st->chain[c];
        for (int i = 0; i < e->nframes; i++)
            if (st->frames[e->first_frame + i].is_app) return &st->frames[e->first_frame + i];
    }
    return NULL;
}

const char *analysis_stacktrace_format_name(analysis_st_format_t f)
{
    switch (f) {
    case ANALYSIS_ST_PYTHON:
        return "python";
    case ANALYSIS_ST_JVM:
        return "jvm";
    case ANALYSIS_ST_GO:
        return "go";
    case ANALYSIS_ST_NODE:
        return "node";
    case ANALYSIS_ST_DOTNET:
        return "dotnet";
    case ANALYSIS_ST_NONE:
        break;
    }
    return "none";
}
