/* Structured logging: one JSON object per line on stderr with ts, level, program, msg and, where
 * known, request_id and trace_id. log_setup() is called once by main before any thread starts;
 * after that the logger's settings are read-only, so every thread may log. */
#ifndef PS_LOG_H
#define PS_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL } log_level_t;

void log_setup(const char *program, log_level_t min_level);
/* Parses "debug", "info", "warn", "error"; returns -1 on anything else. */
int log_level_parse(const char *s, log_level_t *out);
int log_enabled(log_level_t level);

/* request_id and trace_id may be NULL. */
void log_write(log_level_t level, const char *request_id, const char *trace_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(...) log_write(LOG_DEBUG, NULL, NULL, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, NULL, NULL, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, NULL, NULL, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, NULL, NULL, __VA_ARGS__)

#endif
