/* Helpers shared by the ingest parsers (see ingest_json.h). */
#include "ingest_json.h"

#include <stdarg.h>
#include <stdio.h>

int ij_fail(ingest_err_t *err, int status, const char *path, const char *fmt, ...)
{
    err->status = status;
    snprintf(err->path, sizeof(err->path), "%s", path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    return -1;
}
