/* docker-compose.yml against issue 14, points 2 and 7, read as text (no Docker needed): no application
 * container connects as the PostgreSQL superuser, every secret's default is a placeholder the programs
 * refuse at start (config.c's check, run here on each default), and the fake services' control
 * endpoints are enabled nowhere in it. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *compose;

static void load_compose(void)
{
    const char *src = getenv("PS_SOURCE_DIR");
    ck_assert_msg(src != NULL, "PS_SOURCE_DIR is not set");
    char path[1024];
    snprintf(path, sizeof(path), "%s/docker-compose.yml", src);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    compose = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(compose, 1, (size_t)n, f), (size_t)n);
    compose[n] = '\0';
    fclose(f);
}

static void free_compose(void)
{
    free(compose);
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
        if (!strstr(var, "KEY") && !strstr(var, "PASSWORD")) continue;
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

int main(void)
{
    Suite *s = suite_create("compose");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, load_compose, free_compose);
    tcase_add_test(tc, no_application_container_connects_as_the_superuser);
    tcase_add_test(tc, every_default_secret_is_a_placeholder_the_programs_refuse);
    tcase_add_test(tc, fake_control_endpoints_are_not_enabled);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
