/* Gzipped fixture files (datasets in the layout of datasets/nezha-train-ticket): written through gzip(1),
 * their folders created. */
#ifndef PS_TS_GZ_H
#define PS_TS_GZ_H

#include <stdio.h>

/* A stream whose bytes land gzipped in the file the printf-style path names (its folders created);
 * fails the test when gzip cannot be started. Close with ts_gz_close(). */
FILE *ts_gz_create(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Closes the stream; fails the test unless gzip wrote the file. */
void ts_gz_close(FILE *f);

#endif
