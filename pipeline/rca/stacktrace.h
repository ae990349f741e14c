/* Stack traces in the common formats, pure: Python (Traceback ... / chained "During handling" and
 * "direct cause"), Java/JVM ("at pkg.Class.method(File.java:12)", "Caused by:"), Go panics
 * ("panic:", "goroutine N [running]:", file:line frames), Node.js ("    at fn (/app/x.js:1:2)") and
 * .NET ("---> Inner", "   at NS.Class.Method() in x.cs:line 12"). Gives the exception type and
 * message, the innermost application frame (framework and standard-library frames skipped) and the
 * root of the cause chain. */
#ifndef PS_RCA_STACKTRACE_H
#define PS_RCA_STACKTRACE_H

#include <stddef.h>

typedef enum { ST_NONE = 0, ST_PYTHON, ST_JAVA, ST_GO, ST_NODE, ST_DOTNET } st_format_t;

#define ST_TEXT 256
#define ST_MAX_FRAMES 8

typedef struct {
    char function[ST_TEXT];
    char file[ST_TEXT];
    int line;
} st_frame_t;

typedef struct {
    st_format_t format;
    char type[ST_TEXT]; /* outermost exception type as reported */
    char message[ST_TEXT];
    char root_type[ST_TEXT]; /* the root of the cause chain (== type when there is no chain) */
    char root_message[ST_TEXT];
    st_frame_t app_frame;          /* innermost application frame of the root cause; function "" if none */
    st_frame_t top[ST_MAX_FRAMES]; /* top frames of the root cause, innermost first, for fingerprints */
    int ntop;
    int chain_length; /* 1 + number of causes */
} st_info_t;

/* Parses `text` (NUL-terminated). Returns 0 with `out` filled, -1 when no known format is found. */
int stacktrace_parse(const char *text, st_info_t *out);
const char *stacktrace_format_name(st_format_t f);

#endif
