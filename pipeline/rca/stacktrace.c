/* Line-based stack-trace recognisers (see stacktrace.h). */
#include "stacktrace.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t n;
} line_t;

#define MAX_LINES 2048

static size_t split_lines(const char *text, line_t *lines, size_t max)
{
    size_t n = 0;
    const char *p = text;
    while (*p && n < max) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t l = len;
        while (l && (p[l - 1] == '\r' || p[l - 1] == ' '))
            l--;
        lines[n].s = p;
        lines[n].n = l;
        n++;
        if (!e) break;
        p = e + 1;
    }
    return n;
}

static int starts(const line_t *l, const char *prefix)
{
    size_t k = strlen(prefix);
    return l->n >= k && memcmp(l->s, prefix, k) == 0;
}

static void copy(char *dst, const char *s, size_t n)
{
    if (n >= ST_TEXT) n = ST_TEXT - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static const char *skip_ws(const line_t *l, size_t *rest)
{
    size_t i = 0;
    while (i < l->n && (l->s[i] == ' ' || l->s[i] == '\t'))
        i++;
    *rest = l->n - i;
    return l->s + i;
}

/* "pkg.Type: message" or "pkg.Type" → type/message; the type must look like an identifier path. */
static int exception_header(const char *s, size_t n, char *type, char *msg)
{
    size_t i = 0;
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
    while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '$' ||
                     s[i] == '/' || s[i] == '`'))
        i++;
    if (i == 0) return 0;
    if (i < n && s[i] != ':') return 0;
    copy(type, s, i);
    if (i < n) {
        size_t m = i + 1;
        while (m < n && s[m] == ' ')
            m++;
        copy(msg, s + m, n - m);
    } else {
        msg[0] = '\0';
    }
    return 1;
}

/* Framework and standard-library frames are not where an application engineer looks first. */
static int framework_frame(st_format_t f, const char *function, const char *file)
{
    static const char *java[] = {"java.",          "javax.",
                                 "sun.",           "jdk.",
                                 "com.sun.",       "org.springframework.",
                                 "org.apache.",    "io.netty.",
                                 "kotlin.",        "kotlinx.",
                                 "scala.",         "org.hibernate.",
                                 "reactor.",       "org.postgresql.",
                                 "com.mysql.",     "com.zaxxer.",
                                 "io.grpc.",       "okhttp3.",
                                 "com.fasterxml.", "org.eclipse.jetty.",
                                 "io.undertow.",   "feign.",
                                 "retrofit2."};
    static const char *dotnet[] = {"System.", "Microsoft."};
    switch (f) {
    case ST_JAVA:
        for (size_t i = 0; i < sizeof(java) / sizeof(*java); i++)
            if (strncmp(function, java[i], strlen(java[i])) == 0 || strstr(function, "java.base/")) return 1;
        return 0;
    case ST_DOTNET:
        for (size_t i = 0; i < 2; i++)
            if (strncmp(function, dotnet[i], strlen(dotnet[i])) == 0) return 1;
        return 0;
    case ST_PYTHON:
        return strstr(file, "site-packages") || strstr(file, "/lib/python") || strstr(file, "<frozen");
    case ST_GO:
        return strncmp(function, "runtime.", 8) == 0 || strncmp(function, "net/http.", 9) == 0 ||
               strstr(file, "/go/src/") != NULL || strstr(file, "/usr/local/go/") != NULL;
    case ST_NODE:
        return strstr(file, "node:internal") || strstr(file, "node_modules") ||
               strncmp(file, "internal/", 9) == 0;
    default:
        return 0;
    }
}

static void add_frame(st_info_t *o, st_frame_t *frames, int *n, const char *fn, size_t fnl, const char *file,
                      size_t filel, int line)
{
    (void)o;
    if (*n >= 64) return;
    st_frame_t *f = &frames[(*n)++];
    copy(f->function, fn, fnl);
    copy(f->file, file, filel);
    f->line = line;
}

/* Frames are given innermost first; picks the app frame and the top frames. */
static void finish_frames(st_info_t *o, st_frame_t *frames, int n)
{
    o->ntop = 0;
    o->app_frame.function[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (o->ntop < ST_MAX_FRAMES) o->top[o->ntop++] = frames[i];
        if (o->app_frame.function[0] == '\0' &&
            !framework_frame(o->format, frames[i].function, frames[i].file))
            o->app_frame = frames[i];
    }
    if (o->app_frame.function[0] == '\0' && n > 0) o->app_frame = frames[0];
}

/* ---------------- Java and .NET ("at ..." frames) ---------------- */

static int java_frame(const line_t *l, st_frame_t *f)
{
    size_t rest;
    const char *s = skip_ws(l, &rest);
    if (rest < 4 || memcmp(s, "at ", 3) != 0) return 0;
    s += 3, rest -= 3;
    const char *paren = memchr(s, '(', rest);
    if (!paren) return 0;
    copy(f->function, s, (size_t)(paren - s));
    const char *close = memchr(paren, ')', rest - (size_t)(paren - s));
    if (!close) return 0;
    const char *colon = memchr(paren, ':', (size_t)(close - paren));
    copy(f->file, paren + 1, (size_t)((colon ? colon : close) - paren - 1));
    f->line = colon ? atoi(colon + 1) : 0;
    /* .NET: "at NS.C.M(args) in C:\x.cs:line 12" */
    const char *end = s + rest;
    const char *in = close + 1 < end ? memmem(close, (size_t)(end - close), " in ", 4) : NULL;
    if (in && in + 4 <= end) {
        const char *ln = memmem(in + 4, (size_t)(end - in - 4), ":line ", 6);
        copy(f->file, in + 4, ln ? (size_t)(ln - in - 4) : (size_t)(end - in - 4));
        f->line = ln ? atoi(ln + 6) : 0;
    }
    return 1;
}

static int parse_java_like(line_t *lines, size_t n, st_info_t *o)
{
    /* sections: header + frames, then "Caused by: header" + frames ...; the last section is the root
     * cause. A cause that lists no frames of its own ("... n more") keeps the previous section's. */
    st_frame_t cur[64], prev[64];
    int ncur = 0, nprev = 0, sections = 0, dotnet = 0;
    char type[ST_TEXT], msg[ST_TEXT];
    for (size_t i = 0; i < n; i++) {
        line_t *l = &lines[i];
        st_frame_t f;
        if (java_frame(l, &f)) {
            if (sections == 0) continue;
            if (memmem(l->s, l->n, ":line ", 6)) dotnet = 1;
            add_frame(o, cur, &ncur, f.function, strlen(f.function), f.file, strlen(f.file), f.line);
            continue;
        }
        size_t rest;
        const char *s = skip_ws(l, &rest);
        if (rest == 0 || (rest > 3 && memcmp(s, "...", 3) == 0) || starts(l, "--- End of")) continue;
        const char *h = s;
        size_t hn = rest;
        if (rest > 10 && memcmp(s, "Caused by:", 10) == 0) {
            h = s + 10;
            hn = rest - 10;
            while (hn && *h == ' ')
                h++, hn--;
        } else if (rest > 20 && memcmp(s, "Exception in thread ", 20) == 0) {
            const char *q = memchr(s + 21, '"', rest - 21);
            if (q && (size_t)(q + 2 - s) < rest) h = q + 2, hn = rest - (size_t)(q + 2 - s);
        }
        if (sections > 0 && h == s) continue; /* a continuation of a multi-line message */
        if (!exception_header(h, hn, type, msg)) continue;
        if (sections == 0) {
            snprintf(o->type, ST_TEXT, "%s", type);
            snprintf(o->message, ST_TEXT, "%s", msg);
        }
        snprintf(o->root_type, ST_TEXT, "%s", type);
        snprintf(o->root_message, ST_TEXT, "%s", msg);
        if (ncur > 0) {
            memcpy(prev, cur, sizeof(st_frame_t) * (size_t)ncur);
            nprev = ncur;
            ncur = 0;
        }
        sections++;
    }
    if (sections == 0) return -1;
    o->chain_length = sections;
    /* .NET puts the chain in the header line: "A: m ---> B: m2" */
    char *arrow = strstr(o->message, " ---> ");
    if (arrow) {
        dotnet = 1;
        const char *last = arrow;
        const char *next;
        while ((next = strstr(last + 6, " ---> ")) != NULL)
            last = next, o->chain_length++;
        o->chain_length++;
        char rt[ST_TEXT], rm[ST_TEXT];
        if (exception_header(last + 6, strlen(last + 6), rt, rm)) {
            snprintf(o->root_type, ST_TEXT, "%s", rt);
            snprintf(o->root_message, ST_TEXT, "%s", rm);
        }
        *arrow = '\0';
    }
    o->format = dotnet ? ST_DOTNET : ST_JAVA;
    if (ncur > 0)
        finish_frames(o, cur, ncur);
    else
        finish_frames(o, prev, nprev);
    return 0;
}

/* ---------------- Python ---------------- */

static int parse_python(line_t *lines, size_t n, st_info_t *o)
{
    /* Chained tracebacks print the root first; the last block is the outermost exception. */
    st_frame_t frames[64];
    int nframes = 0, blocks = 0, in_block = 0, root_done = 0;
    char type[ST_TEXT], msg[ST_TEXT];
    for (size_t i = 0; i < n; i++) {
        line_t *l = &lines[i];
        if (starts(l, "Traceback (most recent call last):")) {
            in_block = 1;
            blocks++;
            if (!root_done) nframes = 0;
            continue;
        }
        size_t rest;
        const char *s = skip_ws(l, &rest);
        if (in_block && rest > 6 && memcmp(s, "File \"", 6) == 0) {
            const char *q = memchr(s + 6, '"', rest - 6);
            if (!q) continue;
            const char *end = s + rest; /* search this line only */
            const char *ln = memmem(q, (size_t)(end - q), ", line ", 7);
            const char *in = memmem(q, (size_t)(end - q), ", in ", 5);
            if (!root_done)
                add_frame(o, frames, &nframes, in ? in + 5 : "", in ? (size_t)(end - in - 5) : 0, s + 6,
                          (size_t)(q - s - 6), ln ? atoi(ln + 7) : 0);
            continue;
        }
        if (in_block && l->n > 0 && l->s[0] != ' ' && exception_header(l->s, l->n, type, msg)) {
            in_block = 0;
            if (!root_done) {
                snprintf(o->root_type, ST_TEXT, "%s", type);
                snprintf(o->root_message, ST_TEXT, "%s", msg);
                root_done = 1;
            }
            snprintf(o->type, ST_TEXT, "%s", type);
            snprintf(o->message, ST_TEXT, "%s", msg);
        }
    }
    if (blocks == 0 || !root_done) return -1;
    o->format = ST_PYTHON;
    o->chain_length = blocks;
    /* Python lists frames outermost first: reverse to innermost first */
    for (int i = 0; i < nframes / 2; i++) {
        st_frame_t t = frames[i];
        frames[i] = frames[nframes - 1 - i];
        frames[nframes - 1 - i] = t;
    }
    finish_frames(o, frames, nframes);
    return 0;
}

/* ---------------- Go ---------------- */

static int parse_go(line_t *lines, size_t n, st_info_t *o)
{
    size_t start = n;
    for (size_t i = 0; i < n; i++)
        if (starts(&lines[i], "panic: ") || starts(&lines[i], "fatal error: ")) {
            start = i;
            break;
        }
    if (start == n) return -1;
    int has_goroutine = 0;
    for (size_t i = start; i < n; i++)
        if (starts(&lines[i], "goroutine ")) has_goroutine = 1;
    if (!has_goroutine) return -1;
    const line_t *h = &lines[start];
    const char *m = memchr(h->s, ':', h->n) + 2;
    size_t mn = h->n - (size_t)(m - h->s);
    o->format = ST_GO;
    snprintf(o->type, ST_TEXT, "%s", starts(h, "panic: runtime error") ? "runtime.Error" : "panic");
    copy(o->message, m, mn);
    /* a wrapped error "op: cause: root" keeps its innermost part as the root message */
    snprintf(o->root_type, ST_TEXT, "%s", o->type);
    const char *last = strrchr(o->message, ':');
    snprintf(o->root_message, ST_TEXT, "%s", last && last[1] == ' ' ? last + 2 : o->message);
    o->chain_length = 1;
    for (const char *c = o->message; (c = strstr(c, ": ")) != NULL; c += 2)
        o->chain_length++;
    st_frame_t frames[64];
    int nframes = 0;
    for (size_t i = start + 1; i + 1 < n; i++) {
        if (starts(&lines[i], "goroutine ") || lines[i].n == 0 || lines[i].s[0] == '\t' ||
            lines[i].s[0] == ' ')
            continue;
        const line_t *fn = &lines[i], *loc = &lines[i + 1];
        if (loc->n < 2 || loc->s[0] != '\t') continue;
        const char *paren = memrchr(fn->s, '(', fn->n); /* the argument list, after e.g. main.(*T).m */
        size_t fnl = paren ? (size_t)(paren - fn->s) : fn->n;
        const char *colon = memrchr(loc->s, ':', loc->n);
        if (!colon) continue;
        add_frame(o, frames, &nframes, fn->s, fnl, loc->s + 1, (size_t)(colon - loc->s - 1), atoi(colon + 1));
        i++;
    }
    finish_frames(o, frames, nframes);
    return 0;
}

/* ---------------- Node.js ---------------- */

static int parse_node(line_t *lines, size_t n, st_info_t *o)
{
    st_frame_t frames[64];
    int nframes = 0, header = -1;
    for (size_t i = 0; i < n; i++) {
        size_t rest;
        const char *s = skip_ws(&lines[i], &rest);
        if (rest > 3 && memcmp(s, "at ", 3) == 0 && header >= 0) {
            /* "at fn (/app/x.js:1:2)" or "at /app/x.js:1:2" */
            const char *open = memchr(s, '(', rest);
            size_t used = open ? (size_t)(open + 1 - s) : 3;
            if (used + 1 > rest) continue; /* nothing after "(" */
            const char *loc = s + used;
            size_t locn = rest - used - (open ? 1 : 0);
            const char *c2 = memrchr(loc, ':', locn);
            if (!c2) continue;
            const char *c1 = memrchr(loc, ':', (size_t)(c2 - loc));
            if (!c1) continue;
            size_t fnl = open && open > s + 4 ? (size_t)(open - s - 4) : 0;
            add_frame(o, frames, &nframes, open ? s + 3 : "", fnl, loc, (size_t)(c1 - loc), atoi(c1 + 1));
        } else if (header < 0 && exception_header(lines[i].s, lines[i].n, o->type, o->message)) {
            header = (int)i;
        }
    }
    if (header < 0 || nframes == 0) return -1;
    o->format = ST_NODE;
    snprintf(o->root_type, ST_TEXT, "%s", o->type);
    snprintf(o->root_message, ST_TEXT, "%s", o->message);
    o->chain_length = 1;
    finish_frames(o, frames, nframes);
    return 0;
}

int stacktrace_parse(const char *text, st_info_t *out)
{
    memset(out, 0, sizeof(*out));
    if (text == NULL || *text == '\0') return -1;
    line_t *lines = malloc(sizeof(line_t) * MAX_LINES);
    size_t n = split_lines(text, lines, MAX_LINES);
    int rc = -1, java_frames = 0, node_frames = 0;
    for (size_t i = 0; i < n; i++) {
        size_t rest;
        const char *s = skip_ws(&lines[i], &rest);
        if (rest > 3 && memcmp(s, "at ", 3) == 0) {
            const char *open = memchr(s, '(', rest);
            /* Node frames end in :line:col; JVM frames in (File.java:12) or (Unknown Source) */
            const char *end = s + rest;
            if (open && end[-1] == ')' &&
                (memmem(open, (size_t)(end - open), ".java:", 6) ||
                 memmem(open, (size_t)(end - open), "Source)", 7) ||
                 memmem(open, (size_t)(end - open), "Native Method", 13) || memmem(s, rest, ":line ", 6) ||
                 memmem(open, (size_t)(end - open), ".kt:", 4) ||
                 memmem(open, (size_t)(end - open), ".scala:", 7)))
                java_frames++;
            else if (memmem(s, rest, ":line ", 6) ||
                     (open && end[-1] == ')' && memchr(open, ':', (size_t)(end - open)) == NULL))
                java_frames++; /* .NET without file info */
            else
                node_frames++;
        }
    }
    out->format = ST_NONE;
    if (strstr(text, "Traceback (most recent call last):")) rc = parse_python(lines, n, out);
    if (rc != 0 && (strstr(text, "panic: ") || strstr(text, "fatal error: ")) && strstr(text, "goroutine "))
        rc = parse_go(lines, n, out);
    if (rc != 0 && java_frames >= node_frames && java_frames > 0) rc = parse_java_like(lines, n, out);
    if (rc != 0 && node_frames > 0) rc = parse_node(lines, n, out);
    if (rc != 0 && java_frames > 0) rc = parse_java_like(lines, n, out);
    free(lines);
    if (rc != 0) memset(out, 0, sizeof(*out));
    return rc;
}

const char *stacktrace_format_name(st_format_t f)
{
    static const char *names[] = {"none", "python", "java", "go", "node", "dotnet"};
    return names[f];
}
