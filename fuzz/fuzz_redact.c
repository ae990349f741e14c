/* libFuzzer target: redaction (common/redact.h). The input drives a generator that builds a text of
 * arbitrary filler bytes and planted secrets of every kind, each generated at random within its shape
 * and set on its own line. The property: no planted secret survives. Each secret has a "core" (the
 * part that must go: the card, the password, the key...); the core must occur fewer times in the output
 * than in the input (the filler may hold the same bytes, and may itself be redacted). Cores never hold
 * '[' or ']' and are never part of a marker, so a marker cannot create an occurrence. Also: the output
 * stays within redact_bound(), and redact_json() of the text as a JSON string gives the same text. */
#include "redact.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 16
#define MAX_TEXT 16384
#define CORE_MIN 8
#define CORE_MAX 160

typedef struct {
    const uint8_t *d;
    size_t n, i;
} input_t;

typedef struct {
    char text[MAX_TEXT];
    size_t len;
    char cores[MAX_ITEMS][CORE_MAX];
    size_t core_len[MAX_ITEMS];
    int ncores;
} plan_t;

static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char upper_digit[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char b64url[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
static const char key_tail[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
static const char local_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789._%+-";
static const char label_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
static const char token_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/=";
static const char markers[] = "[REDACTED:card][REDACTED:email][REDACTED:token][REDACTED:jwt]"
                              "[REDACTED:private_key][REDACTED:password][REDACTED:secret][REDACTED:key]"
                              "[REDACTED:slack_webhook][REDACTED:overflow][REDACTED:invalid]";

static unsigned next(input_t *in)
{
    return in->i < in->n ? in->d[in->i++] : 0;
}

static unsigned upto(input_t *in, unsigned lo, unsigned hi) /* lo..hi inclusive */
{
    return lo + next(in) % (hi - lo + 1);
}

static void put(char *s, size_t *len, size_t cap, const char *p, size_t n)
{
    if (*len + n >= cap) n = cap - 1 - *len;
    memcpy(s + *len, p, n);
    *len += n;
    s[*len] = '\0';
}

static void put_str(char *s, size_t *len, size_t cap, const char *p)
{
    put(s, len, cap, p, strlen(p));
}

static void put_random(input_t *in, char *s, size_t *len, size_t cap, const char *alphabet, unsigned n)
{
    size_t k = strlen(alphabet);
    for (unsigned i = 0; i < n; i++) {
        char c = alphabet[next(in) % k];
        put(s, len, cap, &c, 1);
    }
}

/* A Luhn-valid card of 13-19 digits, grouped by 4 with a space, a dash or nothing; its digits in core. */
static void gen_card(input_t *in, char *s, size_t *len, char *core, size_t *clen)
{
    unsigned n = upto(in, 13, 19);
    char digits[20];
    digits[0] = (char)('3' + next(in) % 4);
    for (unsigned i = 1; i + 1 < n; i++)
        digits[i] = (char)('0' + next(in) % 10);
    int sum = 0; /* the check digit makes the Luhn sum a multiple of 10 */
    for (unsigned i = 0; i + 1 < n; i++) {
        int d = digits[n - 2 - i] - '0';
        if (i % 2 == 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
    }
    digits[n - 1] = (char)('0' + (10 - sum % 10) % 10);
    const char *seps = "  -";
    char sep = seps[next(in) % 3];
    int grouped = next(in) % 2;
    size_t start = *len;
    for (unsigned i = 0; i < n; i++) {
        if (grouped && i && i % 4 == 0) put(s, len, MAX_TEXT, &sep, 1);
        put(s, len, MAX_TEXT, &digits[i], 1);
    }
    put(core, clen, CORE_MAX, s + start, *len - start); /* as written, separators included */
}

static const char *const secret_keys[] = {
    "password", "PASSWORD",     "db_password", "passwd", "pwd",       "secret",        "client_secret",
    "token",    "access_token", "api_key",     "apikey", "x-api-key", "Authorization", "credentials"};

/* Appends one planted secret of a kind chosen by the input to s; its core to core. */
static void plant(input_t *in, char *s, size_t *len, char *core, size_t *clen)
{
    size_t start;
    unsigned kind = next(in) % 9;
    switch (kind) {
    case 0:
        gen_card(in, s, len, core, clen);
        return;
    case 1: /* email */
        start = *len;
        put_random(in, s, len, MAX_TEXT, local_chars, upto(in, 1, 20));
        put_str(s, len, MAX_TEXT, "@");
        for (unsigned l = upto(in, 1, 3); l > 0; l--) {
            put_random(in, s, len, MAX_TEXT, alnum, 1); /* labels start with a letter or digit */
            put_random(in, s, len, MAX_TEXT, label_chars, upto(in, 0, 9));
            put_str(s, len, MAX_TEXT, ".");
        }
        put_random(in, s, len, MAX_TEXT, lower, upto(in, 2, 6));
        put(core, clen, CORE_MAX, s + start, *len - start);
        return;
    case 2: /* bearer token */
        put_str(s, len, MAX_TEXT, next(in) % 2 ? "Bearer " : "Authorization: bearer ");
        start = *len;
        put_random(in, s, len, MAX_TEXT, token_chars, upto(in, CORE_MIN, 60));
        break;
    case 3: /* JWT: the payload and signature are the core */
        put_str(s, len, MAX_TEXT, "eyJ");
        put_random(in, s, len, MAX_TEXT, b64url, upto(in, 4, 30));
        put_str(s, len, MAX_TEXT, ".");
        start = *len;
        put_random(in, s, len, MAX_TEXT, b64url, upto(in, 4, 40));
        put_str(s, len, MAX_TEXT, ".");
        put_random(in, s, len, MAX_TEXT, b64url, upto(in, 4, 40));
        break;
    case 4: { /* PEM private key: the body is the core */
        static const char *const labels[] = {"", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "};
        const char *label = labels[next(in) % 5];
        put_str(s, len, MAX_TEXT, "-----BEGIN ");
        put_str(s, len, MAX_TEXT, label);
        put_str(s, len, MAX_TEXT, "PRIVATE KEY-----\n");
        start = *len;
        for (unsigned l = upto(in, 1, 3); l > 0; l--) {
            put_random(in, s, len, MAX_TEXT, alnum, upto(in, 8, 40));
            put_str(s, len, MAX_TEXT, "\n");
        }
        put(core, clen, CORE_MAX, s + start, *len - start);
        if (next(in) % 4) { /* sometimes unterminated */
            put_str(s, len, MAX_TEXT, "-----END ");
            put_str(s, len, MAX_TEXT, label);
            put_str(s, len, MAX_TEXT, "PRIVATE KEY-----");
        }
        return;
    }
    case 5: { /* password in a URL: any characters an authority allows, '@' included */
        static const char pw[] =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$%&()*+,;=:@-._~";
        put_str(s, len, MAX_TEXT, next(in) % 2 ? "postgres://" : "https://");
        put_random(in, s, len, MAX_TEXT, lower, upto(in, 1, 10));
        put_str(s, len, MAX_TEXT, ":");
        start = *len;
        put_random(in, s, len, MAX_TEXT, pw, upto(in, CORE_MIN, 40));
        put(core, clen, CORE_MAX, s + start, *len - start);
        put_str(s, len, MAX_TEXT, "@");
        put_random(in, s, len, MAX_TEXT, lower, upto(in, 1, 10));
        put_str(s, len, MAX_TEXT, ".example:5432/db");
        return;
    }
    case 6: { /* key=value, key: value, "key":"value", key='value': the whole value, any characters */
        const char *key = secret_keys[next(in) % (sizeof(secret_keys) / sizeof(*secret_keys))];
        unsigned form = next(in) % 4, n = upto(in, CORE_MIN, 60);
        if (form == 2) {
            put_str(s, len, MAX_TEXT, "{\"");
            put_str(s, len, MAX_TEXT, key);
            put_str(s, len, MAX_TEXT, next(in) % 2 ? "\":\"" : "\" : \"");
            start = *len;
            for (unsigned i = 0; i < n; i++) { /* any printable character, JSON-escaped */
                char c = (char)(0x20 + next(in) % 95);
                if (c == '"' || c == '\\') put_str(s, len, MAX_TEXT, "\\");
                put(s, len, MAX_TEXT, &c, 1);
            }
            put(core, clen, CORE_MAX, s + start, *len - start);
            put_str(s, len, MAX_TEXT, "\",\"user\":\"bob\"}");
            return;
        }
        put_str(s, len, MAX_TEXT, key);
        put_str(s, len, MAX_TEXT, form == 1 ? ": " : "=");
        if (form == 3) put_str(s, len, MAX_TEXT, "'");
        start = *len;
        for (unsigned i = 0; i < n; i++) {
            /* unquoted: anything but whitespace and '&' (a query string's separator), not opening with a
             * quote or '>'; single-quoted: anything but the quote and the backslash */
            char c = (char)(0x21 + next(in) % 94);
            if ((form != 3 && (c == '&' || (i == 0 && strchr("\"'>\\", c)))) ||
                (form == 3 && (c == '\'' || c == '\\')))
                c = 'x';
            put(s, len, MAX_TEXT, &c, 1);
        }
        put(core, clen, CORE_MAX, s + start, *len - start);
        if (form == 3) put_str(s, len, MAX_TEXT, "'");
        return;
    }
    case 7: { /* provider key shapes */
        static const struct {
            const char *prefix;
            const char *alphabet;
            unsigned min;
        } shapes[] = {{"sk-", key_tail, 16},     {"sk_live_", alnum, 10},       {"sk_test_", alnum, 10},
                      {"AKIA", upper_digit, 16}, {"ASIA", upper_digit, 16},     {"ghp_", alnum, 20},
                      {"gho_", alnum, 20},       {"github_pat_", key_tail, 20}, {"xoxb-", key_tail, 10},
                      {"xoxp-", key_tail, 10},   {"xoxa-", key_tail, 10},       {"AIza", key_tail, 35}};
        unsigned i = next(in) % (sizeof(shapes) / sizeof(*shapes));
        start = *len;
        put_str(s, len, MAX_TEXT, shapes[i].prefix);
        put_random(in, s, len, MAX_TEXT, shapes[i].alphabet, upto(in, shapes[i].min, shapes[i].min + 30));
        break;
    }
    default: /* Slack webhook URL: the path after services/ is the core */
        put_str(s, len, MAX_TEXT, "https://hooks.slack.com/services/");
        start = *len;
        put_str(s, len, MAX_TEXT, "T");
        put_random(in, s, len, MAX_TEXT, upper_digit, 8);
        put_str(s, len, MAX_TEXT, "/B");
        put_random(in, s, len, MAX_TEXT, upper_digit, 8);
        put_str(s, len, MAX_TEXT, "/");
        put_random(in, s, len, MAX_TEXT, alnum, 24);
        break;
    }
    put(core, clen, CORE_MAX, s + start, *len - start);
}

static size_t count(const char *hay, size_t n, const char *needle, size_t m)
{
    size_t c = 0;
    for (size_t i = 0; m && i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) c++;
    return c;
}

/* A core that could be confused with a marker, or too short to mean anything, is not checked. */
static int checkable(const char *core, size_t n)
{
    return n >= 4 && !memchr(core, '[', n) && !memchr(core, ']', n) &&
           count(markers, strlen(markers), core, n) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_t in = {data, size, 0};
    static plan_t plan; /* per call; libFuzzer calls one input at a time */
    memset(&plan, 0, sizeof(plan));
    for (int item = 0; item < MAX_ITEMS && in.i < in.n; item++) {
        if (next(&in) % 2) {
            unsigned n = next(&in) % 48; /* filler: raw input bytes */
            for (unsigned k = 0; k < n && in.i < in.n; k++) {
                char c = (char)next(&in);
                put(plan.text, &plan.len, MAX_TEXT, &c, 1);
            }
            continue;
        }
        /* a secret on its own line: filler cannot run into it */
        put_str(plan.text, &plan.len, MAX_TEXT, "\n");
        int k = plan.ncores++;
        plant(&in, plan.text, &plan.len, plan.cores[k], &plan.core_len[k]);
        put_str(plan.text, &plan.len, MAX_TEXT, "\n");
    }
    buf_t out;
    buf_init(&out, redact_bound(plan.len));
    if (redact_append(&out, plan.text, plan.len) != 0) abort(); /* redact_bound() must suffice */
    const char *o = out.data ? out.data : "";
    for (int k = 0; k < plan.ncores; k++) {
        if (!checkable(plan.cores[k], plan.core_len[k])) continue;
        if (count(o, out.len, plan.cores[k], plan.core_len[k]) >=
            count(plan.text, plan.len, plan.cores[k], plan.core_len[k]))
            abort(); /* a planted secret survived */
    }
    /* the JSON path redacts strings the same way (but keeps a whole string that is an evidence id) */
    int evidence_id = plan.len == 21 && memcmp(plan.text, "span:", 5) == 0;
    json_t *str = evidence_id ? NULL : json_stringn(plan.text, plan.len);
    if (str) {
        json_t *r = redact_json(str);
        if (!json_is_string(r) || json_string_length(r) != out.len ||
            (out.len && memcmp(json_string_value(r), o, out.len) != 0))
            abort();
        json_decref(r);
        json_decref(str);
    }
    buf_dispose(&out);
    return 0;
}
