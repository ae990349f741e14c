/* Internal to the stack-trace parser (stacktrace*.c): a line reader, slice helpers, the builder every
 * format parser fills the result through, and the per-format parsers. Each format parser reads the
 * whole text, keeps what it recognises and ignores the rest; the builder enforces the bounds. */
#ifndef PS_ANALYSIS_STACKTRACE_INT_H
#define PS_ANALYSIS_STACKTRACE_INT_H

#include "stacktrace.h"

/* Lines of a text; '\r' before '\n' is dropped. */
typedef struct {
    const char *p, *end;
} st_lines_t;

typedef struct {
    an_slice_t raw;  /* the whole line */
    an_slice_t text; /* without leading and trailing white space */
    size_t indent;   /* leading white-space bytes */
} st_line_t;

void st_lines_init(st_lines_t *l, const char *text, size_t len);
/* Returns 1 with the next line, 0 at the end. */
int st_lines_next(st_lines_t *l, st_line_t *out);

an_slice_t st_slice(const char *p, size_t n);
an_slice_t st_trim(an_slice_t s);
/* s without its first k bytes (k <= s.n). */
an_slice_t st_skip(an_slice_t s, size_t k);
int st_starts(an_slice_t s, const char *prefix);
int st_ends(an_slice_t s, const char *suffix);
int st_equals(an_slice_t s, const char *lit);
/* Offset of the first occurrence of `lit` in s, or -1. */
long st_find(an_slice_t s, const char *lit);
/* Offset of the last occurrence of `lit` in s, or -1. */
long st_rfind(an_slice_t s, const char *lit);
/* Decimal digits as a line number: 0 when empty, not all digits, or past 9 digits. */
int st_number(an_slice_t s);
/* When s ends with ')', the offset of the '(' that opens it; else -1. */
long st_open_paren_of_last(an_slice_t s);

/* "Type: message" or "Type" (Node's "Error [CODE]: message" too). `strict` also demands that the
 * type look like an exception class: qualified (a '.') or ending in Exception/Error/Throwable/Fault.
 * Returns 1 with type and message (trimmed; may be empty), else 0. */
int st_header(an_slice_t s, int strict, an_slice_t *type, an_slice_t *message);

/* Builder. Appends an exception to the chain; returns its index, or -1 when the chain is full (it
 * is then counted in chain_dropped). */
int st_add_exception(analysis_stacktrace_t *st, an_slice_t type, an_slice_t message);
/* Adds a frame to exception `exc` (ignored when exc < 0). Frames of one exception must be added
 * together; past the caps they are counted in `omitted`. */
void st_add_frame(analysis_stacktrace_t *st, int exc, an_slice_t function, an_slice_t file, int line);
/* Reverses the chain, for formats that print the root cause first (Python, Go). */
void st_reverse_chain(analysis_stacktrace_t *st);

/* The format parsers: fill st (format already set, counts zero). */
void st_parse_python(const char *text, size_t len, analysis_stacktrace_t *st);
void st_parse_jvm(const char *text, size_t len, analysis_stacktrace_t *st);
void st_parse_go(const char *text, size_t len, analysis_stacktrace_t *st);
void st_parse_node(const char *text, size_t len, analysis_stacktrace_t *st);
void st_parse_dotnet(const char *text, size_t len, analysis_stacktrace_t *st);

/* Whether a frame is application code, by the format's conventions (stacktrace_classify.c). */
int st_is_app(analysis_st_format_t f, an_slice_t function, an_slice_t file);

#endif
