/* Error fingerprints and message templates, pure. Two failures of the same kind get the same
 * fingerprint whatever ids, numbers, hex values, uuids, timestamps or quoted values their messages
 * carry, and whatever line numbers their frames have; a different service or exception type gives a
 * different one. Fingerprints group traces into incidents. */
#ifndef PS_ANALYSIS_FINGERPRINT_H
#define PS_ANALYSIS_FINGERPRINT_H

#include "stacktrace.h"

#include <stddef.h>

/* 32 lowercase hex digits and a NUL. */
#define ANALYSIS_FP_SIZE 33

/* Writes the template of msg[0..len) into out (at most outlen-1 bytes, NUL-terminated, cut on a
 * character boundary): uuids become <uuid>, timestamps <ts>, 0x.. and long hex ids <hex>, numbers
 * <num>, quoted values '<str>' (the quote kept), runs of white space one space. Returns the length
 * written. */
size_t analysis_message_template(const char *msg, size_t len, char *out, size_t outlen);

typedef struct {
    const char *service;                /* required */
    const char *kind;                   /* "error", "slow" or "none" */
    const char *exception_type;         /* as reported; NULL or "" when none */
    const char *root_cause_type;        /* root of the cause chain; NULL or "" when none */
    const analysis_stacktrace_t *stack; /* may be NULL; its top frames count (names and files) */
    const char *message;                /* counts (as a template) only when there are no frames */
    const char *operation;              /* counts (as a template) only when there is no exception type */
} analysis_fp_input_t;

/* Writes the fingerprint of `in` into out. */
void analysis_fingerprint(const analysis_fp_input_t *in, char out[ANALYSIS_FP_SIZE]);

#endif
