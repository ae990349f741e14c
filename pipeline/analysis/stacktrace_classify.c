/* Which frames are application code: framework, standard-library and runtime frames are named by
 * each ecosystem's conventions (package prefixes for the JVM and .NET, install paths for Python and
 * Node.js, the standard packages and the module cache for Go). Everything else is the application. */
#include "stacktrace_int.h"

#include <string.h>

static int starts_any(an_slice_t s, const char *const *prefixes)
{
    for (; *prefixes; prefixes++)
        if (st_starts(s, *prefixes)) return 1;
    return 0;
}

static int contains_any(an_slice_t s, const char *const *needles)
{
    for (; *needles; needles++)
        if (st_find(s, *needles) >= 0) return 1;
    return 0;
}

static const char *const jvm_library[] = {"java.",
                                          "javax.",
                                          "jakarta.",
                                          "sun.",
                                          "com.sun.",
                                          "jdk.",
                                          "kotlin.",
                                          "kotlinx.",
                                          "scala.",
                                          "org.springframework.",
                                          "org.apache.",
                                          "org.eclipse.jetty.",
                                          "io.netty.",
                                          "org.hibernate.",
                                          "com.zaxxer.",
                                          "org.postgresql.",
                                          "com.mysql.",
                                          "reactor.",
                                          "io.grpc.",
                                          "okhttp3.",
                                          "feign.",
                                          "com.fasterxml.",
                                          "org.junit.",
                                          "io.micrometer.",
                                          "io.opentelemetry.",
                                          "groovy.",
                                          "org.codehaus.groovy.",
                                          NULL};

static const char *const python_library[] = {"/site-packages/", "/dist-packages/", "/lib/python", "\\lib\\",
                                             "\\Lib\\",         "<frozen ",        NULL};

static const char *const node_library[] = {"node_modules", NULL};
static const char *const node_library_prefix[] = {"node:",       "internal/", "native",
                                                  "<anonymous>", "index ",    NULL};

static const char *const dotnet_library[] = {"System.", "Microsoft.", "Npgsql.", "Newtonsoft.",
                                             "Grpc.",   "Polly.",     "Dapper.", NULL};

/* Go standard-library packages (the first element of the import path). */
static const char *const go_std[] = {
    "runtime", "net",       "syscall", "reflect", "sync",     "internal", "os",    "io",
    "fmt",     "database",  "context", "crypto",  "encoding", "time",     "log",   "testing",
    "bufio",   "bytes",     "strings", "strconv", "errors",   "sort",     "math",  "compress",
    "mime",    "html",      "text",    "regexp",  "unicode",  "path",     "panic", "vendor",
    "embed",   "expvar",    "flag",    "hash",    "slices",   "maps",     "iter",  "plugin",
    "archive", "container", "debug",   "image",   "index",    NULL};

static int go_is_app(an_slice_t fn, an_slice_t file)
{
    static const char *const go_paths[] = {
        "/pkg/mod/", "/vendor/", "/usr/local/go/src/", "/usr/lib/go", "/go/src/runtime/", "$GOROOT", NULL};
    if (contains_any(file, go_paths)) return 0;
    /* first element of the import path: up to the first '/' or, without one, the first '.' */
    size_t end = 0;
    while (end < fn.n && fn.p[end] != '/' && fn.p[end] != '.' && fn.p[end] != '(')
        end++;
    int has_slash = end < fn.n && fn.p[end] == '/';
    an_slice_t first = st_slice(fn.p, end);
    if (has_slash) {
        /* "github.com/acme/x.F": a module path (with a dot) is application code unless it came from
         * the module cache (checked above) */
        for (size_t i = 0; i < end; i++)
            if (fn.p[i] == '.') return 1;
    }
    for (const char *const *p = go_std; *p; p++)
        if (st_equals(first, *p)) return 0;
    return 1;
}

int st_is_app(analysis_st_format_t f, an_slice_t function, an_slice_t file)
{
    switch (f) {
    case ANALYSIS_ST_JVM:
        return !starts_any(function, jvm_library);
    case ANALYSIS_ST_PYTHON:
        return !contains_any(file, python_library);
    case ANALYSIS_ST_GO:
        return go_is_app(function, file);
    case ANALYSIS_ST_NODE:
        if (file.n == 0) return 0;
        return !contains_any(file, node_library) && !starts_any(file, node_library_prefix);
    case ANALYSIS_ST_DOTNET:
        return !starts_any(function, dotnet_library);
    case ANALYSIS_ST_NONE:
        break;
    }
    return 1;
}
