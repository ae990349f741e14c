/* Cleaning of untrusted free text (see safetext.h). */
#include "safetext.h"
#include "alloc.h"
#include "buf.h"

#include <string.h>
#include <strings.h>

#define TAG_MAX 256 /* an angle-bracket construct longer than this is text, not markup */
#define LINK_MARK "[link removed]"
#define ELLIPSIS "\xe2\x80\xa6"

static int is_alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int link_stop(int c)
{
    return c == 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r' || (c && strchr("<>\"'()[]{}|`", c));
}

/* Length of the link starting at p (scheme://..., www...., javascript:...), or 0. */
static size_t link_at(const char *s, const char *p)
{
    if (p > s && is_alnum((unsigned char)p[-1])) return 0;
    const char *q = p;
    if (strncasecmp(p, "www.", 4) == 0 || strncasecmp(p, "javascript:", 11) == 0) {
        q = p + 4;
    } else {
        while (is_alnum((unsigned char)*q) || *q == '+' || *q == '.' || *q == '-')
            q++;
        if (q == p || !is_alpha((unsigned char)*p) || strncmp(q, "://", 3) != 0) return 0;
        q += 3;
    }
    while (!link_stop((unsigned char)*q))
        q++;
    return (size_t)(q - p);
}

/* Length of the <...> construct at p (it opens with a letter or one of / ! @ # ?, has no newline, at
 * most TAG_MAX bytes), or 0: "a < b > c" is text. */
static size_t tag_at(const char *p)
{
    if (*p != '<' || !(is_alpha((unsigned char)p[1]) || (p[1] && strchr("/!@#?", p[1])))) return 0;
    for (size_t i = 1; i < TAG_MAX && p[i] && p[i] != '\n'; i++)
        if (p[i] == '>') return i + 1;
    return 0;
}

/* Is p at an '@' that starts a mention (not after a letter or digit, before a letter)? */
static int mention_at(const char *s, const char *p)
{
    return *p == '@' && (p == s || !is_alnum((unsigned char)p[-1])) && is_alpha((unsigned char)p[1]);
}

/* Cuts `b` to at most `max` bytes on a character boundary, with an ellipsis when cut. */
static void cap_utf8(buf_t *b, size_t max)
{
    if (b->len <= max) return;
    size_t n = max - (sizeof(ELLIPSIS) - 1);
    while (n > 0 && ((unsigned char)b->data[n] & 0xC0) == 0x80)
        n--;
    memcpy(b->data + n, ELLIPSIS, sizeof(ELLIPSIS)); /* the NUL too; max <= len < cap */
    b->len = n + sizeof(ELLIPSIS) - 1;
}

char *safetext_clean(const char *in, size_t max_bytes)
{
    if (in == NULL) in = "";
    if (max_bytes < 4) max_bytes = 4;
    buf_t b;
    /* the worst growth is "www." (4 bytes) becoming LINK_MARK */
    buf_init(&b, 4 * strlen(in) + sizeof(LINK_MARK));
    int ok = 1;
    for (const char *p = in; *p && ok;) {
        unsigned char c = (unsigned char)*p;
        size_t n;
        if ((n = link_at(in, p)) > 0) {
            ok = buf_append_str(&b, LINK_MARK) == 0;
            p += n;
        } else if ((n = tag_at(p)) > 0) {
            p += n;
        } else if (mention_at(in, p) || c == '`' || c == '*' || c == '~' || c == 0x7f ||
                   (c < 0x20 && c != '\n' && c != '\t')) {
            p++;
        } else {
            ok = buf_append_char(&b, *p++) == 0;
        }
    }
    if (!ok) buf_reset(&b); /* cannot happen within the cap above; never return a partial text */
    cap_utf8(&b, max_bytes);
    char *s = buf_take(&b);
    return s ? s : xstrdup("");
}

char *safetext_slack_escape(const char *in)
{
    static const char *const broadcast[] = {"here", "channel", "everyone"};
    if (in == NULL) in = "";
    buf_t b;
    buf_init(&b, 5 * strlen(in) + 1);
    int ok = 1;
    for (const char *p = in; *p && ok; p++) {
        if (*p == '&')
            ok = buf_append_str(&b, "&amp;") == 0;
        else if (*p == '<')
            ok = buf_append_str(&b, "&lt;") == 0;
        else if (*p == '>')
            ok = buf_append_str(&b, "&gt;") == 0;
        else if (*p == '@' &&
                 (strncasecmp(p + 1, broadcast[0], 4) == 0 || strncasecmp(p + 1, broadcast[1], 7) == 0 ||
                  strncasecmp(p + 1, broadcast[2], 8) == 0))
            continue;
        else
            ok = buf_append_char(&b, *p) == 0;
    }
    if (!ok) buf_reset(&b);
    char *s = buf_take(&b);
    return s ? s : xstrdup("");
}
