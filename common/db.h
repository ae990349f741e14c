/* PostgreSQL helpers shared by every program: connecting with sane timeouts, and the migration
 * runner (numbered .sql files, each in one transaction, recorded in schema_migrations, under an
 * advisory lock so that processes starting together are safe). */
#ifndef PS_DB_H
#define PS_DB_H

#include <libpq-fe.h>

/* Connects to `url`; returns NULL with the reason in err. Caller closes with PQfinish(). */
PGconn *db_connect(const char *url, char *err, size_t errlen);
/* 1 when `conn` is usable; tries one reset when it is not. */
int db_ensure(PGconn **conn, const char *url);
/* Runs one statement without results; returns 0 or -1 with PostgreSQL's message in err. */
int db_exec(PGconn *conn, const char *sql, char *err, size_t errlen);
/* Applies the not-yet-applied files of `dir` in name order. Returns the number applied, or -1 with
 * "file: PostgreSQL message" in err. */
int db_migrate(PGconn *conn, const char *dir, char *err, size_t errlen);

#endif
