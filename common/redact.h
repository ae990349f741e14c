/* Redaction of secrets and personal data in free text, pure (no I/O, no state: any thread). The one
 * place that decides what is secret: every exit (LLM prompts, alert texts and payloads, stored reports,
 * later ingest with REDACT_AT_INGEST) calls it. Each secret is replaced by a typed marker
 * "[REDACTED:<kind>]":
 *
 *   card          13-19 digits (single spaces or dashes between groups), Luhn-valid, not inside a word
 *   email         local@domain.tld
 *   token         the token after "Bearer " (8 characters at least)
 *   jwt           eyJ<header>.<payload>.<signature>
 *   private_key   a whole PEM "-----BEGIN ... PRIVATE KEY-----" block (to the end of the text when the
 *                 END line is missing)
 *   password      the password of scheme://user:password@host (the user is kept)
 *   secret        the whole value of password=, secret=, token=, api_key=... pairs (also key: value and
 *                 JSON "key":"value"; a quoted value runs to its closing quote, escapes honoured)
 *   key           provider key shapes: sk-, sk_live_/sk_test_/rk_live_, AKIA/ASIA, ghp_/gho_/ghu_/ghs_/
 *                 ghr_, github_pat_, xoxa-/xoxb-/xoxp-/xoxr-/xoxs-/xapp-, AIza
 *   slack_webhook the path of a hooks.slack.com URL
 */
#ifndef PS_REDACT_H
#define PS_REDACT_H

#include "buf.h"

#include <jansson.h>
#include <stddef.h>

/* The output size redact_append() can need for `len` input bytes: a match of n bytes (at least 5)
 * gives at most 5n bytes of kept text and marker, so 5 * len + 64 always suffices. */
size_t redact_bound(size_t len);

/* Appends the `len` bytes at `in` (NUL bytes allowed) to `out` with every secret replaced. Returns 0,
 * or -1 when `out`'s cap would be exceeded: `out` then holds a partial text the caller must discard
 * (buf_reset), never send. */
int redact_append(buf_t *out, const char *in, size_t len);

/* A redacted copy of the NUL-terminated `in`; caller frees. Never NULL. */
char *redact_str(const char *in);

/* A deep copy of `v` (borrowed) with every string redacted. Object keys are kept; the value of a key
 * that names a secret (password, token, api_key...) is replaced whole by "[REDACTED:secret]" whatever
 * its type. Telemetry ids are kept: values of trace_id/span_id/parent_span_id that are 16 or 32
 * lowercase hex digits, and evidence citations "span:<16 hex>". New reference; never NULL. */
json_t *redact_json(const json_t *v);

/* Would redact_json() change the JSON value in `json` (n bytes)? 0 when it would keep it as it is (no
 * string holds a secret, no key naming a secret has a value other than null), 1 when it would change
 * something or the text cannot be read (the caller then takes redact_json()'s path). One pass of a
 * pull scanner, no tree: the cheap test before redact_json() on the common clean input. */
int redact_json_text_changes(const char *json, size_t n);

#endif
