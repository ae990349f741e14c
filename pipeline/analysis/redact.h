/* Redaction of secrets and personal data, pure. Applied to every string before it leaves for the LLM.
 * Replaced with "[REDACTED:<kind>]":
 *   card           13-19 digits, optionally grouped by single spaces or dashes, passing the Luhn check
 *   email          local@domain.tld
 *   authorization  the whole value after "Authorization:" / "authorization=" (scheme included)
 *   token          the credential after "Bearer ", and values of keys ending in "token"
 *   password       values of keys ending in password / passwd / pwd
 *   secret         values of keys ending in secret / access_key / private_key
 *   api_key        values of keys ending in api_key / apikey / api-key; sk-... and AIza... keys
 *   aws_key        AKIA.../ASIA... access key ids
 *   jwt            eyJ...eyJ... tokens
 *   private_key    PEM "-----BEGIN ... PRIVATE KEY-----" blocks
 * A key=value pair matches with '=' or ':' and optional quotes and spaces, as in query strings,
 * headers, logfmt and JSON text. The key itself is kept. */
#ifndef PS_ANALYSIS_REDACT_H
#define PS_ANALYSIS_REDACT_H

#include <jansson.h>
#include <stddef.h>

/* A redacted copy of s[0..n): malloc'd and NUL-terminated; the caller frees it. Never NULL. When
 * `count` is not NULL it receives the number of replacements. */
char *analysis_redact(const char *s, size_t n, size_t *count);

/* A deep copy of v with every string redacted, except the values of id keys ("id", "span_id",
 * "trace_id", "parent_span_id", "fingerprint", "source", "swallowed_by", and the arrays "roots" and
 * "critical_path") that are shaped like ids. New reference; never NULL for a non-NULL v. */
json_t *analysis_redact_json(const json_t *v);

#endif
