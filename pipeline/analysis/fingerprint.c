/* Fingerprints and message templates (see fingerprint.h). */
#include "fingerprint.h"
#include "hash.h"

#include <string.h>

#define MAX_QUOTED 256 /* a quote closed further away is not a quoted value */
#define TOP_FRAMES 3   /* frames that count in a fingerprint */
#define SYMBOL_MAX 512 /* a frame's function or file, normalised */
#define TEMPLATE_MAX 1024

/* ---------------- output with a cap ---------------- */

typedef struct {
    char *p;
    size_t cap, len;
    int full;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->full) return;
    if (o->len + n >= o->cap) {
        n = an_utf8_cut(s, n, o->cap - 1 - o->len);
        o->full = 1;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void puts_(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

/* ---------------- character classes ---------------- */

/* Bytes of the character starting at s[0] (a lead byte and its continuation bytes), so that output
 * is cut between characters, never inside one. */
static size_t char_len(const char *s, size_t n)
{
    size_t k = 1;
    if ((unsigned char)s[0] >= 0xc0)
        while (k < n && k < 4 && ((unsigned char)s[k] & 0xc0) == 0x80)
            k++;
    return k;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ---------------- token matchers: each returns the length matched at s[0..n), or 0 ---------------- */

static size_t hex_run(const char *s, size_t n, size_t want)
{
    size_t i = 0;
    while (i < n && i < want && is_hex(s[i]))
        i++;
    return i;
}

static size_t match_uuid(const char *s, size_t n)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};
    size_t i = 0;
    for (int g = 0; g < 5; g++) {
        if (hex_run(s + i, n - i, groups[g]) != groups[g]) return 0;
        i += groups[g];
        if (g < 4) {
            if (i >= n || s[i] != '-') return 0;
            i++;
        }
    }
    return i < n && is_alnum(s[i]) ? 0 : i;
}

static size_t digits(const char *s, size_t n, size_t exact)
{
    size_t i = 0;
    while (i < n && is_digit(s[i]) && (exact == 0 || i < exact))
        i++;
    return exact && i != exact ? 0 : i;
}

/* 2024-05-01, 2024-05-01T10:00:00.123Z, 2024-05-01 10:00:00+02:00 */
static size_t match_timestamp(const char *s, size_t n)
{
    size_t i = 0;
    if (!digits(s, n, 4) || n < 10 || s[4] != '-' || !digits(s + 5, n - 5, 2) || s[7] != '-' ||
        !digits(s + 8, n - 8, 2))
        return 0;
    i = 10;
    if (i + 6 <= n && (s[i] == 'T' || s[i] == ' ') && digits(s + i + 1, n - i - 1, 2) && s[i + 3] == ':' &&
        digits(s + i + 4, n - i - 4, 2)) {
        i += 6;
        if (i + 3 <= n && s[i] == ':' && digits(s + i + 1, n - i - 1, 2)) {
            i += 3;
            if (i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1]))
                i += 1 + digits(s + i + 1, n - i - 1, 0);
        }
        if (i < n && s[i] == 'Z') {
            i++;
        } else if (i + 3 <= n && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, n - i - 1, 2)) {
            i += 3;
            if (i + 3 <= n && s[i] == ':' && digits(s + i + 1, n - i - 1, 2))
                i += 3;
            else if (digits(s + i, n - i, 2))
                i += 2;
        }
    }
    return i;
}

static size_t match_0x(const char *s, size_t n)
{
    if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !is_hex(s[2])) return 0;
    return 2 + hex_run(s + 2, n - 2, n);
}

/* a hex id: at least 8 hex digits with a digit and a letter, ending at a word boundary */
static size_t match_hex_id(const char *s, size_t n)
{
    size_t i = hex_run(s, n, n);
    if (i < 8 || (i < n && is_alnum(s[i]))) return 0;
    int d = 0, a = 0;
    for (size_t k = 0; k < i; k++) {
        if (is_digit(s[k]))
            d = 1;
        else
            a = 1;
    }
    return d && a ? i : 0;
}

/* 42, 3.14, 1,000 */
static size_t match_number(const char *s, size_t n)
{
    size_t i = digits(s, n, 0);
    while (i && i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1]))
        i += 1 + digits(s + i + 1, n - i - 1, 0);
    return i;
}

static size_t match_quoted(const char *s, size_t n)
{
    char q = s[0];
    for (size_t i = 1; i < n && i <= MAX_QUOTED; i++) {
        if (s[i] == '\n') return 0;
        if (s[i] == q) return i + 1 < n && is_alnum(s[i + 1]) ? 0 : i + 1;
    }
    return 0;
}

size_t analysis_message_template(const char *msg, size_t len, char *out, size_t outlen)
{
    out_t o = {out, outlen, 0, outlen == 0};
    if (outlen) out[0] = '\0';
    if (msg == NULL) return 0;
    size_t i = 0;
    while (i < len && !o.full) {
        const char *s = msg + i;
        size_t n = len - i, m;
        int boundary = i == 0 || !is_alnum(msg[i - 1]);
        if (is_ws(*s)) {
            while (i < len && is_ws(msg[i]))
                i++;
            if (o.len && i < len) put(&o, " ", 1);
            continue;
        }
        if ((*s == '"' || *s == '\'' || *s == '`') && boundary && (m = match_quoted(s, n))) {
            put(&o, s, 1);
            puts_(&o, "<str>");
            put(&o, s, 1);
        } else if (boundary && (m = match_uuid(s, n))) {
            puts_(&o, "<uuid>");
        } else if (boundary && (m = match_timestamp(s, n))) {
            puts_(&o, "<ts>");
        } else if (boundary && (m = match_0x(s, n))) {
            puts_(&o, "<hex>");
        } else if (boundary && (m = match_hex_id(s, n))) {
            puts_(&o, "<hex>");
        } else if ((m = match_number(s, n))) {
            puts_(&o, "<num>");
        } else {
            m = char_len(s, n);
            put(&o, s, m);
        }
        i += m;
    }
    return o.len;
}

/* A frame's function or file without what changes between builds: digit runs become '#' (lambda$0,
 * func1, d__5, versioned paths). */
static size_t normalise_symbol(an_slice_t s, char *out, size_t outlen)
{
    out_t o = {out, outlen, 0, 0};
    out[0] = '\0';
    for (size_t i = 0; i < s.n && !o.full;) {
        if (is_digit(s.p[i])) {
            while (i < s.n && is_digit(s.p[i]))
                i++;
            put(&o, "#", 1);
        } else {
            size_t m = char_len(s.p + i, s.n - i);
            put(&o, s.p + i, m);
            i += m;
        }
    }
    return o.len;
}

static void field(hash128_state_t *h, const char *s)
{
    s = an_str(s);
    hash128_field(h, s, strlen(s));
}

static void template_field(hash128_state_t *h, const char *s)
{
    char t[TEMPLATE_MAX];
    size_t n = analysis_message_template(s, s ? strlen(s) : 0, t, sizeof(t));
    hash128_field(h, t, n);
}

static void frame_field(hash128_state_t *h, const analysis_frame_t *f)
{
    char buf[SYMBOL_MAX];
    size_t n = normalise_symbol(f->function, buf, sizeof(buf));
    hash128_field(h, buf, n);
    n = normalise_symbol(f->file, buf, sizeof(buf));
    hash128_field(h, buf, n);
}

/* Hashes up to TOP_FRAMES frames: the root cause's application frames innermost first, else (when
 * it has none) its first frames whatever they are. Returns how many. */
static int frames_field(hash128_state_t *h, const analysis_stacktrace_t *st)
{
    const analysis_exception_t *root = analysis_stacktrace_root(st);
    if (root == NULL || root->nframes == 0) {
        const analysis_frame_t *app = analysis_stacktrace_app_frame(st);
        if (app) frame_field(h, app);
        return app != NULL;
    }
    int used = 0;
    for (int pass = 0; pass < 2 && used == 0; pass++)
        for (int i = 0; i < root->nframes && used < TOP_FRAMES; i++) {
            const analysis_frame_t *f = &st->frames[root->first_frame + i];
            if (pass == 0 && !f->is_app) continue;
            frame_field(h, f);
            used++;
        }
    return used;
}

void analysis_fingerprint(const analysis_fp_input_t *in, char out[ANALYSIS_FP_SIZE])
{
    hash128_state_t h;
    hash128_init(&h);
    field(&h, "fp1");
    field(&h, in->service);
    field(&h, in->kind);
    const char *type = an_str(in->exception_type), *root = an_str(in->root_cause_type);
    field(&h, type);
    field(&h, strcmp(type, root) ? root : "");
    int frames = in->stack ? frames_field(&h, in->stack) : 0;
    if (frames == 0) template_field(&h, in->message);
    if (*type == '\0' && *root == '\0') template_field(&h, in->operation);
    hash128_hex(hash128_final(&h), out);
}
