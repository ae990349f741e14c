/* Redaction (see redact.h): one left-to-right pass; at each position the matchers are tried in a
 * fixed order and the first that matches writes its replacement and moves past what it matched. */
#include "redact.h"
#include "alloc.h"
#include "buf.h"
#include "strutil.h"

#include <stdlib.h>
#include <string.h>

#define MAX_QUOTED_VALUE 4096
#define MAX_KEY 64

typedef struct {
    const char *s;
    size_t n;
    buf_t out;
    size_t count;
} rd_t;

static int alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int word(char c)
{
    return alnum(c) || c == '_';
}

static int key_char(char c)
{
    return word(c) || c == '.' || c == '-';
}

static int email_local(char c)
{
    return alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static int token_char(char c)
{
    return alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static int starts_ci(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n < m) return 0;
    for (size_t i = 0; i < m; i++)
        if (lower(s[i]) != lit[i]) return 0;
    return 1;
}

static void emit(rd_t *r, const char *p, size_t n)
{
    buf_append(&r->out, p, n);
}

static void replace(rd_t *r, const char *kind)
{
    buf_printf(&r->out, "[REDACTED:%s]", kind);
    r->count++;
}

/* ---------------- values after a key ---------------- */

/* After a key at s[i..): optional closing quote, spaces, '=' or ':', spaces, optional opening quote.
 * Returns the offset of the value's first byte (and its quote in *q, 0 if none), or 0 when there is
 * no assignment. */
static size_t assignment(const char *s, size_t n, size_t i, char *q)
{
    if (i < n && (s[i] == '"' || s[i] == '\'')) i++;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i >= n || (s[i] != '=' && s[i] != ':')) return 0;
    i++;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    *q = 0;
    if (i < n && (s[i] == '"' || s[i] == '\'')) *q = s[i++];
    return i;
}

/* Length of the value at s[i..): up to the closing quote, or up to a delimiter when unquoted. When
 * `to_eol`, an unquoted value runs to the end of the line (Authorization values hold a space). */
static size_t value_len(const char *s, size_t n, size_t i, char q, int to_eol)
{
    size_t k = i;
    if (q) {
        while (k < n && k - i < MAX_QUOTED_VALUE && s[k] != q && s[k] != '\n')
            k += s[k] == '\\' && k + 1 < n ? 2 : 1;
        return k < n && s[k] == q ? k - i : 0;
    }
    static const char stop[] = " \t\r\n&,;)}]\"'<>";
    static const char stop_eol[] = "\r\n&,;\"'<>";
    while (k < n && strchr(to_eol ? stop_eol : stop, s[k]) == NULL)
        k++;
    while (to_eol && k > i && (s[k - 1] == ' ' || s[k - 1] == '\t'))
        k--;
    return k - i;
}

static const char *secret_kind(const char *key, size_t n)
{
    static const struct {
        const char *suffix, *kind;
    } keys[] = {{"password", "password"}, {"passwd", "password"},   {"pwd", "password"},
                {"secret", "secret"},     {"access_key", "secret"}, {"private_key", "secret"},
                {"api_key", "api_key"},   {"apikey", "api_key"},    {"api-key", "api_key"},
                {"token", "token"}};
    char low[MAX_KEY];
    if (n >= sizeof(low)) return NULL;
    for (size_t i = 0; i < n; i++)
        low[i] = lower(key[i]);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t m = strlen(keys[i].suffix);
        if (n >= m && memcmp(low + n - m, keys[i].suffix, m) == 0) return keys[i].kind;
    }
    return NULL;
}

/* "password=x", "\"api_key\": \"x\"", "Authorization: Bearer x". */
static size_t match_key_value(rd_t *r, size_t i)
{
    const char *s = r->s;
    size_t n = r->n, k = i;
    while (k < n && key_char(s[k]) && k - i < MAX_KEY)
        k++;
    if (k == i || (k < n && key_char(s[k]))) return 0;
    int auth = (k - i == 13 && starts_ci(s + i, n - i, "authorization")) ||
               (k - i == 19 && starts_ci(s + i, n - i, "proxy-authorization"));
    const char *kind = auth ? "authorization" : secret_kind(s + i, k - i);
    if (kind == NULL) return 0;
    char q = 0;
    size_t v = assignment(s, n, k, &q);
    if (v == 0) return 0;
    size_t len = value_len(s, n, v, q, auth);
    if (len == 0 || starts_ci(s + v, n - v, "[redacted")) return 0;
    emit(r, s + i, v - i);
    replace(r, kind);
    return v + len - i;
}

/* ---------------- shapes ---------------- */

static size_t run(const char *s, size_t n, size_t i, int (*cls)(char))
{
    size_t k = i;
    while (k < n && cls(s[k]))
        k++;
    return k - i;
}

static int b64url(char c)
{
    return alnum(c) || c == '-' || c == '_';
}

static int upper_digit(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Returns the matched length and sets *kind for key shapes and JWTs at s[i..). */
static size_t match_shape(const char *s, size_t n, size_t i, const char **kind)
{
    const char *p = s + i;
    size_t m = n - i, k;
    if (m > 3 && memcmp(p, "sk-", 3) == 0 && (k = run(s, n, i + 3, b64url)) >= 20) {
        *kind = "api_key";
        return 3 + k;
    }
    if (m >= 20 && (memcmp(p, "AKIA", 4) == 0 || memcmp(p, "ASIA", 4) == 0) &&
        run(s, n, i + 4, upper_digit) == 16 && (m == 20 || !alnum(p[20]))) {
        *kind = "aws_key";
        return 20;
    }
    if (m > 4 && memcmp(p, "AIza", 4) == 0 && (k = run(s, n, i + 4, b64url)) >= 30) {
        *kind = "api_key";
        return 4 + k;
    }
    static const char *const gh[] = {"ghp_",  "gho_",  "ghs_",  "ghu_", "github_pat_",
                                     "xoxb-", "xoxp-", "xoxa-", NULL};
    for (const char *const *g = gh; *g; g++) {
        size_t gl = strlen(*g);
        if (m > gl && memcmp(p, *g, gl) == 0 && (k = run(s, n, i + gl, b64url)) >= 16) {
            *kind = "token";
            return gl + k;
        }
    }
    if (m > 3 && memcmp(p, "eyJ", 3) == 0) { /* header.payload.signature */
        size_t a = run(s, n, i, b64url);
        if (a >= 8 && i + a < n && s[i + a] == '.') {
            size_t b = run(s, n, i + a + 1, b64url);
            if (b >= 8 && i + a + 1 + b < n && s[i + a + 1 + b] == '.') {
                size_t c = run(s, n, i + a + 2 + b, b64url);
                *kind = "jwt";
                return a + b + c + 2;
            }
        }
    }
    return 0;
}

/* "Bearer <credential>": the word is kept. */
static size_t match_bearer(rd_t *r, size_t i)
{
    const char *s = r->s;
    size_t n = r->n;
    if (!starts_ci(s + i, n - i, "bearer")) return 0;
    size_t k = i + 6;
    if (k >= n || (s[k] != ' ' && s[k] != '\t')) return 0;
    while (k < n && (s[k] == ' ' || s[k] == '\t'))
        k++;
    size_t t = run(s, n, k, token_char);
    if (t < 8 || starts_ci(s + k, n - k, "[redacted")) return 0;
    emit(r, s + i, k - i);
    replace(r, "token");
    return k + t - i;
}

static size_t match_pem(const char *s, size_t n, size_t i)
{
    if (!an_starts(s + i, n - i, "-----BEGIN ")) return 0;
    const char *eol = memchr(s + i, '\n', n - i);
    size_t line = eol ? (size_t)(eol - (s + i)) : n - i;
    if (!an_contains_ci(s + i, line, "private key-----")) return 0;
    for (size_t k = i + line; k + 9 <= n; k++) {
        if (memcmp(s + k, "-----END ", 9) != 0) continue;
        const char *close = k + 9 < n ? memchr(s + k + 9, '\n', n - k - 9) : NULL;
        return close ? (size_t)(close - s) - i : n - i;
    }
    return n - i;
}

static size_t match_email(const char *s, size_t n, size_t i)
{
    size_t l = run(s, n, i, email_local);
    if (l == 0 || l > 64 || i + l >= n || s[i + l] != '@') return 0;
    size_t d = i + l + 1, k = d, last_dot = 0;
    while (k < n && (alnum(s[k]) || s[k] == '-' || s[k] == '.')) {
        if (s[k] == '.') last_dot = k;
        k++;
    }
    while (k > d && (s[k - 1] == '.' || s[k - 1] == '-'))
        k--;
    if (last_dot <= d || last_dot >= k) return 0;
    for (size_t t = last_dot + 1; t < k; t++)
        if (!((s[t] >= 'a' && s[t] <= 'z') || (s[t] >= 'A' && s[t] <= 'Z'))) return 0;
    return k - last_dot - 1 >= 2 ? k - i : 0;
}

static int luhn(const char *digits, size_t n)
{
    int sum = 0;
    for (size_t k = 0; k < n; k++) {
        int d = digits[n - 1 - k] - '0';
        if (k % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
    }
    return sum % 10 == 0;
}

/* A digit group run at s[i..): returns its length; *card is set when it is a card number. */
static size_t scan_digits(const char *s, size_t n, size_t i, int *card)
{
    char digits[32];
    size_t nd = 0, k = i, end = i;
    *card = 0;
    while (k < n) {
        if (s[k] >= '0' && s[k] <= '9') {
            if (nd < sizeof(digits)) digits[nd] = s[k];
            nd++;
            end = ++k;
        } else if ((s[k] == ' ' || s[k] == '-') && k + 1 < n && s[k + 1] >= '0' && s[k + 1] <= '9' && k > i &&
                   s[k - 1] >= '0' && s[k - 1] <= '9') {
            k++;
        } else {
            break;
        }
    }
    if (end < n && (alnum(s[end]) || s[end] == '_')) return end - i; /* part of an identifier */
    *card = nd >= 13 && nd <= 19 && luhn(digits, nd);
    return end - i;
}

/* ---------------- the pass ---------------- */

static size_t step(rd_t *r, size_t i)
{
    const char *s = r->s, *kind = NULL;
    size_t n = r->n, m;
    char prev = i ? s[i - 1] : ' ';
    if (s[i] == '-' && (m = match_pem(s, n, i))) {
        replace(r, "private_key");
        return m;
    }
    if (!word(prev)) {
        if ((m = match_bearer(r, i))) return m;
        if ((m = match_shape(s, n, i, &kind))) {
            replace(r, kind);
            return m;
        }
    }
    if (!key_char(prev) && key_char(s[i]) && (m = match_key_value(r, i))) return m;
    if (!email_local(prev) && email_local(s[i]) && (m = match_email(s, n, i))) {
        replace(r, "email");
        return m;
    }
    if (!alnum(prev) && prev != '_' && s[i] >= '0' && s[i] <= '9') {
        int card;
        m = scan_digits(s, n, i, &card);
        if (card)
            replace(r, "card");
        else
            emit(r, s + i, m);
        return m;
    }
    emit(r, s + i, 1);
    return 1;
}

char *analysis_redact(const char *s, size_t n, size_t *count)
{
    rd_t r = {s ? s : "", s ? n : 0, {0}, 0};
    /* every replacement is at most ~3x what it replaces: the cap is never reached */
    buf_init(&r.out, 4 * r.n + 64);
    for (size_t i = 0; i < r.n;)
        i += step(&r, i);
    if (count) *count = r.count;
    char *out = r.out.data ? buf_take(&r.out) : xstrdup("");
    return out;
}

/* ---------------- JSON ---------------- */

static int id_key(const char *key)
{
    static const char *const keys[] = {"id",     "span_id",      "trace_id", "parent_span_id", "fingerprint",
                                       "source", "swallowed_by", "roots",    "critical_path",  NULL};
    for (const char *const *k = keys; key && *k; k++)
        if (strcmp(key, *k) == 0) return 1;
    return 0;
}

static int id_shaped(const char *s)
{
    for (; *s; s++)
        if (!alnum(*s) && *s != ':' && *s != '-' && *s != '_') return 0;
    return 1;
}

static json_t *redact_value(const json_t *v, const char *key)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) json_object_set_new(o, k, redact_value(x, k));
        return o;
    }
    case JSON_ARRAY: {
        json_t *a = json_array(), *x;
        size_t i;
        json_array_foreach(v, i, x) json_array_append_new(a, redact_value(x, key));
        return a;
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (id_key(key) && id_shaped(s)) return json_incref((json_t *)v);
        char *red = analysis_redact(s, n, NULL);
        json_t *j = an_json_str(red, strlen(red), 4 * n + 64, NULL);
        free(red);
        return j;
    }
    default:
        return json_deep_copy(v);
    }
}

json_t *analysis_redact_json(const json_t *v)
{
    return v ? redact_value(v, NULL) : NULL;
}
