/* Small string helpers shared by the analysis files (internal to pipeline/analysis): NULL-safe
 * comparison, bounded copies that never split a UTF-8 character, JSON strings that are always valid
 * UTF-8 whatever the input bytes, case-insensitive search, and durations in plain English. */
#ifndef PS_ANALYSIS_STRUTIL_H
#define PS_ANALYSIS_STRUTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed run of bytes, not NUL-terminated. */
typedef struct {
    const char *p;
    size_t n;
} an_slice_t;

/* `s`, or "" for NULL. */
static inline const char *an_str(const char *s)
{
    return s ? s : "";
}

/* strcmp that orders NULL before every string. */
int an_strcmp(const char *a, const char *b);
/* Copies at most cap-1 bytes of src[0..n) into dst (cap > 0), cut back to a UTF-8 character
 * boundary, NUL-terminated. Returns 1 when something was cut, else 0. */
int an_copy(char *dst, size_t cap, const char *src, size_t n);
/* Length of the longest prefix of s[0..n) that is at most `max` bytes and ends on a character
 * boundary. */
size_t an_utf8_cut(const char *s, size_t n, size_t max);
/* A JSON string of s[0..n) cut to at most `max` bytes; bytes that are not valid UTF-8 become '?'.
 * Never NULL (new reference). *cut, when not NULL, is set to 1 when the text was shortened. */
json_t *an_json_str(const char *s, size_t n, size_t max, int *cut);
/* an_json_str of a NUL-terminated string (NULL gives ""). */
json_t *an_json_cstr(const char *s, size_t max);
/* 1 when `needle` (lowercase ASCII) occurs in s[0..n), ignoring ASCII case. */
int an_contains_ci(const char *s, size_t n, const char *needle);
/* 1 when s starts with `prefix` (exact case). */
int an_starts(const char *s, size_t n, const char *prefix);
/* Milliseconds, rounded to the microsecond, for JSON. */
double an_ms(int64_t ns);
/* "850 ms", "3.2 s", "0.4 ms", "2 min 5 s" into out. */
void an_fmt_duration(int64_t ns, char *out, size_t outlen);
/* The canonical text of v: compact, keys in insertion order, reals with 10 significant digits.
 * malloc'd (caller frees); NULL only when v is NULL. */
char *an_json_dump(const json_t *v);
/* 1 when the span id means "no parent": NULL, "" or only zeros. */
int an_is_null_id(const char *id);

#endif
