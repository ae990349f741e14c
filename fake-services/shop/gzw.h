/* Gzip'd CSV output: a file opened with its parent folders created, rows formatted into a bounded line
 * buffer (a row that does not fit is an error, never a truncated row), and an error flag that sticks so
 * the caller checks once at close. */
#ifndef PS_SHOP_GZW_H
#define PS_SHOP_GZW_H

#include <zlib.h>

#define GZW_LINE_MAX 16384

typedef struct {
    gzFile gz;
    int failed;
    char path[4096];
} gzw_t;

/* Creates the folders of `path` and opens it for writing (gzip level 3: twice as fast as 6 for 15% more
 * bytes). -1 on failure (message on stderr). */
int gzw_open(gzw_t *w, const char *path);
/* Appends one formatted row; on failure (too long, write error) marks the writer failed. */
void gzw_printf(gzw_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Closes; -1 when any write failed (message on stderr). Safe on a writer that never opened. */
int gzw_close(gzw_t *w);
/* mkdir -p of the folders of `path` (not its last part). */
int gzw_mkdirs(const char *path);

#endif
