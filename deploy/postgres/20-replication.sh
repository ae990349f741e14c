#!/bin/sh
# The primary's side of streaming replication for docker-compose.scale.yml, run after
# docker/postgres-init/10-roles.sh by the postgres image's entrypoint on a new volume, as the superuser:
# the login prodsentinel_replicator (REPLICATION only: it reads the WAL and the base backup, no table) and
# the pg_hba.conf line that lets it connect for replication from the other containers with its password.
# The replica (deploy/postgres/replica.sh) makes its own replication slot. Idempotent, like 10-roles.sh:
#   docker-compose -f docker-compose.scale.yml exec postgres sh /docker-entrypoint-initdb.d/20-replication.sh
# applies a changed password. Refuses a placeholder or short password as 10-roles.sh does (the same
# docker/postgres-init/password-check, reached through the symlink beside this file).
set -eu

. "$(dirname "$0")/password-check"
pw=${PS_DB_REPLICATION_PASSWORD:-}
password_check PS_DB_REPLICATION_PASSWORD "$pw"

psql -v ON_ERROR_STOP=1 -qAt --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v role=prodsentinel_replicator -v pw="$pw" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')
\gexec
SELECT format('ALTER ROLE %I LOGIN REPLICATION NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD %L',
              :'role', :'pw')
\gexec
SQL

# "all" in pg_hba.conf's database column does not cover replication connections: they need their own line.
# PGDATA is set by the image.
hba="host replication prodsentinel_replicator all scram-sha-256"
grep -qxF "$hba" "$PGDATA/pg_hba.conf" || printf '%s\n' "$hba" >>"$PGDATA/pg_hba.conf"
# (a re-run on a running server needs the reload; during init it is harmless)
psql -v ON_ERROR_STOP=1 -qAt --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -c 'SELECT pg_reload_conf()' >/dev/null
echo "20-replication.sh: role prodsentinel_replicator ready"
