/* Stack-trace parsing, pure and allocation-free: recognises Python tracebacks (chained with "During
 * handling of the above exception" / "The above exception was the direct cause"), JVM traces
 * ("Exception in thread", "\tat pkg.Class.method(File.java:12)", "Caused by:", "... n more",
 * "Suppressed:"), Go panics ("panic:", "goroutine 1 [running]:", "\t/path/file.go:12 +0x1d"),
 * Node.js errors ("    at fn (/app/x.js:1:2)", "[cause]:") and .NET exceptions ("---> Inner: msg",
 * "   at NS.Class.Method() in C:\x.cs:line 12", "--- End of inner exception stack trace ---").
 *
 * The result is the exception chain, outermost first and root cause last, with each exception's
 * frames innermost first, and whether each frame belongs to the application (not framework, standard
 * library or runtime code). Text before or after the trace (a log line's prefix) is skipped.
 *
 * Every string of the result is a slice borrowed from the parsed text: the text must outlive it. */
#ifndef PS_ANALYSIS_STACKTRACE_H
#define PS_ANALYSIS_STACKTRACE_H

#include "strutil.h"

#include <stddef.h>

typedef enum {
    ANALYSIS_ST_NONE = 0,
    ANALYSIS_ST_PYTHON,
    ANALYSIS_ST_JVM,
    ANALYSIS_ST_GO,
    ANALYSIS_ST_NODE,
    ANALYSIS_ST_DOTNET
} analysis_st_format_t;

/* Bounds: input past ANALYSIS_ST_MAX_INPUT bytes is not read; exceptions past the chain cap and
 * frames past the caps are counted, not kept. */
#define ANALYSIS_ST_MAX_INPUT (256 * 1024)
#define ANALYSIS_ST_MAX_CHAIN 8
#define ANALYSIS_ST_MAX_FRAMES 128
#define ANALYSIS_ST_MAX_FRAMES_PER_EXC 32

typedef struct {
    an_slice_t function; /* as printed, without arguments: "com.acme.Repo.save", "main.(*S).run" */
    an_slice_t file;     /* "Repo.java", "/app/x.py", "C:\src\x.cs"; empty when not printed */
    int line;            /* 0 when not printed */
    int is_app;          /* 1: application code; 0: framework, standard library or runtime */
} analysis_frame_t;

typedef struct {
    an_slice_t type;    /* "java.net.SocketTimeoutException", "ValueError", "runtime.Error" */
    an_slice_t message; /* first line of the message; may be empty */
    int first_frame;    /* index into analysis_stacktrace_t.frames */
    int nframes;        /* frames kept, innermost first */
    int omitted;        /* frames printed as "... n more" or past the caps */
} analysis_exception_t;

typedef struct {
    analysis_st_format_t format;
    int nchain; /* 1.. when parsed */
    /* chain[0] is the outermost exception (the one reported, e.g. the first line of a JVM trace or
     * the last exception of a Python chain); chain[nchain-1] is the root cause (deepest "Caused by",
     * innermost "--->", the original exception of a Python chain). */
    analysis_exception_t chain[ANALYSIS_ST_MAX_CHAIN];
    int chain_dropped; /* exceptions past ANALYSIS_ST_MAX_CHAIN */
    int nframes;
    analysis_frame_t frames[ANALYSIS_ST_MAX_FRAMES];
} analysis_stacktrace_t;

/* Parses text[0..len). Returns 0 with `out` filled when a trace in one of the formats was found
 * (nchain >= 1), else -1 (out->format is then ANALYSIS_ST_NONE). Any bytes are accepted. */
int analysis_stacktrace_parse(const char *text, size_t len, analysis_stacktrace_t *out);

/* The root cause: chain[nchain-1]; NULL when nothing was parsed. */
const analysis_exception_t *analysis_stacktrace_root(const analysis_stacktrace_t *st);

/* The innermost application frame of the root cause. When the root cause has none of its own (its
 * frames were "... n more" or all library code), the enclosing exceptions are searched from the
 * root outwards. NULL when the trace has no application frame. */
const analysis_frame_t *analysis_stacktrace_app_frame(const analysis_stacktrace_t *st);

/* "python", "jvm", "go", "node", "dotnet" or "none". */
const char *analysis_stacktrace_format_name(analysis_st_format_t f);

#endif
