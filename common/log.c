/* JSON-lines logger (see log.h). One fprintf per line keeps lines whole across threads. */
#include "log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Written once by log_setup() before threads start, read-only afterwards. */
static struct {
    char program[64];
    log_level_t min_level;
} settings = {"prodsentinel", LOG_INFO};

static const char *level_names[] = {"debug", "info", "warn", "error", "fatal"};

void log_setup(const char *program, log_level_t min_level)
{
    snprintf(settings.program, sizeof(settings.program), "%s", program);
    settings.min_level = min_level;
}

int log_level_parse(const char *s, log_level_t *out)
{
    for (int i = 0; i <= LOG_ERROR; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return -1;
}

int log_enabled(log_level_t level)
{
    return level >= settings.min_level;
}

void log_write(log_level_t level, const char *request_id, const char *trace_id, const char *fmt, ...)
{
    if (!log_enabled(level)) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[80];
    snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    json_t *o = json_object();
    json_object_set_new(o, "ts", json_string(when));
    json_object_set_new(o, "level", json_string(level_names[level]));
    json_object_set_new(o, "program", json_string(settings.program));
    json_t *m = json_string(msg);
    json_object_set_new(o, "msg", m ? m : json_string("(message was not valid UTF-8)"));
    if (request_id) json_object_set_new(o, "request_id", json_string(request_id));
    if (trace_id) json_object_set_new(o, "trace_id", json_string(trace_id));
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line) {
        fprintf(stderr, "%s\n", line);
        free(line);
    }
    json_decref(o);
}
