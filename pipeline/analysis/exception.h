/* The exception behind a failing span, pure: from its exception events (OpenTelemetry's
 * exception.type / exception.message / exception.stacktrace), else from the stack trace of an error
 * log tied to it. The stack trace is parsed (stacktrace.h) for the cause chain, its root cause and
 * the innermost application frame. */
#ifndef PS_ANALYSIS_EXCEPTION_H
#define PS_ANALYSIS_EXCEPTION_H

#include "loglink.h"
#include "spantree.h"
#include "stacktrace.h"

#define ANALYSIS_EXC_TEXT 256
#define ANALYSIS_EXC_MESSAGE 512

typedef struct {
    int present;                  /* an exception type or a parsed stack trace was found */
    char source[96];              /* evidence id: "span:<id>" (an event) or "log:<n>" (a log) */
    char type[ANALYSIS_EXC_TEXT]; /* as reported ("" when only a message is known) */
    char message[ANALYSIS_EXC_MESSAGE];
    char root_type[ANALYSIS_EXC_TEXT]; /* root of the cause chain; == type without a chain */
    char root_message[ANALYSIS_EXC_MESSAGE];
    int has_frame; /* the innermost application frame: */
    char frame_function[ANALYSIS_EXC_TEXT], frame_file[ANALYSIS_EXC_TEXT];
    int frame_line;
    int has_stack;
    analysis_stacktrace_t stack; /* parsed; borrows `text` */
    char *text;                  /* owned copy of the stack-trace text; NULL without one */
} analysis_exc_info_t;

/* 1 when the span's events (events_json) hold an exception event. */
int analysis_span_has_exception(const analysis_span_t *s);

/* Fills out for node x (out->present = 0 when nothing is found). Returns 0. Dispose with
 * analysis_exc_info_dispose(). */
int analysis_exception_of(const analysis_tree_t *t, const analysis_logs_t *logs, int x,
                          analysis_exc_info_t *out);
void analysis_exc_info_dispose(analysis_exc_info_t *e);

#endif
