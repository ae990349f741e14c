/* Environment variables of the fake programs beyond the shared table of common/config.c (which holds
 * LOG_LEVEL and BACKEND_URL): each program lists its own in a table for --help, reads them once in main
 * with validation, and exits with one line naming the variable when a value is wrong. */
#ifndef PS_FAKE_ENV_H
#define PS_FAKE_ENV_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    const char *name;
    const char *def; /* shown by --help; NULL: no default */
    const char *help;
} fake_env_var_t;

/* Prints "Usage: <usage> [--help]", the shared variables (config_print_help), then the program's own. */
void fake_env_print_help(FILE *out, const char *usage, const fake_env_var_t *vars, size_t n);
/* An integer in min..max; `def` when unset or empty. Returns 0, or -1 with one line in err. */
int fake_env_int(const char *name, int def, int min, int max, int *out, char *err, size_t errlen);
/* An http(s) URL without a trailing slash, copied into out (outlen bytes); `def` when unset or empty.
 * Returns 0, or -1 with one line in err. */
int fake_env_url(const char *name, const char *def, char *out, size_t outlen, char *err, size_t errlen);
/* The variable's value, or NULL when unset or empty. Borrowed from the environment. */
const char *fake_env_str(const char *name);

#endif
