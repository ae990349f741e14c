/* docker-compose.yml against issue 14, points 2 and 7, read as text (no Docker needed): no application
 * container connects as the PostgreSQL superuser, every secret's default is a placeholder the programs
 * refuse at start (config.c's check, run here on each default), and the fake services' control
 * endpoints are enabled nowhere in it. Against common/config.c's table: the backend and pipeline services
 * pass every option of their program (so a new option fails here until it is passed, or exempted below
 * with the reason), with the program's own default unless the container needs another, and the programs
 * accept the environment compose gives them; docker/.env.example lists exactly the variables it reads. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *compose, *env_example;

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
    ck_assert_int_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void load_compose(void)
{
    compose = read_source("docker-compose.yml");
    env_example = read_source("docker/.env.example");
}

static void free_compose(void)
{
    free(compose);
    free(env_example);
}

/* The YAML lines that are not comments: what compose reads. */
static int is_comment_at(const char *p)
{
    const char *line = p;
    while (line > compose && line[-1] != '\n')
        line--;
    line += strspn(line, " ");
    return *line == '#';
}

START_TEST(no_application_container_connects_as_the_superuser)
{
    static const char *const roles[] = {"prodsentinel", "prodsentinel_ingest", "prodsentinel_query",
                                        "prodsentinel_pipeline"};
    int urls = 0;
    for (const char *p = compose; (p = strstr(p, "postgresql://")) != NULL; p++) {
        if (is_comment_at(p)) continue;
        const char *user = p + strlen("postgresql://");
        size_t n = strcspn(user, ":@/");
        int known = 0;
        for (size_t i = 0; i < sizeof(roles) / sizeof(*roles); i++)
            known |= strlen(roles[i]) == n && strncmp(user, roles[i], n) == 0;
        ck_assert_msg(known, "a database URL connects as \"%.*s\"", (int)n, user);
        urls++;
    }
    ck_assert_int_ge(urls, 4); /* the owner (migrate) and the three program roles */
    /* the superuser's name appears once: the postgres container's own POSTGRES_USER */
    const char *su = strstr(compose, "POSTGRES_USER:");
    ck_assert_ptr_nonnull(su);
    ck_assert_ptr_null(strstr(su + 1, "POSTGRES_USER:"));
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
    int secrets = 0;
    for (const char *p = compose; (p = strstr(p, "${")) != NULL; p++) {
        if (is_comment_at(p)) continue;
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
                      "${%s}'s default \"%s\" is accepted as a key", var, def);
        snprintf(url, sizeof(url), "postgresql://prodsentinel:%s@postgres:5432/prodsentinel", def);
        ck_assert_msg(backend_loads_with("DATABASE_URL", url, err, sizeof(err)) != 0,
                      "${%s}'s default \"%s\" is accepted as a password", var, def);
    }
    ck_assert_int_ge(secrets, 8); /* 3 keys, the superuser's and 4 role passwords */
}
END_TEST

START_TEST(fake_control_endpoints_are_not_enabled)
{
    for (const char *p = compose; (p = strstr(p, "FAKE_CONTROL")) != NULL; p++)
        ck_assert_msg(is_comment_at(p), "FAKE_CONTROL is set in docker-compose.yml");
}
END_TEST

/* ---------------- the environment compose gives a service, read from the text ---------------- */

/* Enough for this file's services; a larger one fails env_set's assertion, not silently. */
#define ENV_MAX 128

typedef struct {
    char name[64];
    char value[512]; /* as written: ${VAR:-default} not yet interpolated, quotes removed */
} env_var_t;

typedef struct {
    env_var_t vars[ENV_MAX];
    int n;
} env_t;

static const char *env_get(const env_t *env, const char *name)
{
    for (int i = 0; i < env->n; i++)
        if (strcmp(env->vars[i].name, name) == 0) return env->vars[i].value;
    return NULL;
}

static void env_set(env_t *env, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') value++, vlen -= 2;
    int i = 0;
    while (i < env->n && !(strlen(env->vars[i].name) == nlen && strncmp(env->vars[i].name, name, nlen) == 0))
        i++;
    if (i == env->n) {
        ck_assert_int_lt(env->n, ENV_MAX);
        ck_assert_uint_lt(nlen, sizeof(env->vars[i].name));
        env->n++;
    }
    ck_assert_uint_lt(vlen, sizeof(env->vars[i].value));
    snprintf(env->vars[i].name, sizeof(env->vars[i].name), "%.*s", (int)nlen, name);
    snprintf(env->vars[i].value, sizeof(env->vars[i].value), "%.*s", (int)vlen, value);
}

/* The start of the line after the one at `p`, or NULL at the end. */
static const char *next_line(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? nl + 1 : NULL;
}

/* The line at column 0 that starts with `head` followed by the end of the line, or NULL. */
static const char *find_line(const char *head)
{
    size_t n = strlen(head);
    for (const char *p = compose; p; p = next_line(p))
        if (strncmp(p, head, n) == 0 && (p[n] == '\n' || p[n] == '\0')) return p;
    return NULL;
}

static void read_mapping(const char *header, int indent, env_t *env);

/* `<<: *a` or `<<: [*a, *b]`: the keys of each anchored top-level mapping (x-...: &a). */
static void merge_anchors(const char *list, size_t len, env_t *env)
{
    for (const char *p = list; (p = memchr(p, '*', len - (size_t)(p - list))) != NULL;) {
        size_t n = strcspn(p + 1, ",] \n");
        const char *def = NULL;
        for (const char *l = compose; l && def == NULL; l = next_line(l)) {
            const char *amp = strstr(l, ": &");
            const char *eol = strchr(l, '\n');
            if (l[0] != ' ' && l[0] != '#' && amp && (!eol || amp < eol) && strncmp(amp + 3, p + 1, n) == 0 &&
                (amp[3 + n] == '\n' || amp[3 + n] == '\0'))
                def = l;
        }
        ck_assert_msg(def != NULL, "anchor &%.*s not found", (int)n, p + 1);
        read_mapping(def, 2, env);
        p += 1 + n;
    }
}

/* The `KEY: value` lines `indent` spaces deep below the line `header` (merges included), up to the first
 * line less deep; comments and blank lines are skipped. */
static void read_mapping(const char *header, int indent, env_t *env)
{
    for (const char *p = next_line(header); p && *p; p = next_line(p)) {
        int depth = (int)strspn(p, " ");
        if (p[depth] == '#' || p[depth] == '\n') continue;
        if (depth < indent) break;
        if (depth > indent) continue;
        const char *key = p + depth, *colon = strstr(key, ": "), *eol = strchr(key, '\n');
        size_t line_len = eol ? (size_t)(eol - key) : strlen(key);
        ck_assert_msg(colon && colon < key + line_len, "not a KEY: value line: %.*s", (int)line_len, key);
        const char *value = colon + 2;
        size_t vlen = line_len - (size_t)(value - key);
        if (strncmp(key, "<<:", 3) == 0)
            merge_anchors(value, vlen, env);
        else
            env_set(env, key, (size_t)(colon - key), value, vlen);
    }
}

/* The environment compose gives `service`, as written in the file. */
static void service_env(const char *service, env_t *env)
{
    memset(env, 0, sizeof(*env));
    char head[80];
    snprintf(head, sizeof(head), "  %s:", service);
    const char *s = find_line(head);
    ck_assert_msg(s != NULL, "service %s not found", service);
    const char *e = NULL;
    for (const char *p = next_line(s); p && *p && e == NULL; p = next_line(p)) {
        int depth = (int)strspn(p, " ");
        if (p[depth] == '#' || p[depth] == '\n') continue;
        if (depth <= 2) break; /* the next service */
        if (depth == 4 && strncmp(p + 4, "environment:\n", 13) == 0) e = p;
    }
    ck_assert_msg(e != NULL, "service %s has no environment", service);
    read_mapping(e, 6, env);
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

/* Options a service deliberately does not pass, and why. Each entry must stay true: the option exists and
 * is indeed not passed. */
static const struct {
    const char *service, *name, *why;
} not_passed[] = {
    {"backend", "INSTANCE_ID", "each container's <hostname>-<pid>; one value would be shared by all"},
    {"pipeline", "INSTANCE_ID", "each container's <hostname>-<pid>; one value would be shared by all"},
    {"backend", "MIGRATIONS_DIR", "the image's ENV: where the image holds them"},
    {"backend", "FRONTEND_DIR", "the image's ENV: where the image holds the dashboard"},
    {"pipeline", "DATABASE_URL", "the owner's password stays out of the pipeline (PIPELINE_DATABASE_URL)"},
};

/* Options a container sets to something other than the program's default, and why. */
static const char *const container_values[] = {
    "BIND_ADDR",                /* every interface of the container, or nothing reaches it */
    "REDIS_URL",                /* the redis service */
    "DATABASE_URL",             /* the postgres service, with the owner's password */
    "INGEST_DATABASE_URL",      /* ... and one role per program */
    "QUERY_DATABASE_URL",       /* */
    "QUERY_WRITE_DATABASE_URL", /* */
    "PIPELINE_DATABASE_URL",    /* */
    "INGEST_API_KEYS",          /* required: placeholders the programs refuse (see above) */
    "READ_API_KEYS",            /* */
    "ADMIN_API_KEY",            /* */
};

static int is_not_passed(const char *service, const char *name)
{
    for (size_t i = 0; i < sizeof(not_passed) / sizeof(*not_passed); i++)
        if (strcmp(not_passed[i].service, service) == 0 && strcmp(not_passed[i].name, name) == 0) return 1;
    return 0;
}

static const struct {
    const char *service;
    int program;
} programs[] = {{"backend", CFG_BACKEND}, {"pipeline", CFG_PIPELINE}};

START_TEST(every_option_of_the_programs_is_passed)
{
    env_t env;
    for (size_t s = 0; s < sizeof(programs) / sizeof(*programs); s++) {
        service_env(programs[s].service, &env);
        const char *def;
        int mask, checked = 0;
        for (size_t i = 0; config_var(i, &def, &mask) != NULL; i++) {
            const char *name = config_var(i, &def, &mask);
            if (!(mask & programs[s].program)) continue;
            checked++;
            if (is_not_passed(programs[s].service, name)) {
                ck_assert_msg(env_get(&env, name) == NULL, "%s passes %s: drop it from not_passed[]",
                              programs[s].service, name);
                continue;
            }
            ck_assert_msg(env_get(&env, name) != NULL,
                          "docker-compose.yml: the %s service does not pass %s; add \"%s: ${%s:-%s}\" (and a "
                          "line in docker/.env.example), or list it in not_passed[] with the reason",
                          programs[s].service, name, name, name, def ? def : "");
        }
        ck_assert_int_ge(checked, 30);
    }
    for (size_t i = 0; i < sizeof(not_passed) / sizeof(*not_passed); i++) {
        const char *def, *name;
        int mask, found = 0;
        for (size_t j = 0; (name = config_var(j, &def, &mask)) != NULL; j++)
            found |= strcmp(name, not_passed[i].name) == 0;
        ck_assert_msg(found, "not_passed[]: %s is no option of the programs", not_passed[i].name);
    }
}
END_TEST

START_TEST(compose_defaults_are_the_programs_own)
{
    env_t env;
    for (size_t s = 0; s < sizeof(programs) / sizeof(*programs); s++) {
        service_env(programs[s].service, &env);
        const char *def, *name;
        int mask;
        for (size_t i = 0; (name = config_var(i, &def, &mask)) != NULL; i++) {
            const char *value = env_get(&env, name);
            if (value == NULL) continue;
            int container = 0;
            for (size_t c = 0; c < sizeof(container_values) / sizeof(*container_values); c++)
                container |= strcmp(container_values[c], name) == 0;
            char got[512];
            interpolate(value, 0, got, sizeof(got));
            ck_assert_msg(container || (def && strcmp(got, def) == 0),
                          "docker-compose.yml: %s's %s defaults to \"%s\", the program's default is \"%s\"",
                          programs[s].service, name, got, def ? def : "(required)");
            ck_assert_msg(!container || strcmp(got, def ? def : "") != 0,
                          "%s: drop it from container_values[]", name);
        }
    }
}
END_TEST

/* Every variable of the programs is unset, then `env` (interpolated, with good secrets) is set. */
static void apply_env(const env_t *env)
{
    const char *def, *name;
    int mask;
    for (size_t i = 0; (name = config_var(i, &def, &mask)) != NULL; i++)
        unsetenv(name);
    for (int i = 0; i < env->n; i++) {
        char v[512];
        interpolate(env->vars[i].value, 1, v, sizeof(v));
        setenv(env->vars[i].name, v, 1);
    }
}

START_TEST(the_programs_accept_the_compose_environment)
{
    env_t env;
    for (size_t s = 0; s < sizeof(programs) / sizeof(*programs); s++) {
        service_env(programs[s].service, &env);
        apply_env(&env);
        config_t cfg;
        char err[512] = "";
        ck_assert_msg(config_load(&cfg, programs[s].program, err, sizeof(err)) == 0, "%s: %s",
                      programs[s].service, err);
        ck_assert_ptr_null(cfg.alert_webhooks);
        ck_assert_ptr_null(cfg.edge.tls_cert_file);
        config_dispose(&cfg);
    }
    /* migrate runs the backend's configuration too, without the TLS files (it serves nothing) */
    service_env("migrate", &env);
    apply_env(&env);
    config_t cfg;
    char err[512] = "";
    ck_assert_msg(config_load(&cfg, CFG_BACKEND, err, sizeof(err)) == 0, "migrate: %s", err);
    config_dispose(&cfg);
}
END_TEST

/* 1 when docker/.env.example sets `name` (a line "NAME=..."). */
static int env_example_sets(const char *name, size_t n)
{
    for (const char *p = env_example; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == '=') return 1;
    return 0;
}

START_TEST(env_example_lists_exactly_the_variables_compose_reads)
{
    int vars = 0;
    for (const char *p = compose; (p = strstr(p, "${")) != NULL; p++) {
        if (is_comment_at(p) || (p > compose && p[-1] == '$')) continue; /* $${...}: the container's shell */
        size_t n = strcspn(p + 2, ":}");
        ck_assert_msg(env_example_sets(p + 2, n), "docker/.env.example has no line %.*s=", (int)n, p + 2);
        vars++;
    }
    ck_assert_int_ge(vars, 50);
    for (const char *p = env_example; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (n == 0 || p[n] != '=') continue;
        char ref[80];
        snprintf(ref, sizeof(ref), "${%.*s", (int)n, p);
        const char *used = NULL;
        for (const char *q = compose; !used && (q = strstr(q, ref)) != NULL; q++)
            if (!is_comment_at(q) && strchr(":}", q[strlen(ref)]) != NULL) used = q + strlen(ref);
        ck_assert_msg(used, "docker/.env.example sets %.*s, which docker-compose.yml does not read", (int)n,
                      p);
        /* the example's value is compose's default: copying the example changes nothing but the secrets */
        const char *def = strncmp(used, ":-", 2) == 0 ? used + 2 : used;
        size_t dlen = strcspn(def, "}"), vlen = strcspn(p + n + 1, "\n");
        ck_assert_msg(dlen == vlen && strncmp(def, p + n + 1, dlen) == 0,
                      "%.*s: docker/.env.example says \"%.*s\", docker-compose.yml's default is \"%.*s\"",
                      (int)n, p, (int)vlen, p + n + 1, (int)dlen, def);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compose");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, load_compose, free_compose);
    tcase_add_test(tc, no_application_container_connects_as_the_superuser);
    tcase_add_test(tc, every_default_secret_is_a_placeholder_the_programs_refuse);
    tcase_add_test(tc, fake_control_endpoints_are_not_enabled);
    tcase_add_test(tc, every_option_of_the_programs_is_passed);
    tcase_add_test(tc, compose_defaults_are_the_programs_own);
    tcase_add_test(tc, the_programs_accept_the_compose_environment);
    tcase_add_test(tc, env_example_lists_exactly_the_variables_compose_reads);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
