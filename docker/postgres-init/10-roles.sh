#!/bin/sh
# Creates ProdSentinel's database roles and database (README, "Database roles"), run by the postgres
# image's entrypoint on a new volume (/docker-entrypoint-initdb.d) as the superuser, which no
# application container ever uses. Idempotent: on an existing volume, run it again with
#   docker-compose exec postgres sh /docker-entrypoint-initdb.d/10-roles.sh
# to create missing roles or apply changed passwords. Refuses placeholder or short passwords, as the
# programs do (common/config.c): fewer than 16 characters, or starting with change-me/changeme/replace-me.
#   prodsentinel           owner of the database and schema: migrations (migrate service) and retention
#   prodsentinel_ingest    the backend's writers      prodsentinel_query     the backend's query API
#   prodsentinel_pipeline  the pipeline
# migrations/007_roles.sql grants each what it may do.
set -eu

. "$(dirname "$0")/password-check"
password_check PS_DB_OWNER_PASSWORD "${PS_DB_OWNER_PASSWORD:-}"
password_check PS_DB_INGEST_PASSWORD "${PS_DB_INGEST_PASSWORD:-}"
password_check PS_DB_QUERY_PASSWORD "${PS_DB_QUERY_PASSWORD:-}"
password_check PS_DB_PIPELINE_PASSWORD "${PS_DB_PIPELINE_PASSWORD:-}"

role() { # role <name> <password>: create or correct (never superuser, createrole, createdb)
  psql -v ON_ERROR_STOP=1 -qAt --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v role="$1" -v pw="$2" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')
\gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS PASSWORD %L',
              :'role', :'pw')
\gexec
SQL
}
role prodsentinel "$PS_DB_OWNER_PASSWORD"
role prodsentinel_ingest "$PS_DB_INGEST_PASSWORD"
role prodsentinel_query "$PS_DB_QUERY_PASSWORD"
role prodsentinel_pipeline "$PS_DB_PIPELINE_PASSWORD"
psql -v ON_ERROR_STOP=1 -qAt --username "${POSTGRES_USER:-postgres}" --dbname postgres >/dev/null <<'SQL'
SELECT 'CREATE DATABASE prodsentinel OWNER prodsentinel'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'prodsentinel')
\gexec
SQL
echo "10-roles.sh: roles prodsentinel, prodsentinel_ingest, prodsentinel_query, prodsentinel_pipeline ready"
