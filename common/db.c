/* PostgreSQL connection and migration helpers (see db.h). */
#include "db.h"
#include "alloc.h"
#include "buf.h"
#include "log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quiet_notice(void *arg, const char *msg)
{
    (void)arg, (void)msg;
}

PGconn *db_connect(const char *url, char *err, size_t errlen)
{
    /* JIT off: our analytic queries (metric_values() above all) cross jit_above_cost, and compiling
     * them cost seconds where running them costs milliseconds. A URL's own options still win. */
    const char *keys[] = {"options", "dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {"-c jit=off", url, "5", "prodsentinel", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "%s", c ? PQerrorMessage(c) : "out of memory");
        size_t n = strlen(err);
        while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
            err[--n] = '\0';
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    return c;
}

int db_ensure(PGconn **conn, const char *url)
{
    if (*conn && PQstatus(*conn) == CONNECTION_OK) return 1;
    if (*conn) {
        PQreset(*conn);
        if (PQstatus(*conn) == CONNECTION_OK) return 1;
        PQfinish(*conn);
        *conn = NULL;
    }
    char err[256];
    *conn = db_connect(url, err, sizeof(err));
    return *conn != NULL;
}

int db_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) snprintf(err, errlen, "%s", PQerrorMessage(conn));
    PQclear(r);
    return ok ? 0 : -1;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    buf_t b;
    buf_init(&b, max);
    char chunk[8192];
    size_t n;
    int ok = 1;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(&b, chunk, n) != 0) ok = 0;
    fclose(f);
    if (!ok) {
        buf_dispose(&b);
        return NULL;
    }
    return buf_take(&b);
}

static int is_applied(PGconn *conn, const char *name, int *applied)
{
    const char *params[] = {name};
    PGresult *r =
        PQexecParams(conn, "SELECT 1 FROM schema_migrations WHERE name = $1", 1, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (ok) *applied = PQntuples(r) > 0;
    PQclear(r);
    return ok ? 0 : -1;
}

/* One file in one transaction, recorded in the same transaction. */
static int apply_one(PGconn *conn, const char *dir, const char *name, char *err, size_t errlen)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *sql = read_file(path, 16 * 1024 * 1024);
    if (sql == NULL) {
        snprintf(err, errlen, "%s: cannot read file", name);
        return -1;
    }
    char pgerr[1024];
    int rc = -1;
    if (db_exec(conn, "BEGIN", pgerr, sizeof(pgerr)) != 0) goto fail;
    if (db_exec(conn, sql, pgerr, sizeof(pgerr)) != 0) goto rollback;
    const char *params[] = {name};
    PGresult *r = PQexecParams(conn, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, NULL, params,
                               NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) snprintf(pgerr, sizeof(pgerr), "%s", PQerrorMessage(conn));
    PQclear(r);
    if (!ok) goto rollback;
    if (db_exec(conn, "COMMIT", pgerr, sizeof(pgerr)) != 0) goto fail;
    rc = 0;
    goto out;
rollback:
    db_exec(conn, "ROLLBACK", err, errlen);
fail : {
    size_t n = strlen(pgerr);
    while (n && (pgerr[n - 1] == '\n' || pgerr[n - 1] == ' '))
        pgerr[--n] = '\0';
    snprintf(err, errlen, "%s: %s", name, pgerr);
}
out:
    free(sql);
    return rc;
}

int db_migrate(PGconn *conn, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "migrations folder %s: cannot open", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".sql") != 0) continue;
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n > 1) qsort(names, n, sizeof(*names), name_cmp);

    int applied_count = -1;
    char pgerr[512];
    if (db_exec(conn, "SELECT pg_advisory_lock(7263514)" /* the key all migrators agree on */, pgerr,
                sizeof(pgerr)) != 0 ||
        db_exec(conn,
                "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, "
                "applied_at timestamptz NOT NULL DEFAULT now())",
                pgerr, sizeof(pgerr)) != 0) {
        snprintf(err, errlen, "schema_migrations: %s", pgerr);
        goto unlock;
    }
    applied_count = 0;
    for (size_t i = 0; i < n; i++) {
        int applied;
        if (is_applied(conn, names[i], &applied) != 0) {
            snprintf(err, errlen, "%s: %s", names[i], PQerrorMessage(conn));
            applied_count = -1;
            break;
        }
        if (applied) continue;
        if (apply_one(conn, dir, names[i], err, errlen) != 0) {
            applied_count = -1;
            break;
        }
        log_info("migration %s applied", names[i]);
        applied_count++;
    }
unlock:
    db_exec(conn, "SELECT pg_advisory_unlock(7263514)", pgerr, sizeof(pgerr));
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return applied_count;
}
