/* Timestamps as ingest accepts them: RFC 3339 with any offset (or Z) and a fraction of up to 9
 * digits, or integer epoch nanoseconds. Pure functions; any thread. */
#ifndef PS_RFC3339_H
#define PS_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* Accepted range: [2000-01-01, 2100-01-01) UTC; anything else is almost certainly a unit mistake. */
#define RFC3339_MIN_NS 946684800000000000LL
#define RFC3339_MAX_NS 4102444800000000000LL

/* Parses `s` (n bytes, no NUL needed) into epoch nanoseconds. Returns 0, or -1 with a reason. */
int rfc3339_parse(const char *s, size_t n, int64_t *ns, const char **why);
/* A decimal string of epoch nanoseconds (as OTLP sends 64-bit integers). Returns 0 or -1. */
int epoch_ns_parse(const char *s, size_t n, int64_t *ns, const char **why);
/* Formats ns as "YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ" into out (at least 31 bytes). */
void rfc3339_format(int64_t ns, char *out, size_t outlen);

#endif
