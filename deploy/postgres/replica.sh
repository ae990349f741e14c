#!/bin/sh
# Entrypoint of docker-compose.scale.yml's postgres-replica: on an empty volume, copies the primary with
# pg_basebackup as prodsentinel_replicator (deploy/postgres/20-replication.sh made it) through a physical
# replication slot of its own, with -R (standby.signal and primary_conninfo: a hot standby streaming from
# the primary); then runs "$@" (the image's `docker-entrypoint.sh postgres`, which finds a data directory
# and skips initialisation). Roles, the database and every migration arrive by replication: nothing is
# created here. A copy that was cut short is started again from scratch at the next start (it is made in
# $PGDATA.partial and renamed only when complete); a complete one, even if later promoted, is never touched.
# Run as root in the container, the copy is root's until the image's entrypoint gives $PGDATA to postgres.
#   PRIMARY_HOST, PRIMARY_PORT (5432)  the primary        REPLICATION_SLOT  this replica's slot on it
#   PS_DB_REPLICATION_PASSWORD          prodsentinel_replicator's password
set -eu

: "${PGDATA:?}" "${PRIMARY_HOST:?}" "${REPLICATION_SLOT:?}" "${PS_DB_REPLICATION_PASSWORD:?}"
export PGHOST="$PRIMARY_HOST" PGPORT="${PRIMARY_PORT:-5432}" PGUSER=prodsentinel_replicator
export PGPASSWORD="$PS_DB_REPLICATION_PASSWORD"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # The slot keeps the WAL this replica has not received yet (the primary caps it with
  # max_slot_wal_keep_size), so a replica that was stopped for a while catches up instead of failing.
  psql -v ON_ERROR_STOP=1 -qAt --dbname postgres -v slot="$REPLICATION_SLOT" >/dev/null <<'SQL'
SELECT pg_create_physical_replication_slot(:'slot', true)
 WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = :'slot')
SQL
  rm -rf "$PGDATA.partial"
  echo "replica.sh: copying $PGHOST:$PGPORT into $PGDATA (pg_basebackup, slot $REPLICATION_SLOT)"
  pg_basebackup -D "$PGDATA.partial" -R -X stream -S "$REPLICATION_SLOT" -c fast
  chmod 700 "$PGDATA.partial"
  mv "$PGDATA.partial" "$PGDATA"
fi
# the server takes its connection to the primary from primary_conninfo, not from these
unset PGHOST PGPORT PGUSER PGPASSWORD
exec "$@"
