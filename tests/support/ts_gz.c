/* Gzipped fixture files (ts_gz.h). */
#include "ts_gz.h"

#include <check.h>
#include <stdarg.h>

FILE *ts_gz_create(const char *fmt, ...)
{
    char path[512], cmd[1200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    ck_assert_msg(n > 0 && (size_t)n < sizeof(path), "fixture path too long");
    /* the path comes from the test itself (a mkdtemp folder and fixed names), never from input */
    ck_assert_int_lt(snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\" && gzip -c > '%s'", path, path),
                     (int)sizeof(cmd));
    FILE *f = popen(cmd, "w");
    ck_assert_ptr_nonnull(f);
    return f;
}

void ts_gz_close(FILE *f)
{
    ck_assert_int_eq(pclose(f), 0);
}
