/* The compose files read as text (no Docker needed): docker-compose.yml (the single stack) and
 * docker-compose.scale.yml (the scale-out example: PostgreSQL primary and replica, Redis under three
 * Sentinels, two backends, three pipelines). Against issue 14, points 2 and 7, in both: no application
 * container connects as the PostgreSQL superuser, every secret's default is a placeholder the programs
 * refuse at start (config.c's check, run here on each default), and the fake services' control endpoints
 * are enabled nowhere. Against common/config.c's table: every backend and pipeline service passes every
 * option of its program (so a new option fails here until it is passed, or exempted below with the
 * reason), with the program's own default unless the container needs another, and the programs accept
 * the environment compose gives them; docker/.env.example lists exactly the variables the files read.
 * The scale file passes what the single one passes but for the lines that make its topology, and its
 * programs find Redis through its own Sentinels and read the replica; in both files a service waited for
 * has a health check (or is a one-shot), and every file mounted from the repository exists.
 * With docker-compose installed, `docker-compose config` accepts both files. */
#include "config.h"
#include "ts.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { SINGLE, SCALE, NFILES };

static const char *const files[NFILES] = {"docker-compose.yml", "docker-compose.scale.yml"};

/* Floors of what each file holds, so that a parser that finds nothing fails. */
static const struct {
    int urls;    /* postgresql:// URLs: the owner (migrate) and the three program roles */
    int secrets; /* 3 keys, the superuser's and 4 role passwords (+ the replication login's) */
} floors[NFILES] = {{4, 8}, {4, 9}};

/* The services that run the backend's or the pipeline's configuration. `serves`: 0 for migrate, which
 * runs the backend's configuration without the TLS files and without every option (it serves nothing). */
static const struct {
    int file;
    const char *service;
    int program;
    int serves;
    const char *single; /* the service of docker-compose.yml it copies (scale file) */
} programs[] = {
    {SINGLE, "backend", CFG_BACKEND, 1, NULL},          {SINGLE, "pipeline", CFG_PIPELINE, 1, NULL},
    {SINGLE, "migrate", CFG_BACKEND, 0, NULL},          {SCALE, "backend-1", CFG_BACKEND, 1, "backend"},
    {SCALE, "backend-2", CFG_BACKEND, 1, "backend"},    {SCALE, "pipeline-1", CFG_PIPELINE, 1, "pipeline"},
    {SCALE, "pipeline-2", CFG_PIPELINE, 1, "pipeline"}, {SCALE, "pipeline-3", CFG_PIPELINE, 1, "pipeline"},
    {SCALE, "migrate", CFG_BACKEND, 0, "migrate"},
};
#define NPROGRAMS (sizeof(programs) / sizeof(*programs))

/* The whole file `rel` under PS_SOURCE_DIR; caller frees. */
static char *read_source(const char *rel)
{
    const char *src = getenv("PS_SOURCE_DIR");
    ck_assert_msg(src != NULL, "PS_SOURCE_DIR is not set");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", src, rel);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* 1 when `rel` exists under PS_SOURCE_DIR. */
static int source_exists(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", getenv("PS_SOURCE_DIR"), rel);
    return access(path, F_OK) == 0;
}

/* 1 when `p` lies on a comment line of `yaml`: what compose does not read. */
static int is_comment_at(const char *yaml, const char *p)
{
    const char *line = p;
    while (line > yaml && line[-1] != '\n')
        line--;
    line += strspn(line, " ");
    return *line == '#';
}

/* ---------------- secrets and roles ---------------- */

START_TEST(no_application_container_connects_as_the_superuser)
{
    static const char *const roles[] = {"prodsentinel", "prodsentinel_ingest", "prodsentinel_query",
                                        "prodsentinel_pipeline"};
    char *yaml = read_source(files[_i]);
    int urls = 0;
    for (const char *p = yaml; (p = strstr(p, "postgresql://")) != NULL; p++) {
        if (is_comment_at(yaml, p)) continue;
        const char *user = p + strlen("postgresql://");
        size_t n = strcspn(user, ":@/");
        int known = 0;
        for (size_t i = 0; i < sizeof(roles) / sizeof(*roles); i++)
            known |= strlen(roles[i]) == n && strncmp(user, roles[i], n) == 0;
        ck_assert_msg(known, "%s: a database URL connects as \"%.*s\"", files[_i], (int)n, user);
        urls++;
    }
    ck_assert_int_ge(urls, floors[_i].urls);
    /* the superuser's name appears once: the (primary) postgres container's own POSTGRES_USER */
    const char *su = strstr(yaml, "POSTGRES_USER:");
    ck_assert_ptr_nonnull(su);
    ck_assert_ptr_null(strstr(su + 1, "POSTGRES_USER:"));
    free(yaml);
}
END_TEST

/* config_load() of the backend with `name`=`value` (every other secret good). Returns its result. */
static int backend_loads_with(const char *name, const char *value, char *err, size_t errlen)
{
    setenv("INGEST_API_KEYS", "a-good-key-0123456789-i", 1);
    setenv("READ_API_KEYS", "a-good-key-0123456789-r", 1);
    setenv("ADMIN_API_KEY", "a-good-key-0123456789-a", 1);
    unsetenv("DATABASE_URL");
    setenv(name, value, 1);
    config_t cfg;
    int rc = config_load(&cfg, CFG_BACKEND, err, errlen);
    if (rc == 0) config_dispose(&cfg);
    return rc;
}

/* 1 when compose's variable `name` holds a secret: an API key or a password (not RATE_LIMIT_PER_KEY). */
static int is_secret_var(const char *name)
{
    return strstr(name, "API_KEY") != NULL || strstr(name, "PASSWORD") != NULL;
}

START_TEST(every_default_secret_is_a_placeholder_the_programs_refuse)
{
    char *yaml = read_source(files[_i]);
    int secrets = 0;
    for (const char *p = yaml; (p = strstr(p, "${")) != NULL; p++) {
        if (is_comment_at(yaml, p)) continue;
        const char *name = p + 2, *sep = strstr(name, ":-"), *end = strchr(name, '}');
        if (sep == NULL || end == NULL || sep > end) continue;
        char var[128], def[256];
        snprintf(var, sizeof(var), "%.*s", (int)(sep - name), name);
        snprintf(def, sizeof(def), "%.*s", (int)(end - sep - 2), sep + 2);
        if (!is_secret_var(var)) continue;
        if (def[0] == '\0') continue; /* empty: an extra key list, or no LLM key (no LLM) */
        secrets++;
        char err[512], url[512];
        /* refused as an API key and as a database password alike */
        ck_assert_msg(backend_loads_with("READ_API_KEYS", def, err, sizeof(err)) != 0,
                      "%s: ${%s}'s default \"%s\" is accepted as a key", files[_i], var, def);
        snprintf(url, sizeof(url), "postgresql://prodsentinel:%s@postgres:5432/prodsentinel", def);
        ck_assert_msg(backend_loads_with("DATABASE_URL", url, err, sizeof(err)) != 0,
                      "%s: ${%s}'s default \"%s\" is accepted as a password", files[_i], var, def);
    }
    ck_assert_int_ge(secrets, floors[_i].secrets);
    free(yaml);
}
END_TEST

START_TEST(fake_control_endpoints_are_not_enabled)
{
    char *yaml = read_source(files[_i]);
    for (const char *p = yaml; (p = strstr(p, "FAKE_CONTROL")) != NULL; p++)
        ck_assert_msg(is_comment_at(yaml, p), "FAKE_CONTROL is set in %s", files[_i]);
    free(yaml);
}
END_TEST

/* ---------------- mappings compose gives a service, read from the text ---------------- */

/* Enough for these files' services; a larger one fails map_set's assertion, not silently. */
#define MAP_MAX 128

typedef struct {
    char name[64];
    char value[512]; /* as written: ${VAR:-default} not yet interpolated, quotes removed */
} map_entry_t;

/* A service's environment (name: value) or depends_on (service: condition). */
typedef struct {
    map_entry_t e[MAP_MAX];
    int n;
} map_t;

static const char *map_get(const map_t *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->e[i].name, name) == 0) return m->e[i].value;
    return NULL;
}

static void map_set(map_t *m, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') value++, vlen -= 2;
    int i = 0;
    while (i < m->n && !(strlen(m->e[i].name) == nlen && strncmp(m->e[i].name, name, nlen) == 0))
        i++;
    if (i == m->n) {
        ck_assert_int_lt(m->n, MAP_MAX);
        ck_assert_uint_lt(nlen, sizeof(m->e[i].name));
        m->n++;
    }
    ck_assert_uint_lt(vlen, sizeof(m->e[i].value));
    snprintf(m->e[i].name, sizeof(m->e[i].name), "%.*s", (int)nlen, name);
    snprintf(m->e[i].value, sizeof(m->e[i].value), "%.*s", (int)vlen, value);
}

/* The start of the line after the one at `p`, or NULL at the end. */
static const char *next_line(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? nl + 1 : NULL;
}

/* The line at column 0 of `yaml` that starts with `head` followed by the end of the line, or NULL. */
static const char *find_line(const char *yaml, const char *head)
{
    size_t n = strlen(head);
    for (const char *p = yaml; p; p = next_line(p))
        if (strncmp(p, head, n) == 0 && (p[n] == '\n' || p[n] == '\0')) return p;
    return NULL;
}

/* The top-level line anchoring `&name` (x-...: &name), `name` being `n` bytes; fails when missing. */
static const char *find_anchor(const char *yaml, const char *name, size_t n)
{
    for (const char *l = yaml; l; l = next_line(l)) {
        const char *amp = strstr(l, ": &");
        const char *eol = strchr(l, '\n');
        if (l[0] != ' ' && l[0] != '#' && amp && (!eol || amp < eol) && strncmp(amp + 3, name, n) == 0 &&
            (amp[3 + n] == '\n' || amp[3 + n] == '\0'))
            return l;
    }
    ck_abort_msg("anchor &%.*s not found", (int)n, name);
    return NULL;
}

typedef void (*read_fn)(const char *yaml, const char *header, int indent, map_t *m);

/* `<<: *a` or `<<: [*a, *b]`: each anchored top-level mapping read with `read`. YAML lets the first of a
 * list win a repeated key, this the last: the files repeat none across merged anchors. */
static void merge_anchors(const char *yaml, const char *list, size_t len, read_fn read, map_t *m)
{
    for (const char *p = list; (p = memchr(p, '*', len - (size_t)(p - list))) != NULL;) {
        size_t n = strcspn(p + 1, ",] \n");
        read(yaml, find_anchor(yaml, p + 1, n), 2, m);
        p += 1 + n;
    }
}

/* The next line exactly `indent` spaces deep in the block below a line, starting after `p` (the block's
 * header line, then the previous result): a pointer past its indentation, or NULL at the end of the block
 * (a line less deep). Comments, blank lines and deeper lines are skipped. */
static const char *next_at(const char *p, int indent)
{
    for (p = next_line(p); p && *p; p = next_line(p)) {
        int depth = (int)strspn(p, " ");
        if (p[depth] == '#' || p[depth] == '\n' || depth > indent) continue;
        return depth == indent ? p + depth : NULL;
    }
    return NULL;
}

/* The `KEY: value` lines `indent` spaces deep below the line `header` (merges included). */
static void read_env(const char *yaml, const char *header, int indent, map_t *m)
{
    for (const char *key = header; (key = next_at(key, indent)) != NULL;) {
        size_t len = strcspn(key, "\n");
        const char *colon = strstr(key, ": ");
        ck_assert_msg(colon && colon < key + len, "not a KEY: value line: %.*s", (int)len, key);
        const char *value = colon + 2;
        size_t vlen = len - (size_t)(value - key);
        if (strncmp(key, "<<:", 3) == 0)
            merge_anchors(yaml, value, vlen, read_env, m);
        else
            map_set(m, key, (size_t)(colon - key), value, vlen);
    }
}

/* depends_on's `service:` lines `indent` deep below `header` (merges included), each with the value of
 * its `condition:` line below it ("" without one). */
static void read_depends(const char *yaml, const char *header, int indent, map_t *m)
{
    for (const char *key = header; (key = next_at(key, indent)) != NULL;) {
        size_t len = strcspn(key, "\n");
        if (strncmp(key, "<<: ", 4) == 0) {
            merge_anchors(yaml, key + 4, len - 4, read_depends, m);
            continue;
        }
        ck_assert_msg(len > 1 && key[len - 1] == ':', "depends_on: not a \"service:\" line: %.*s", (int)len,
                      key);
        const char *cond = "";
        size_t clen = 0;
        const char *below = next_line(key);
        if (below && (int)strspn(below, " ") > indent) {
            below += strspn(below, " ");
            if (strncmp(below, "condition: ", 11) == 0) {
                cond = below + 11;
                clen = strcspn(cond, "\n");
            }
        }
        map_set(m, key, len - 1, cond, clen);
    }
}

/* The line of `service`'s key `field` (e.g. "environment"), or NULL when it has none. Fails when the
 * service is missing. */
static const char *service_field(const char *yaml, const char *service, const char *field)
{
    char head[80];
    snprintf(head, sizeof(head), "  %s:", service);
    /* below `services:`: an anchored depends_on block above names services at the same depth */
    const char *services = find_line(yaml, "services:");
    ck_assert_ptr_nonnull(services);
    const char *s = find_line(services, head);
    ck_assert_msg(s != NULL, "service %s not found", service);
    size_t n = strlen(field);
    for (const char *p = next_line(s); p && *p; p = next_line(p)) {
        int depth = (int)strspn(p, " ");
        if (p[depth] == '#' || p[depth] == '\n') continue;
        if (depth <= 2) break; /* the next service */
        if (depth == 4 && strncmp(p + 4, field, n) == 0 && p[4 + n] == ':') return p;
    }
    return NULL;
}

/* The environment compose gives `service`, as written in the file. */
static void service_env(const char *yaml, const char *service, map_t *env)
{
    memset(env, 0, sizeof(*env));
    const char *e = service_field(yaml, service, "environment");
    ck_assert_msg(e != NULL, "service %s has no environment", service);
    read_env(yaml, e, 6, env);
}

/* The services `service` waits for, with their conditions (empty when it has no depends_on). */
static void service_depends(const char *yaml, const char *service, map_t *deps)
{
    memset(deps, 0, sizeof(*deps));
    const char *d = service_field(yaml, service, "depends_on");
    if (d) read_depends(yaml, d, 6, deps);
}

/* Every service of the file (the names under `services:`), into `names` (values empty). */
static void list_services(const char *yaml, map_t *names)
{
    memset(names, 0, sizeof(*names));
    const char *s = find_line(yaml, "services:");
    ck_assert_ptr_nonnull(s);
    for (const char *key = s; (key = next_at(key, 2)) != NULL;) {
        size_t len = strcspn(key, "\n");
        ck_assert_msg(len > 1 && key[len - 1] == ':', "services: not a \"name:\" line: %.*s", (int)len, key);
        map_set(names, key, len - 1, "", 0);
    }
}

/* `value` with each ${NAME:-default} replaced by its default (what compose does without docker/.env);
 * with `good_secrets`, a key's or password's non-empty default (a placeholder) by a secret the programs
 * accept. $$ is a literal $. */
static void interpolate(const char *value, int good_secrets, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = value; *p;) {
        const char *rep = p;
        size_t rlen = 1;
        if (p[0] == '$' && p[1] == '$') {
            p += 2;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p, '}'), *sep = strstr(p, ":-");
            ck_assert_ptr_nonnull(end);
            char name[64];
            size_t nlen = (sep && sep < end ? sep : end) - (p + 2);
            snprintf(name, sizeof(name), "%.*s", (int)nlen, p + 2);
            rep = sep && sep < end ? sep + 2 : end;
            rlen = (size_t)(end - rep);
            if (good_secrets && rlen > 0 && is_secret_var(name)) {
                rep = "a-good-secret-0123456789";
                rlen = strlen(rep);
            }
            p = end + 1;
        } else {
            p++;
        }
        ck_assert_uint_lt(o + rlen, outlen);
        memcpy(out + o, rep, rlen);
        o += rlen;
    }
    out[o] = '\0';
}

/* ---------------- every option of the programs, with their defaults ---------------- */

/* Options a program's services deliberately do not pass, and why. Each entry must stay true: the option
 * exists and is indeed not passed. */
static const struct {
    int program;
    const char *name, *why;
} not_passed[] = {
    {CFG_BACKEND, "INSTANCE_ID", "each container's <hostname>-<pid>; one value would be shared by all"},
    {CFG_PIPELINE, "INSTANCE_ID", "each container's <hostname>-<pid>; one value would be shared by all"},
    {CFG_BACKEND, "MIGRATIONS_DIR", "the image's ENV: where the image holds them"},
    {CFG_BACKEND, "FRONTEND_DIR", "the image's ENV: where the image holds the dashboard"},
    {CFG_PIPELINE, "DATABASE_URL", "the owner's password stays out of the pipeline (PIPELINE_DATABASE_URL)"},
};

/* Options a container sets to something other than the program's default, and in which files. */
#define BOTH ((1 << SINGLE) | (1 << SCALE))
static const struct {
    const char *name;
    int files;
} container_values[] = {
    {"BIND_ADDR", BOTH},                /* every interface of the container, or nothing reaches it */
    {"REDIS_URL", BOTH},                /* the redis service (scale: only its database is used) */
    {"DATABASE_URL", BOTH},             /* the postgres service, with the owner's password */
    {"INGEST_DATABASE_URL", BOTH},      /* ... and one role per program */
    {"QUERY_DATABASE_URL", BOTH},       /* (scale: the replica) */
    {"QUERY_WRITE_DATABASE_URL", BOTH}, /* */
    {"PIPELINE_DATABASE_URL", BOTH},    /* */
    {"INGEST_API_KEYS", BOTH},          /* required: placeholders the programs refuse (see above) */
    {"READ_API_KEYS", BOTH},            /* */
    {"ADMIN_API_KEY", BOTH},            /* */
    {"REDIS_SENTINELS", 1 << SCALE},    /* the file's own three Sentinels */
};

static int is_not_passed(int program, const char *name)
{
    for (size_t i = 0; i < sizeof(not_passed) / sizeof(*not_passed); i++)
        if (not_passed[i].program == program && strcmp(not_passed[i].name, name) == 0) return 1;
    return 0;
}

START_TEST(every_option_of_the_programs_is_passed)
{
    char *yaml = read_source(files[_i]);
    map_t env;
    int services = 0;
    for (size_t s = 0; s < NPROGRAMS; s++) {
        if (programs[s].file != _i || !programs[s].serves) continue;
        services++;
        service_env(yaml, programs[s].service, &env);
        const char *def, *name;
        int mask, checked = 0;
        for (size_t i = 0; (name = config_var(i, &def, &mask)) != NULL; i++) {
            if (!(mask & programs[s].program)) continue;
            checked++;
            if (is_not_passed(programs[s].program, name)) {
                ck_assert_msg(map_get(&env, name) == NULL, "%s: %s passes %s: drop it from not_passed[]",
                              files[_i], programs[s].service, name);
                continue;
            }
            ck_assert_msg(map_get(&env, name) != NULL,
                          "%s: the %s service does not pass %s; add \"%s: ${%s:-%s}\" (and a line in "
                          "docker/.env.example), or list it in not_passed[] with the reason",
                          files[_i], programs[s].service, name, name, name, def ? def : "");
        }
        ck_assert_int_ge(checked, 30);
    }
    ck_assert_int_ge(services, 2);
    for (size_t i = 0; i < sizeof(not_passed) / sizeof(*not_passed); i++) {
        const char *def, *name;
        int mask, found = 0;
        for (size_t j = 0; (name = config_var(j, &def, &mask)) != NULL; j++)
            found |= strcmp(name, not_passed[i].name) == 0 && (mask & not_passed[i].program);
        ck_assert_msg(found, "not_passed[]: %s is no option of that program", not_passed[i].name);
    }
    free(yaml);
}
END_TEST

START_TEST(compose_defaults_are_the_programs_own)
{
    char *yaml = read_source(files[_i]);
    map_t env;
    for (size_t s = 0; s < NPROGRAMS; s++) {
        if (programs[s].file != _i) continue;
        service_env(yaml, programs[s].service, &env);
        const char *def, *name;
        int mask;
        for (size_t i = 0; (name = config_var(i, &def, &mask)) != NULL; i++) {
            const char *value = map_get(&env, name);
            if (value == NULL) continue;
            int container = 0;
            for (size_t c = 0; c < sizeof(container_values) / sizeof(*container_values); c++)
                container |=
                    strcmp(container_values[c].name, name) == 0 && (container_values[c].files >> _i & 1);
            char got[512];
            interpolate(value, 0, got, sizeof(got));
            ck_assert_msg(container || (def && strcmp(got, def) == 0),
                          "%s: %s's %s defaults to \"%s\", the program's default is \"%s\"", files[_i],
                          programs[s].service, name, got, def ? def : "(required)");
            ck_assert_msg(!container || strcmp(got, def ? def : "") != 0,
                          "%s: %s: drop it from container_values[] for this file", files[_i], name);
        }
    }
    free(yaml);
}
END_TEST

/* Every variable of the programs is unset, then `env` (interpolated, with good secrets) is set. */
static void apply_env(const map_t *env)
{
    const char *def, *name;
    int mask;
    for (size_t i = 0; (name = config_var(i, &def, &mask)) != NULL; i++)
        unsetenv(name);
    for (int i = 0; i < env->n; i++) {
        char v[512];
        interpolate(env->e[i].value, 1, v, sizeof(v));
        setenv(env->e[i].name, v, 1);
    }
}

START_TEST(the_programs_accept_the_compose_environment)
{
    char *yaml = read_source(files[_i]);
    map_t env;
    for (size_t s = 0; s < NPROGRAMS; s++) {
        if (programs[s].file != _i) continue;
        service_env(yaml, programs[s].service, &env);
        apply_env(&env);
        config_t cfg;
        char err[512] = "";
        ck_assert_msg(config_load(&cfg, programs[s].program, err, sizeof(err)) == 0, "%s: %s: %s", files[_i],
                      programs[s].service, err);
        if (programs[s].serves) {
            ck_assert_ptr_null(cfg.alert_webhooks);
            ck_assert_ptr_null(cfg.edge.tls_cert_file);
        }
        config_dispose(&cfg);
    }
    free(yaml);
}
END_TEST

/* 1 when docker/.env.example sets `name` (a line "NAME=..."). */
static int env_example_sets(const char *example, const char *name, size_t n)
{
    for (const char *p = example; p; p = next_line(p))
        if (strncmp(p, name, n) == 0 && p[n] == '=') return 1;
    return 0;
}

/* Where `yaml` reads `${ref...` (ref is "${NAME") other than in a comment: just past the name, or NULL. */
static const char *find_ref(const char *yaml, const char *ref)
{
    for (const char *q = yaml; (q = strstr(q, ref)) != NULL; q++)
        if (!is_comment_at(yaml, q) && strchr(":}", q[strlen(ref)]) != NULL) return q + strlen(ref);
    return NULL;
}

START_TEST(env_example_lists_exactly_the_variables_compose_reads)
{
    char *example = read_source("docker/.env.example");
    char *yaml[NFILES];
    int vars = 0;
    for (int f = 0; f < NFILES; f++) {
        yaml[f] = read_source(files[f]);
        for (const char *p = yaml[f]; (p = strstr(p, "${")) != NULL; p++) {
            if (is_comment_at(yaml[f], p) || (p > yaml[f] && p[-1] == '$')) continue; /* $${...}: shell */
            size_t n = strcspn(p + 2, ":}");
            ck_assert_msg(env_example_sets(example, p + 2, n), "docker/.env.example has no line %.*s= (%s)",
                          (int)n, p + 2, files[f]);
            vars++;
        }
    }
    ck_assert_int_ge(vars, 100);
    for (const char *p = example; p; p = next_line(p)) {
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (n == 0 || p[n] != '=') continue;
        char ref[80];
        snprintf(ref, sizeof(ref), "${%.*s", (int)n, p);
        int readers = 0;
        for (int f = 0; f < NFILES; f++) {
            const char *used = find_ref(yaml[f], ref);
            if (used == NULL) continue;
            readers++;
            /* the example's value is each file's default: copying the example changes nothing but secrets */
            const char *def = strncmp(used, ":-", 2) == 0 ? used + 2 : used;
            size_t dlen = strcspn(def, "}"), vlen = strcspn(p + n + 1, "\n");
            ck_assert_msg(dlen == vlen && strncmp(def, p + n + 1, dlen) == 0,
                          "%.*s: docker/.env.example says \"%.*s\", %s's default is \"%.*s\"", (int)n, p,
                          (int)vlen, p + n + 1, files[f], (int)dlen, def);
        }
        ck_assert_msg(readers > 0, "docker/.env.example sets %.*s, which no compose file reads", (int)n, p);
    }
    for (int f = 0; f < NFILES; f++)
        free(yaml[f]);
    free(example);
}
END_TEST

/* ---------------- the scale file against the single one ---------------- */

/* What a program service of the scale file sets differently from docker-compose.yml: the topology. */
static const char *const topology[] = {
    "REDIS_URL",          /* the first master, redis-1 (only its database is used) */
    "REDIS_SENTINELS",    /* sentinel-1..3 */
    "QUERY_DATABASE_URL", /* the replica */
};

static int is_topology(const char *name)
{
    for (size_t i = 0; i < sizeof(topology) / sizeof(*topology); i++)
        if (strcmp(topology[i], name) == 0) return 1;
    return 0;
}

START_TEST(scale_services_pass_what_the_single_ones_pass)
{
    char *single = read_source(files[SINGLE]), *scale = read_source(files[SCALE]);
    map_t want, got;
    int compared = 0;
    for (size_t s = 0; s < NPROGRAMS; s++) {
        if (programs[s].file != SCALE) continue;
        service_env(single, programs[s].single, &want);
        service_env(scale, programs[s].service, &got);
        for (int i = 0; i < want.n; i++) {
            const char *name = want.e[i].name, *v = map_get(&got, name);
            ck_assert_msg(v != NULL, "%s: %s does not pass %s as docker-compose.yml's %s does", files[SCALE],
                          programs[s].service, name, programs[s].single);
            if (is_topology(name))
                ck_assert_msg(strcmp(v, want.e[i].value) != 0,
                              "%s: %s's %s is docker-compose.yml's: drop it "
                              "from topology[]",
                              files[SCALE], programs[s].service, name);
            else
                ck_assert_msg(strcmp(v, want.e[i].value) == 0,
                              "%s: %s's %s is \"%s\", docker-compose.yml's %s "
                              "has \"%s\"",
                              files[SCALE], programs[s].service, name, v, programs[s].single,
                              want.e[i].value);
            compared++;
        }
        for (int i = 0; i < got.n; i++)
            ck_assert_msg(map_get(&want, got.e[i].name) != NULL || is_topology(got.e[i].name),
                          "%s: %s passes %s, which docker-compose.yml's %s does not", files[SCALE],
                          programs[s].service, got.e[i].name, programs[s].single);
    }
    ck_assert_int_ge(compared, 200);
    free(single);
    free(scale);
}
END_TEST

/* The host of a postgresql:// URL, into `out`. */
static void url_host(const char *url, char *out, size_t outlen)
{
    const char *h = strchr(url, '@');
    ck_assert_msg(h != NULL, "no user in %s", url);
    h++;
    snprintf(out, outlen, "%.*s", (int)strcspn(h, ":/"), h);
}

/* 1 when `deps` has `service` with `condition`. */
static int waits_for(const map_t *deps, const char *service, const char *condition)
{
    const char *c = map_get(deps, service);
    return c && strcmp(c, condition) == 0;
}

START_TEST(scale_programs_use_the_sentinels_and_the_replica)
{
    char *yaml = read_source(files[SCALE]);
    map_t env, deps, services;
    list_services(yaml, &services);
    int backends = 0, pipelines = 0;
    for (size_t s = 0; s < NPROGRAMS; s++) {
        if (programs[s].file != SCALE) continue;
        const char *name = programs[s].service;
        service_env(yaml, name, &env);
        service_depends(yaml, name, &deps);
        apply_env(&env);
        config_t cfg;
        char err[512] = "";
        ck_assert_msg(config_load(&cfg, programs[s].program, err, sizeof(err)) == 0, "%s: %s", name, err);
        /* Redis: through every Sentinel the file runs (and only those), each waited for until healthy */
        ck_assert_msg(strncmp(cfg.redis_url, "redis+sentinel://", 17) == 0,
                      "%s: Redis is not reached through "
                      "Sentinel (%s)",
                      name, cfg.redis_url);
        int sentinels = 0;
        for (const char *p = cfg.redis_sentinels; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
            char host[64];
            snprintf(host, sizeof(host), "%.*s", (int)strcspn(p, ":"), p);
            ck_assert_msg(map_get(&services, host) != NULL, "%s: REDIS_SENTINELS names %s, no service", name,
                          host);
            ck_assert_msg(strncmp(host, "sentinel-", 9) == 0, "%s: %s in REDIS_SENTINELS", name, host);
            if (programs[s].serves)
                ck_assert_msg(waits_for(&deps, host, "service_healthy"), "%s does not wait for %s", name,
                              host);
            sentinels++;
        }
        int running = 0;
        for (int i = 0; i < services.n; i++)
            running += strncmp(services.e[i].name, "sentinel-", 9) == 0;
        ck_assert_int_eq(sentinels, running);
        ck_assert_int_ge(sentinels, 3);
        ck_assert_str_eq(cfg.redis_master_name, "prodsentinel");
        /* PostgreSQL: writes on the primary; the query API's reads on the replica */
        char host[64];
        if (programs[s].program == CFG_BACKEND) { /* the pipeline has no owner's URL */
            url_host(cfg.database_url, host, sizeof(host));
            ck_assert_str_eq(host, "postgres");
        }
        if (programs[s].serves && programs[s].program == CFG_BACKEND) {
            backends++;
            url_host(cfg.ingest_database_url, host, sizeof(host));
            ck_assert_str_eq(host, "postgres");
            url_host(cfg.query_write_database_url, host, sizeof(host));
            ck_assert_str_eq(host, "postgres");
            url_host(cfg.query_database_url, host, sizeof(host));
            ck_assert_str_eq(host, "postgres-replica");
        }
        if (programs[s].serves && programs[s].program == CFG_PIPELINE) {
            pipelines++;
            url_host(cfg.pipeline_database_url, host, sizeof(host));
            ck_assert_str_eq(host, "postgres");
        }
        if (programs[s].serves) {
            ck_assert_msg(waits_for(&deps, "migrate", "service_completed_successfully"), "%s: migrate", name);
            ck_assert_msg(waits_for(&deps, "postgres", "service_healthy"), "%s: postgres", name);
            ck_assert_msg(waits_for(&deps, "postgres-replica", "service_healthy"), "%s: the replica", name);
        }
        config_dispose(&cfg);
    }
    ck_assert_int_eq(backends, 2);
    ck_assert_int_eq(pipelines, 3);
    /* the replica copies the service the programs write to */
    service_env(yaml, "postgres-replica", &env);
    ck_assert_str_eq(map_get(&env, "PRIMARY_HOST"), "postgres");
    /* the Sentinels watch the name the programs ask for */
    service_env(yaml, "sentinel-1", &env);
    ck_assert_str_eq(map_get(&env, "REDIS_MASTER_NAME"), "${REDIS_MASTER_NAME:-prodsentinel}");
    free(yaml);
}
END_TEST

/* The primary runs every init script of the single stack (the roles), mounted one by one beside the
 * replication one: a script added to docker/postgres-init must be mounted here too. */
START_TEST(scale_primary_runs_every_postgres_init_script)
{
    char *yaml = read_source(files[SCALE]);
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/docker/postgres-init", getenv("PS_SOURCE_DIR"));
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int scripts = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char mount[600];
        snprintf(mount, sizeof(mount), "./docker/postgres-init/%s:/docker-entrypoint-initdb.d/%s:ro",
                 e->d_name, e->d_name);
        const char *m = strstr(yaml, mount);
        ck_assert_msg(m && !is_comment_at(yaml, m), "%s: the postgres service does not mount %s",
                      files[SCALE], mount);
        scripts++;
    }
    closedir(d);
    ck_assert_int_ge(scripts, 1);
    free(yaml);
}
END_TEST

/* ---------------- both files: start order and mounts ---------------- */

START_TEST(every_service_waited_for_has_a_health_check)
{
    char *yaml = read_source(files[_i]);
    map_t services, deps;
    list_services(yaml, &services);
    int waits = 0;
    for (int s = 0; s < services.n; s++) {
        service_depends(yaml, services.e[s].name, &deps);
        for (int d = 0; d < deps.n; d++) {
            const char *dep = deps.e[d].name, *cond = deps.e[d].value;
            ck_assert_msg(map_get(&services, dep) != NULL, "%s: %s waits for %s, no service", files[_i],
                          services.e[s].name, dep);
            if (strcmp(cond, "service_healthy") == 0) {
                /* its own test: the merged anchor gives only the timings */
                const char *hc = service_field(yaml, dep, "healthcheck"), *test = NULL;
                for (const char *k = hc; test == NULL && k && (k = next_at(k, 6)) != NULL;)
                    if (strncmp(k, "test:", 5) == 0) test = k;
                ck_assert_msg(test != NULL, "%s: %s waits for %s to be healthy; it has no health check test",
                              files[_i], services.e[s].name, dep);
            } else {
                ck_assert_msg(strcmp(cond, "service_completed_successfully") == 0,
                              "%s: %s waits for %s with condition \"%s\"", files[_i], services.e[s].name, dep,
                              cond);
                const char *r = service_field(yaml, dep, "restart");
                ck_assert_msg(r && strncmp(r + 4, "restart: \"no\"\n", 14) == 0,
                              "%s: %s waits for %s to complete, which restarts", files[_i],
                              services.e[s].name, dep);
            }
            waits++;
        }
    }
    ck_assert_int_ge(waits, _i == SCALE ? 30 : 8);
    free(yaml);
}
END_TEST

START_TEST(every_file_mounted_from_the_repository_exists)
{
    char *yaml = read_source(files[_i]);
    int mounts = 0;
    for (const char *p = yaml; (p = strstr(p, "- ./")) != NULL; p++) {
        if (is_comment_at(yaml, p)) continue;
        char rel[512];
        snprintf(rel, sizeof(rel), "%.*s", (int)strcspn(p + 4, ":\n"), p + 4);
        ck_assert_msg(source_exists(rel), "%s mounts ./%s, which does not exist", files[_i], rel);
        mounts++;
    }
    ck_assert_int_ge(mounts, 1);
    free(yaml);
}
END_TEST

/* `docker-compose -f <file> config -q` in the source tree: its exit status, or 127 without docker-compose
 * (compose reads only the file: no Docker engine is needed). */
static int compose_config(const char *file)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (chdir(getenv("PS_SOURCE_DIR")) != 0) _exit(126);
        execlp("docker-compose", "docker-compose", "-f", file, "--env-file", "docker/.env.example", "config",
               "-q", (char *)NULL);
        _exit(127);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(docker_compose_accepts_the_file)
{
    int rc = compose_config(files[_i]);
    if (rc == 127) {
        fprintf(stderr, "test_compose: docker-compose is not installed: %s not validated by it\n", files[_i]);
        return;
    }
    ck_assert_msg(rc == 0, "docker-compose config refuses %s (exit %d)", files[_i], rc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compose");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, no_application_container_connects_as_the_superuser, 0, NFILES);
    tcase_add_loop_test(tc, every_default_secret_is_a_placeholder_the_programs_refuse, 0, NFILES);
    tcase_add_loop_test(tc, fake_control_endpoints_are_not_enabled, 0, NFILES);
    tcase_add_loop_test(tc, every_option_of_the_programs_is_passed, 0, NFILES);
    tcase_add_loop_test(tc, compose_defaults_are_the_programs_own, 0, NFILES);
    tcase_add_loop_test(tc, the_programs_accept_the_compose_environment, 0, NFILES);
    tcase_add_test(tc, env_example_lists_exactly_the_variables_compose_reads);
    tcase_add_test(tc, scale_services_pass_what_the_single_ones_pass);
    tcase_add_test(tc, scale_programs_use_the_sentinels_and_the_replica);
    tcase_add_test(tc, scale_primary_runs_every_postgres_init_script);
    tcase_add_loop_test(tc, every_service_waited_for_has_a_health_check, 0, NFILES);
    tcase_add_loop_test(tc, every_file_mounted_from_the_repository_exists, 0, NFILES);
    tcase_add_loop_test(tc, docker_compose_accepts_the_file, 0, NFILES);
    suite_add_tcase(s, tc);
    return ts_run(s);
}
