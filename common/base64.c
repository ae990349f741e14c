/* Base64 (see base64.h). */
#include "base64.h"

static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

static int undo(buf_t *out, size_t mark)
{
    out->len = mark;
    if (out->data) out->data[mark] = '\0';
    return -1;
}

int base64_encode(const void *p, size_t n, int pad, buf_t *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *b = p;
    size_t mark = out->len;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)b[i] << 16;
        size_t left = n - i;
        if (left > 1) v |= (unsigned)b[i + 1] << 8;
        if (left > 2) v |= b[i + 2];
        char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], left > 1 ? tab[v >> 6 & 63] : '=',
                     left > 2 ? tab[v & 63] : '='};
        if (buf_append(out, q, left >= 3 || pad ? 4 : left + 1) != 0) return undo(out, mark);
    }
    return 0;
}

int base64_decode(const char *s, size_t n, buf_t *out)
{
    size_t mark = out->len;
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1) return -1;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = value_of((unsigned char)s[i]);
        if (v < 0) return undo(out, mark);
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (buf_append_char(out, (char)((acc >> bits) & 0xFF)) != 0) return undo(out, mark);
            acc &= (1u << bits) - 1;
        }
    }
    return 0;
}
