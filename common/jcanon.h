/* Canonical JSON: the one text of a JSON value that the record layer stores and hashes, so the same
 * attributes sent in any key order, spacing or escaping (or built from OTLP's AnyValue) are the same
 * bytes. Object keys sorted bytewise at every level (a repeated key: the last one wins, as in jsonb),
 * no whitespace, strings with minimal escapes (jwrite.h), integers as digits, other numbers in their
 * shortest exact form. Pure; any thread. */
#ifndef PS_JCANON_H
#define PS_JCANON_H

#include "buf.h"

#include <stddef.h>

/* Appends the canonical text of the JSON value in `json` (n bytes) to `out`. Returns 0; -1 when the
 * input is malformed or has containers nested deeper than max_depth (`why` says which); -2 when `out`'s cap
 * would be exceeded. On failure `out` is as it was. */
int jcanon(const char *json, size_t n, int max_depth, buf_t *out, const char **why);

#endif
