/* The fake LLM's answers, pure (no I/O), FOR TESTS ONLY: which misbehaviour a request asks for, where
 * its evidence is, and the deterministic report it answers, shaped by the request's JSON schema when
 * there is one. The same request always gives the same report. */
#ifndef PS_FAKE_LLM_ANSWER_H
#define PS_FAKE_LLM_ANSWER_H

#include <jansson.h>
#include <stddef.h>

typedef enum {
    FAKE_NORMAL,
    FAKE_SLOW,           /* the normal answer, late */
    FAKE_RATE_LIMIT,     /* 429 with Retry-After: 1 */
    FAKE_ERROR,          /* 500 */
    FAKE_INVALID_JSON,   /* 200 whose content is not JSON */
    FAKE_INVENTED,       /* a report naming a service that is not in the evidence */
    FAKE_INJECTION_ECHO, /* echoes instruction-like evidence text, adds fields and a tool call */
    FAKE_HOSTILE,        /* the right root cause, with links, mentions, markup, an oversized impact
                            and a confidence of 1 in its free text (untrusted-output tests) */
    FAKE_MODE_COUNT
} fake_mode_t;

const char *answer_mode_name(fake_mode_t mode);
/* The mode named by the `n` bytes at s, or -1. */
int answer_mode_parse(const char *s, size_t n);

typedef struct {
    char *prompt;     /* every message's text, joined; owned */
    char *last_user;  /* the last user message's text; owned; "" when there is none */
    json_t *evidence; /* owned; NULL when none was found */
    json_t *schema;   /* response_format's JSON schema (new reference), or NULL */
    int marker_mode;  /* mode of a FAKE_MODE=<mode> marker in the prompt, or -1 */
} chat_request_t;

/* Reads a chat-completions request body. Returns 0, or -1 with the reason in err (not an object, no
 * messages array...). Dispose with answer_request_dispose(). */
int answer_parse_request(json_t *body, chat_request_t *out, char *err, size_t errlen);
void answer_request_dispose(chat_request_t *r);
/* The evidence object in `text`: the JSON between <evidence> and </evidence>, else the first {...}
 * object that parses. New reference, or NULL. */
json_t *answer_find_evidence(const char *text);
/* The report as JSON text (caller frees) for FAKE_NORMAL, FAKE_SLOW, FAKE_INVENTED,
 * FAKE_INJECTION_ECHO or FAKE_HOSTILE. */
char *answer_report(const chat_request_t *r, fake_mode_t mode);
/* Rough token count of text (4 bytes a token, at least 1). */
int answer_tokens(const char *text);

#endif
