/* Validated environment variables of the fake programs (see fake_env.h). */
#include "fake_env.h"
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void fake_env_print_help(FILE *out, const char *usage, const fake_env_var_t *vars, size_t n)
{
    config_print_help(out, usage, CFG_FAKE);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-22s default %s\n  %-22s %s\n", vars[i].name, vars[i].def ? vars[i].def : "(none)",
                "", vars[i].help);
}

const char *fake_env_str(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int fake_env_int(const char *name, int def, int min, int max, int *out, char *err, size_t errlen)
{
    const char *v = fake_env_str(name);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < min || n > max) {
        snprintf(err, errlen, "%s: \"%s\" is not an integer in %d..%d", name, v, min, max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

int fake_env_url(const char *name, const char *def, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *v = fake_env_str(name);
    if (v == NULL) v = def;
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == '/')
        n--;
    int scheme = strncmp(v, "http://", 7) == 0 ? 7 : strncmp(v, "https://", 8) == 0 ? 8 : 0;
    if (!scheme || n <= (size_t)scheme || n >= outlen) {
        snprintf(err, errlen, "%s: \"%.200s\" is not an http(s) URL", name, v);
        return -1;
    }
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}
