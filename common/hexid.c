/* Hex and base64 ids, traceparent (see hexid.h). */
#include "hexid.h"
#include "base64.h"

#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int all_zero(const char *hex)
{
    for (; *hex; hex++)
        if (*hex != '0') return 0;
    return 1;
}

static int from_hex(const char *s, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        int v = hexval(s[i]);
        if (v < 0) return -1;
        out[i] = "0123456789abcdef"[v];
    }
    out[n] = '\0';
    return 0;
}

static int from_base64(const char *s, size_t n, size_t nbytes, char *out)
{
    buf_t bytes;
    buf_init(&bytes, 32);
    int ok = base64_decode(s, n, &bytes) == 0 && bytes.len == nbytes;
    for (size_t i = 0; ok && i < nbytes; i++) {
        unsigned char b = (unsigned char)bytes.data[i];
        out[2 * i] = "0123456789abcdef"[b >> 4];
        out[2 * i + 1] = "0123456789abcdef"[b & 15];
    }
    if (ok) out[2 * nbytes] = '\0';
    buf_dispose(&bytes);
    return ok ? 0 : -1;
}

int hexid_parse(const char *s, size_t n, size_t nbytes, char *out, const char **why)
{
    int ok = n == 2 * nbytes ? from_hex(s, n, out) == 0 : from_base64(s, n, nbytes, out) == 0;
    if (!ok) {
        *why = nbytes == TRACE_ID_BYTES ? "expected 32 hex digits (or 16 bytes in base64)"
                                        : "expected 16 hex digits (or 8 bytes in base64)";
        return -1;
    }
    if (all_zero(out)) {
        *why = "an all-zero id is invalid";
        return -1;
    }
    return 0;
}

int ids_parse_trace_id(const char *s, size_t n, char out[33])
{
    return n == 32 && from_hex(s, n, out) == 0 && !all_zero(out) ? 0 : -1;
}

int traceparent_parse(const char *s, size_t n, char trace[33], char span[17], int *sampled)
{
    if (n < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-') return -1;
    if (hexval(s[0]) < 0 || hexval(s[1]) < 0 || (s[0] == 'f' && s[1] == 'f')) return -1;
    if (from_hex(s + 3, 32, trace) != 0 || from_hex(s + 36, 16, span) != 0) return -1;
    if (all_zero(trace) || all_zero(span)) return -1;
    int f1 = hexval(s[53]), f2 = hexval(s[54]);
    if (f1 < 0 || f2 < 0) return -1;
    /* version 00 is exactly 55 characters; only later versions may append "-fields" */
    if (n > 55 && (s[55] != '-' || (s[0] == '0' && s[1] == '0'))) return -1;
    *sampled = f2 & 1;
    return 0;
}

void traceparent_format(const char *trace, const char *span, char out[56])
{
    snprintf(out, 56, "00-%.32s-%.16s-01", trace, span);
}
