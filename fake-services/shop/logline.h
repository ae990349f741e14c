/* One log row in Nezha's layout: Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log where
 * Log is a Docker JSON line {"log":"HH:MM:SS.mmm LEVEL  logger#line message\n","stream":"stdout",...}.
 * A message may hold a stack on the following lines ("\n\tat ..."): it stays inside the one log text. */
#ifndef PS_SHOP_LOGLINE_H
#define PS_SHOP_LOGLINE_H

#include "gzw.h"
#include "topo.h"

#include <stdint.h>

typedef enum { LOG_INFO, LOG_WARN, LOG_ERROR } logline_level_t;

#define LOGLINE_HEADER "Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log\n"

/* Writes one row for service s; `line` is the logger's line number. Never fails by itself: a row too
 * long marks the writer failed (see gzw.h). */
void logline_write(gzw_t *w, const topo_service_t *s, const char *trace_id, const char *span_id,
                   int64_t ts_ns, logline_level_t level, int line, const char *msg);
/* "2026-01-01T01:02:03.123456789Z" into out (at least 32 bytes). */
void logline_rfc3339(char *out, size_t cap, int64_t ts_ns);

#endif
