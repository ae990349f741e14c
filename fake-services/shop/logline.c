/* Nezha-shaped log rows (see logline.h). */
#include "logline.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void logline_rfc3339(char *out, size_t cap, int64_t ts_ns)
{
    time_t sec = (time_t)(ts_ns / 1000000000LL);
    struct tm tm;
    gmtime_r(&sec, &tm);
    int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)(ts_ns % 1000000000LL));
    if (n < 0 || (size_t)n >= cap) out[0] = '\0'; /* a year past 9999 does not fit: no half a time */
}

/* JSON string escaping, then CSV quoting (each " doubled): the result goes between "..." in the row. */
static int escape(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        char rep[4] = {*p, '\0', '\0', '\0'};
        size_t k = 1;
        switch (*p) {
        case '\n':
            rep[0] = '\\', rep[1] = 'n', k = 2;
            break;
        case '\t':
            rep[0] = '\\', rep[1] = 't', k = 2;
            break;
        case '\\':
            rep[0] = '\\', rep[1] = '\\', k = 2;
            break;
        case '"':
            rep[0] = '\\', rep[1] = '"', rep[2] = '"', k = 3;
            break; /* \" in JSON, its quote doubled */
        default:
            break;
        }
        if (n + k + 1 > cap) return -1;
        memcpy(out + n, rep, k);
        n += k;
    }
    out[n] = '\0';
    return 0;
}

void logline_write(gzw_t *w, const topo_service_t *s, const char *trace_id, const char *span_id,
                   int64_t ts_ns, logline_level_t level, int line, const char *msg)
{
    static const char *const levels[] = {"INFO  ", "WARN  ", "ERROR "};
    char stamp[40], text[4096], esc[8192];
    logline_rfc3339(stamp, sizeof(stamp), ts_ns);
    int n = snprintf(text, sizeof(text), "%.12s %s%s#%d %s\n", stamp + 11, levels[level], s->pkg, line, msg);
    if (n < 0 || n >= (int)sizeof(text) || escape(esc, sizeof(esc), text)) {
        w->failed = 1;
        fprintf(stderr, "fake-shop: a log message of %s is too long\n", s->name);
        return;
    }
    gzw_printf(w,
               "%s,%lld,%s,%s,%s,%s,%s,\"{\"\"log\"\":\"\"%s\"\",\"\"stream\"\":\"\"stdout\"\",\"\"time\"\":"
               "\"\"%s\"\"}\"\n",
               stamp, (long long)ts_ns, s->node, s->pod, s->name, trace_id, span_id, esc, stamp);
}
