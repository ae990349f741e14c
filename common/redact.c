/* Redaction of secrets in free text and JSON (see redact.h). One scan from left to right: at each
 * position the matchers are tried in a fixed order; the first that matches says how many bytes to keep
 * verbatim, how many to consume in all, and the marker's kind. Every matcher is bounded by `end`, so
 * the input need not be NUL-terminated. */
#include "redact.h"
#include "alloc.h"
#include "jscan.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CARD_MIN_DIGITS 13
#define CARD_MAX_DIGITS 19
#define CARD_SCAN_DIGITS 24 /* a digit run is read this far at most when looking for a card in it */
#define BEARER_MIN 8
#define PEM_LABEL_MAX 64

typedef struct {
    size_t keep;      /* bytes copied verbatim before the marker */
    size_t len;       /* bytes consumed in all (keep included) */
    const char *kind; /* the marker's kind */
} match_t;

/* Keys whose value is secret in key=value, key: value and "key":"value" forms. */
static const char *const secret_keys[] = {
    "password",    "passwd",  "pwd",          "passphrase",    "secret",     "client_secret", "secret_key",
    "private_key", "token",   "access_token", "refresh_token", "id_token",   "auth_token",    "api_key",
    "apikey",      "api-key", "access_key",   "authorization", "credentials"};
#define NKEYS (sizeof(secret_keys) / sizeof(*secret_keys))

/* ---------------- character classes (ASCII, locale-free) ---------------- */

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(int c)
{
    return is_digit(c) || is_alpha(c);
}

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_b64url(int c)
{
    return is_alnum(c) || c == '-' || c == '_';
}

static int is_token_char(int c)
{
    return is_alnum(c) || (c && strchr("-._~+/=", c) != NULL);
}

static int is_local_char(int c)
{
    return is_alnum(c) || (c && strchr("._%+-", c) != NULL);
}

static int prev_char(const char *s, const char *p)
{
    return p > s ? (unsigned char)p[-1] : 0;
}

/* Does [p, end) start with `lit` (case-insensitive when `nocase`)? */
static int starts(const char *p, const char *end, const char *lit, int nocase)
{
    size_t n = strlen(lit);
    if ((size_t)(end - p) < n) return 0;
    return nocase ? strncasecmp(p, lit, n) == 0 : memcmp(p, lit, n) == 0;
}

/* First occurrence of `lit` in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *lit)
{
    for (; p < end; p++)
        if (starts(p, end, lit, 0)) return p;
    return NULL;
}

static const char *skip(const char *p, const char *end, int (*cls)(int))
{
    while (p < end && cls((unsigned char)*p))
        p++;
    return p;
}

static int set(match_t *m, size_t keep, size_t len, const char *kind)
{
    m->keep = keep;
    m->len = len;
    m->kind = kind;
    return 1;
}

/* ---------------- matchers: each returns 1 and fills `m`, or 0 ---------------- */

/* The end of the first well-formed "-----END <label>-----" line at or after p, or `end`. Only label
 * characters may sit between the two dashes runs: "-----END " in the key's text followed later by
 * another block's "-----BEGIN" would otherwise end the match inside that block and leave its key. */
static const char *pem_end(const char *p, const char *end)
{
    for (const char *e = find(p, end, "-----END "); e != NULL; e = find(e + 9, end, "-----END ")) {
        const char *q = e + 9;
        while (q < end && q - e < 9 + PEM_LABEL_MAX &&
               ((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == ' '))
            q++;
        if (starts(q, end, "-----", 0)) return q + 5;
    }
    return end;
}

/* -----BEGIN <label> PRIVATE KEY----- ... -----END <label>----- (to the end when unterminated). */
static int pem_at(const char *p, const char *end, match_t *m)
{
    if (!starts(p, end, "-----BEGIN ", 0)) return 0;
    const char *label = p + 11;
    const char *close = find(label, end - label > PEM_LABEL_MAX ? label + PEM_LABEL_MAX : end, "-----");
    if (close == NULL || close - label < 11 || memcmp(close - 11, "PRIVATE KEY", 11) != 0) return 0;
    return set(m, 0, (size_t)(pem_end(close + 5, end) - p), "private_key");
}

/* hooks.slack.com/<path>: the path goes. */
static int slack_hook_at(const char *p, const char *end, match_t *m)
{
    static const char host[] = "hooks.slack.com/";
    if (!starts(p, end, host, 1)) return 0;
    const char *q = p + sizeof(host) - 1;
    while (q < end && !is_space((unsigned char)*q) && !strchr("\"'<>`|\\", *q))
        q++;
    if (q == p + sizeof(host) - 1) return 0;
    return set(m, sizeof(host) - 1, (size_t)(q - p), "slack_webhook");
}

/* ://user:password@ — the password goes (up to the last '@' of the authority). */
static int url_password_at(const char *p, const char *end, match_t *m)
{
    if (!starts(p, end, "://", 0)) return 0;
    const char *a = p + 3, *stop = a, *at = NULL;
    while (stop < end && !is_space((unsigned char)*stop) && !strchr("/?#\"'<>", *stop)) {
        if (*stop == '@') at = stop;
        stop++;
    }
    if (at == NULL) return 0;
    const char *colon = memchr(a, ':', (size_t)(at - a));
    if (colon == NULL || colon + 1 == at) return 0;
    return set(m, (size_t)(colon + 1 - p), (size_t)(at - p), "password");
}

/* The end of a quoted value starting after its opening quote `q` (escaped = the quote was \"): the
 * closing quote, else the end of the line, else the end of the text. */
static const char *quoted_end(const char *v, const char *end, char q, int escaped)
{
    for (const char *x = v; x < end; x++) {
        if (escaped && *x == '\\' && x + 1 < end && x[1] == q) return x;
        if (!escaped && *x == '\\') {
            x++;
            continue;
        }
        if (!escaped && *x == q) return x;
        if (*x == '\n') return x;
    }
    return end;
}

/* Can a secret key start with the byte c (any case)? The cheap test first: the scan tries every
 * position, and most start no key. */
static int key_may_start(int c)
{
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    for (size_t k = 0; k < NKEYS; k++)
        if (secret_keys[k][0] == c) return 1;
    return 0;
}

/* key=value, key: value, "key":"value" for a secret key: the whole value goes. */
static int secret_pair_at(const char *s, const char *p, const char *end, match_t *m)
{
    int pc = prev_char(s, p);
    if (p == end || !key_may_start((unsigned char)*p) || is_alnum(pc)) return 0;
    int json_like = pc == '"' || pc == '\'';
    for (size_t k = 0; k < NKEYS; k++) {
        if (!starts(p, end, secret_keys[k], 1)) continue;
        const char *q = p + strlen(secret_keys[k]);
        while (q < end && (*q == '"' || *q == '\'' || *q == '\\' || *q == ' ' || *q == '\t'))
            q++;
        if (q == end || (*q != '=' && *q != ':')) continue;
        q++;
        if (q < end && *q == '>') q++; /* key => value */
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q == end) return 0;
        if (*q == '"' || *q == '\'' || (*q == '\\' && q + 1 < end && (q[1] == '"' || q[1] == '\''))) {
            int escaped = *q == '\\';
            char quote = escaped ? q[1] : *q;
            const char *v = q + 1 + escaped, *e = quoted_end(v, end, quote, escaped);
            if (e == v) return 0;
            return set(m, (size_t)(v - p), (size_t)(e - p), "secret");
        }
        static const char *const schemes[] = {"bearer ", "basic ", "token "};
        for (size_t i = 0; i < 3; i++)
            if (starts(q, end, schemes[i], 1)) {
                q += strlen(schemes[i]);
                while (q < end && *q == ' ')
                    q++;
                break;
            }
        const char *e = q;
        while (e < end && !is_space((unsigned char)*e) && *e != '&' && !(json_like && strchr(",}]\"'", *e)))
            e++;
        if (e == q) return 0;
        return set(m, (size_t)(q - p), (size_t)(e - p), "secret");
    }
    return 0;
}

/* Bearer <token>. */
static int bearer_at(const char *s, const char *p, const char *end, match_t *m)
{
    if (is_alnum(prev_char(s, p)) || !starts(p, end, "bearer", 1)) return 0;
    const char *q = p + 6;
    if (q == end || (*q != ' ' && *q != '\t')) return 0;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    const char *e = skip(q, end, is_token_char);
    if (e - q < BEARER_MIN) return 0;
    return set(m, (size_t)(q - p), (size_t)(e - p), "token");
}

/* eyJ<b64url>.<b64url>.<b64url>* */
static int jwt_at(const char *s, const char *p, const char *end, match_t *m)
{
    if (is_b64url(prev_char(s, p)) || !starts(p, end, "eyJ", 0)) return 0;
    const char *q = skip(p + 3, end, is_b64url);
    if (q == end || *q != '.') return 0;
    const char *r = skip(q + 1, end, is_b64url);
    if (r == q + 1 || r == end || *r != '.') return 0;
    return set(m, 0, (size_t)(skip(r + 1, end, is_b64url) - p), "jwt");
}

static int is_upper_digit(int c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z');
}

static int is_key_tail(int c)
{
    return is_alnum(c) || c == '_' || c == '-';
}

/* Provider key shapes: a prefix, then at least `min` characters of its class. */
static int provider_key_at(const char *s, const char *p, const char *end, match_t *m)
{
    static const struct {
        const char *prefix;
        int (*cls)(int);
        int min;
    } shapes[] = {
        {"sk-", is_key_tail, 16},         {"sk_live_", is_alnum, 10}, {"sk_test_", is_alnum, 10},
        {"rk_live_", is_alnum, 10},       {"rk_test_", is_alnum, 10}, {"AKIA", is_upper_digit, 16},
        {"ASIA", is_upper_digit, 16},     {"ghp_", is_alnum, 20},     {"gho_", is_alnum, 20},
        {"ghu_", is_alnum, 20},           {"ghs_", is_alnum, 20},     {"ghr_", is_alnum, 20},
        {"github_pat_", is_key_tail, 20}, {"xoxa-", is_key_tail, 10}, {"xoxb-", is_key_tail, 10},
        {"xoxp-", is_key_tail, 10},       {"xoxr-", is_key_tail, 10}, {"xoxs-", is_key_tail, 10},
        {"xoxe-", is_key_tail, 10},       {"xapp-", is_key_tail, 10}, {"AIza", is_key_tail, 30},
    };
    if (is_key_tail(prev_char(s, p))) return 0;
    for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++) {
        if (!starts(p, end, shapes[i].prefix, 0)) continue;
        const char *t = p + strlen(shapes[i].prefix);
        if (skip(t, end, shapes[i].cls) - t < shapes[i].min) continue;
        return set(m, 0, (size_t)(skip(t, end, is_key_tail) - p), "key");
    }
    return 0;
}

static int luhn_ok(const char *digits, size_t n)
{
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = digits[n - 1 - i] - '0';
        if (i % 2) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
    }
    return sum % 10 == 0;
}

/* 13-19 digits, single spaces or dashes between groups, Luhn-valid, not inside a word or a decimal.
 * The longest such prefix of the digit run that ends at a group boundary wins. */
static int card_at(const char *s, const char *p, const char *end, match_t *m)
{
    int pc = prev_char(s, p);
    if (!is_digit((unsigned char)*p) || is_alnum(pc) || pc == '.') return 0;
    char digits[CARD_SCAN_DIGITS];
    size_t cut_len[CARD_SCAN_DIGITS + 1], cut_digits[CARD_SCAN_DIGITS + 1], ncut = 0, nd = 0;
    const char *q = p;
    while (q < end && nd < CARD_SCAN_DIGITS && is_digit((unsigned char)*q)) {
        digits[nd++] = *q++;
        int more_digits = q < end && is_digit((unsigned char)*q);
        int sep = q + 1 < end && (*q == ' ' || *q == '-') && is_digit((unsigned char)q[1]);
        int word_end = q == end || !is_alnum((unsigned char)*q);
        if (!more_digits && word_end) {
            cut_len[ncut] = (size_t)(q - p);
            cut_digits[ncut++] = nd;
        }
        if (sep)
            q++;
        else if (!more_digits)
            break;
    }
    while (ncut--)
        if (cut_digits[ncut] >= CARD_MIN_DIGITS && cut_digits[ncut] <= CARD_MAX_DIGITS &&
            luhn_ok(digits, cut_digits[ncut]))
            return set(m, 0, cut_len[ncut], "card");
    return 0;
}

/* local@domain.tld, tried where a local part starts. */
static int email_at(const char *s, const char *p, const char *end, match_t *m)
{
    if (!is_local_char((unsigned char)*p) || is_local_char(prev_char(s, p))) return 0;
    const char *at = skip(p, end, is_local_char);
    if (at == end || *at != '@') return 0;
    const char *d = at + 1, *e = d, *last_label = d;
    int labels = 0;
    while (e < end && (is_alnum((unsigned char)*e) || *e == '-')) {
        const char *l = e;
        while (e < end && (is_alnum((unsigned char)*e) || *e == '-'))
            e++;
        labels++;
        last_label = l;
        if (e + 1 < end && *e == '.' && (is_alnum((unsigned char)e[1]) || e[1] == '-'))
            e++;
        else
            break;
    }
    if (labels < 2 || e - last_label < 2) return 0;
    for (const char *x = last_label; x < e; x++)
        if (!is_alpha((unsigned char)*x)) return 0;
    return set(m, 0, (size_t)(e - p), "email");
}

static int match_at(const char *s, const char *p, const char *end, match_t *m)
{
    return pem_at(p, end, m) || slack_hook_at(p, end, m) || url_password_at(p, end, m) ||
           secret_pair_at(s, p, end, m) || bearer_at(s, p, end, m) || jwt_at(s, p, end, m) ||
           provider_key_at(s, p, end, m) || card_at(s, p, end, m) || email_at(s, p, end, m);
}

/* ---------------- text ---------------- */

size_t redact_bound(size_t len)
{
    return 5 * len + 64;
}

int redact_append(buf_t *out, const char *in, size_t len)
{
    const char *p = in, *end = in + len, *lit = in; /* [lit, p) is pending verbatim text */
    match_t m;
    while (p < end) {
        if (!match_at(in, p, end, &m)) {
            p++;
            continue;
        }
        const char *keep_end = p + m.keep;
        if (keep_end > lit && buf_append(out, lit, (size_t)(keep_end - lit)) != 0) return -1;
        if (buf_append_str(out, "[REDACTED:") != 0 || buf_append_str(out, m.kind) != 0 ||
            buf_append_char(out, ']') != 0)
            return -1;
        p += m.len;
        lit = p;
    }
    if (end > lit && buf_append(out, lit, (size_t)(end - lit)) != 0) return -1;
    return 0;
}

char *redact_str(const char *in)
{
    size_t n = strlen(in);
    buf_t b;
    buf_init(&b, redact_bound(n));
    if (redact_append(&b, in, n) != 0) {
        buf_dispose(&b); /* cannot happen within redact_bound(); never return a partial text */
        return xstrdup("[REDACTED:overflow]");
    }
    char *s = buf_take(&b);
    return s ? s : xstrdup("");
}

/* ---------------- JSON ---------------- */

/* Does the object key name a secret (ends with one of the secret keys, case-insensitive)? */
static int secret_key_name(const char *k)
{
    size_t n = strlen(k);
    for (size_t i = 0; i < NKEYS; i++) {
        size_t kl = strlen(secret_keys[i]);
        if (n >= kl && strcasecmp(k + n - kl, secret_keys[i]) == 0 &&
            (n == kl || !is_alpha((unsigned char)k[n - kl - 1])))
            return 1;
    }
    return 0;
}

static int lower_hex(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)v[i]) && !(v[i] >= 'a' && v[i] <= 'f')) return 0;
    return 1;
}

/* A telemetry id kept as is: see redact.h. */
static int telemetry_id(const char *key, const char *v, size_t n)
{
    if (n == 21 && strncmp(v, "span:", 5) == 0 && lower_hex(v + 5, 16)) return 1;
    if (key == NULL || (n != 16 && n != 32) || !lower_hex(v, n)) return 0;
    return !strcmp(key, "trace_id") || !strcmp(key, "span_id") || !strcmp(key, "parent_span_id");
}

static json_t *redact_value(const json_t *v, const char *key)
{
    if (key && secret_key_name(key) && !json_is_null(v)) return json_string("[REDACTED:secret]");
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (telemetry_id(key, s, n)) return json_incref((json_t *)v);
        buf_t b;
        buf_init(&b, redact_bound(n));
        json_t *r = redact_append(&b, s, n) == 0 ? json_stringn(b.data ? b.data : "", b.len) : NULL;
        buf_dispose(&b);
        return r ? r : json_string("[REDACTED:invalid]");
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) json_object_set_new(o, k, redact_value(x, k));
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) json_array_append_new(a, redact_value(x, NULL));
        return a;
    }
    return json_incref((json_t *)v);
}

json_t *redact_json(const json_t *v)
{
    return v ? redact_value(v, NULL) : json_null();
}

/* ---------------- JSON text: would redact_json() change it? ---------------- */

#define TEXT_MAX_DEPTH 64 /* deeper than any attribute set we store (INGEST_MAX_DEPTH) */

typedef struct {
    jscan_t j;
    buf_t str, out; /* a decoded string; its redacted form */
} text_scan_t;

static int text_value_changes(text_scan_t *t, const char *key);

/* Each key is copied NUL-terminated for secret_key_name() and telemetry_id(); a key holding NUL or too
 * long for the copy counts as a change (redact_json()'s path then decides). */
static int object_changes(text_scan_t *t)
{
    buf_t key_buf;
    buf_init(&key_buf, (size_t)(t->j.end - t->j.start) + 1);
    char key[256];
    jstr_t k;
    int r = 0, changes = 0;
    if (jscan_object_begin(&t->j) != 0) changes = 1;
    while (!changes && (r = jscan_object_next(&t->j, &k, &key_buf)) == 1) {
        if (k.n >= sizeof(key) || memchr(k.s, '\0', k.n)) {
            changes = 1;
            break;
        }
        memcpy(key, k.s, k.n);
        key[k.n] = '\0';
        changes = text_value_changes(t, key);
    }
    if (!changes && r < 0) changes = 1;
    buf_dispose(&key_buf);
    return changes;
}

static int text_value_changes(text_scan_t *t, const char *key)
{
    jtype_t type = jscan_peek(&t->j);
    if (key && secret_key_name(key) && type != JT_NULL) return 1;
    switch (type) {
    case JT_STRING: {
        jstr_t s;
        if (jscan_string(&t->j, &s, &t->str) != 0) return 1;
        if (telemetry_id(key, s.s, s.n)) return 0;
        buf_reset(&t->out);
        if (redact_append(&t->out, s.s, s.n) != 0) return 1;
        return t->out.len != s.n || (s.n && memcmp(t->out.data, s.s, s.n) != 0);
    }
    case JT_OBJECT:
        return object_changes(t);
    case JT_ARRAY: {
        int r;
        if (jscan_array_begin(&t->j) != 0) return 1;
        while ((r = jscan_array_next(&t->j)) == 1)
            if (text_value_changes(t, NULL)) return 1;
        return r < 0;
    }
    default:
        return jscan_skip(&t->j, NULL) != 0; /* numbers, true, false, null: kept */
    }
}

int redact_json_text_changes(const char *json, size_t n)
{
    text_scan_t t;
    jscan_init(&t.j, json, n, TEXT_MAX_DEPTH);
    buf_init(&t.str, n + 1);
    buf_init(&t.out, redact_bound(n));
    int changes = text_value_changes(&t, NULL) || jscan_finish(&t.j) != 0;
    buf_dispose(&t.str);
    buf_dispose(&t.out);
    return changes;
}
