/* libFuzzer target: REDACT_AT_INGEST through the record layer. The input gives filler text and one
 * planted secret (a Luhn-valid card, a bearer token, a password= pair or an AKIA key, each random within
 * its shape, on its own line); the filler and the secret go into every text a log and a span carry
 * (message, stack trace, attributes nested in objects and arrays, span name, status message, event
 * attributes) of our JSON, and the batch is parsed with redaction on. The property: the secret's core
 * is in no COPY row (unless the filler itself holds it). */
#include "ingest_json.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILLER 480 /* two fillers and the secret stay under a span name's 1024 bytes */
#define T0 1795357925000000000LL

typedef struct {
    const uint8_t *d;
    size_t n, i;
} input_t;

static unsigned next(input_t *in)
{
    return in->i < in->n ? in->d[in->i++] : 0;
}

static void random_chars(input_t *in, char *out, size_t n, const char *alphabet)
{
    size_t k = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[next(in) % k];
    out[n] = '\0';
}

/* The planted text (`line`) and the part that must not survive (`core`). */
static void plant(input_t *in, char *line, size_t cap, char *core, size_t ccap)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static const char upper_digit[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    switch (next(in) % 4) {
    case 0: { /* a 16-digit card, Luhn-valid, in groups of 4 */
        char d[17];
        d[0] = '4';
        for (int i = 1; i < 15; i++)
            d[i] = (char)('0' + next(in) % 10);
        int sum = 0;
        for (int i = 0; i < 15; i++) {
            int v = d[14 - i] - '0';
            if (i % 2 == 0) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
            sum += v;
        }
        d[15] = (char)('0' + (10 - sum % 10) % 10);
        d[16] = '\0';
        snprintf(core, ccap, "%.4s %.4s %.4s %.4s", d, d + 4, d + 8, d + 12);
        snprintf(line, cap, "card %s", core);
        return;
    }
    case 1:
        random_chars(in, core, 8 + next(in) % 32, alnum);
        snprintf(line, cap, "Authorization: Bearer %s", core);
        return;
    case 2:
        random_chars(in, core, 6 + next(in) % 24, alnum);
        snprintf(line, cap, "login password=%s", core);
        return;
    default: {
        char tail[17];
        random_chars(in, tail, 16, upper_digit);
        snprintf(core, ccap, "AKIA%s", tail);
        snprintf(line, cap, "aws key %s", core);
        return;
    }
    }
}

/* Filler from the input: printable ASCII, quotes, backslashes, tabs (jansson escapes them). */
static void filler(input_t *in, char *out, size_t max)
{
    size_t n = next(in) % max;
    for (size_t i = 0; i < n; i++) {
        unsigned c = next(in);
        out[i] = (char)(c % 97 < 95 ? ' ' + c % 97 : c % 2 ? '\t' : '\\');
    }
    out[n] = '\0';
}

static int parse(ingest_kind_t kind, json_t *body, buf_t *copy)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) return -1;
    ingest_limits_t limits = ingest_limits_default(100, 1 << 22);
    limits.redact = 1;
    ingest_batch_t b;
    ingest_err_t e;
    int rc = ingest_json_native_limited(kind, text, strlen(text), &limits, &b, &e);
    free(text);
    if (rc != 0) return -1;
    if (b.copy.data && buf_append(copy, b.copy.data, b.copy.len) != 0) rc = -1;
    ingest_batch_dispose(&b);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_t in = {data, size, 0};
    static char before[MAX_FILLER], after[MAX_FILLER], text[2 * MAX_FILLER + 256];
    char line[160], core[96];
    plant(&in, line, sizeof(line), core, sizeof(core));
    filler(&in, before, sizeof(before));
    filler(&in, after, sizeof(after));
    if (strstr(before, core) || strstr(after, core)) return 0; /* the filler holds it: not a planted one */
    snprintf(text, sizeof(text), "%s\n%s\n%s", before, line, after);
    json_t *logs = json_pack("{s:[{s:I,s:s,s:s,s:s,s:s,s:{s:s,s:{s:[s]}}}]}", "logs", "timestamp",
                             (json_int_t)T0, "service", "s", "level", "ERROR", "message", text, "stack_trace",
                             text, "attributes", "note", text, "nested", "list", text);
    json_t *spans =
        json_pack("{s:[{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:{s:s},s:[{s:s,s:I,s:{s:s}}]}]}", "spans",
                  "trace_id", "5b8efff798038103d269b633813fc60c", "span_id", "00000000000000a1", "service",
                  "s", "name", text, "start_time", (json_int_t)T0, "end_time", (json_int_t)T0, "status",
                  "ERROR", "status_message", text, "attributes", "url", text, "events", "name", "exception",
                  "time", (json_int_t)T0, "attributes", "exception.message", text);
    buf_t copy;
    buf_init(&copy, 1 << 24);
    if (logs == NULL || spans == NULL) abort(); /* the text is ASCII: always packable */
    int rc = parse(INGEST_LOGS, logs, &copy) | parse(INGEST_SPANS, spans, &copy);
    if (rc != 0) abort(); /* a valid record refused: the generator or the record layer is wrong */
    if (copy.data && memmem(copy.data, copy.len, core, strlen(core)) != NULL) abort(); /* a secret survived */
    buf_dispose(&copy);
    return 0;
}
