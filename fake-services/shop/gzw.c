/* Gzip'd CSV writer (see gzw.h). */
#include "gzw.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int gzw_mkdirs(const char *path)
{
    char p[4096];
    if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p)) return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "fake-shop: cannot create %s: %s\n", p, strerror(errno));
            return -1;
        }
        *s = '/';
    }
    return 0;
}

int gzw_open(gzw_t *w, const char *path)
{
    memset(w, 0, sizeof(*w));
    if (snprintf(w->path, sizeof(w->path), "%s", path) >= (int)sizeof(w->path) || gzw_mkdirs(path)) {
        fprintf(stderr, "fake-shop: cannot create the folders of %s\n", path);
        return -1;
    }
    /* no name or time in the gzip header: the same input gives the same bytes */
    w->gz = gzopen(path, "wb3");
    if (w->gz == NULL) {
        fprintf(stderr, "fake-shop: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    gzbuffer(w->gz, 1 << 17);
    return 0;
}

void gzw_printf(gzw_t *w, const char *fmt, ...)
{
    if (w->gz == NULL || w->failed) return;
    char line[GZW_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof(line)) {
        fprintf(stderr, "fake-shop: a row of %s is longer than %d bytes\n", w->path, GZW_LINE_MAX);
        w->failed = 1;
        return;
    }
    if (gzwrite(w->gz, line, (unsigned)n) != n) w->failed = 1;
}

int gzw_close(gzw_t *w)
{
    if (w->gz == NULL) return w->failed ? -1 : 0;
    int rc = gzclose(w->gz) == Z_OK && !w->failed ? 0 : -1;
    if (rc) fprintf(stderr, "fake-shop: writing %s failed\n", w->path);
    w->gz = NULL;
    return rc;
}
