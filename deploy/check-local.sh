#!/usr/bin/env bash
# Runs deploy/'s scripts as docker-compose.scale.yml runs them, but without Docker: on loopback, with
# Debian's postgresql-15 and redis-server, on free ports, in a temporary folder removed at the end.
#   PostgreSQL  a primary asking passwords over TCP (as the postgres image does) gets
#               postgres/20-replication.sh (a placeholder password is refused first); postgres/replica.sh
#               copies it through its slot and starts it; a row written on the primary is read on the
#               replica, which passes the compose health check's query
#   Redis       three servers from redis/node.sh (a master, two replicas) and three Sentinels from
#               redis/sentinel.sh reach a quorum; after `SENTINEL FAILOVER` the old master is made a
#               replica and stays one when restarted from its file (Sentinel rewrote it)
# Usage: deploy/check-local.sh (exit 0 when everything held). The programs' own failover behaviour is
# tested by tests/integration/test_replica and test_sentinel (scripts/test-failover).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/stack.sh"
DEPLOY=$PS_ROOT/deploy

TMP=$(mktemp -d /tmp/prodsentinel-deploy.XXXXXX)
chmod 755 "$TMP"
PIDS=()
PG=$(ps_free_port "${PS_DEPLOY_CHECK_PORT:-29432}")
REPLICA=$(ps_free_port $((PG + 1)))
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  ps_pg_stop "$TMP/replica/pgdata"
  ps_pg_stop "$TMP/pg"
  if [ $rc -ne 0 ]; then tail -n 20 "$TMP"/replica/server.log "$TMP"/*/log >&2 2>/dev/null || true; fi
  rm -rf "$TMP"
  if [ $rc -eq 0 ]; then ps_log "deploy scripts: all checks passed"; else ps_log "deploy scripts: FAILED"; fi
  exit $rc
}
trap cleanup EXIT INT TERM

fail() {
  ps_log "FAIL: $*"
  exit 1
}
# until <seconds> <command...>: polls every 0.2 s
until_ok() {
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.2
  done
}

# ---- PostgreSQL ----
ps_log "PostgreSQL primary :$PG, replica :$REPLICA"
PS_PG_PASSWORDS=1 ps_pg_start "$TMP/pg" "$PG" fsync=off "${PS_PG_PRIMARY_SETTINGS[@]}"
primary_init() { # the entrypoint runs init scripts as postgres, on the socket, with PGDATA set
  ps_as_pg env PGHOST="$TMP/pg" PGPORT="$PG" PGDATA="$TMP/pg" POSTGRES_USER=postgres \
    PS_DB_REPLICATION_PASSWORD="$1" sh "$DEPLOY/postgres/20-replication.sh"
}
primary_init change-me-db-replication-password 2>/dev/null && fail "20-replication.sh accepted a placeholder"
primary_init short-pw-1 2>/dev/null && fail "20-replication.sh accepted a short password"
PW=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
primary_init "$PW"
primary_init "$PW" # idempotent: a second run changes nothing
[ "$(grep -c prodsentinel_replicator "$TMP/pg/pg_hba.conf")" = 1 ] || fail "pg_hba.conf line written twice"

mkdir -p "$TMP/replica"
chown postgres "$TMP/replica" 2>/dev/null || true
replica() { # replica.sh <password> <then...>
  local pw=$1
  shift
  ps_as_pg env PGDATA="$TMP/replica/pgdata" PRIMARY_HOST=127.0.0.1 PRIMARY_PORT="$PG" \
    REPLICATION_SLOT=postgres_replica PS_DB_REPLICATION_PASSWORD="$pw" sh "$DEPLOY/postgres/replica.sh" "$@"
}
replica wrong-password-0123456789 true 2>/dev/null && fail "replica.sh copied with a wrong password"
[ -e "$TMP/replica/pgdata" ] && fail "a failed copy left $TMP/replica/pgdata"
# (ps_pg_start's max_connections: a standby needs at least the primary's)
start_replica=("$PG_BIN/pg_ctl" -D "$TMP/replica/pgdata" -l "$TMP/replica/server.log" -w -t 60 start
  -o "-p $REPLICA -k $TMP/replica -c listen_addresses=127.0.0.1 -c max_connections=200")
replica "$PW" "${start_replica[@]}" 2>&1 | { grep -v "skipping special file" >&2 || true; }
admin() { psql -h "$1" -p "$2" -U postgres -qAt -v ON_ERROR_STOP=1 "${@:3}"; }
admin "$TMP/pg" "$PG" -d prodsentinel -c "CREATE TABLE deploy_check (v text); INSERT INTO deploy_check VALUES ('x')"
seen() { [ "$(admin "$TMP/replica" "$REPLICA" -d prodsentinel -c 'SELECT v FROM deploy_check')" = x ]; }
until_ok 30 seen || fail "the row written on the primary never reached the replica"
HEALTH="SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')"
[ "$(admin "$TMP/replica" "$REPLICA" -d postgres -c "$HEALTH")" = t ] || fail "replica health query is not t"
[ "$(admin "$TMP/pg" "$PG" -d postgres -c "SELECT active FROM pg_replication_slots WHERE slot_name = 'postgres_replica'")" = t ] ||
  fail "the replica does not stream through its slot"
ps_pg_stop "$TMP/replica/pgdata"
# a second start does not copy again (it would refuse: the folder exists)
replica "$PW" "${start_replica[@]}" >/dev/null
seen || fail "the restarted replica lost its data"
ps_log "PostgreSQL: replication login, copy through the slot, streaming, restart: ok"

# ---- Redis ----
R=() S=()
p=$((REPLICA + 1))
for i in 0 1 2; do
  R[i]=$(ps_free_port "$p")
  p=$((R[i] + 1))
done
for i in 0 1 2; do
  S[i]=$(ps_free_port "$p")
  p=$((S[i] + 1))
done
ps_log "Redis ${R[*]}, Sentinels ${S[*]}"
node() { # node <i>: redis/node.sh as redis-<i+1> (replicas of the first)
  local port=${R[$1]} of=""
  [ "$1" = 0 ] || of="127.0.0.1 ${R[0]}"
  mkdir -p "$TMP/r$port"
  REDIS_CONF="$TMP/r$port/redis.conf" ANNOUNCE_HOST=127.0.0.1 REDIS_PORT=$port REPLICA_OF=$of \
    setsid "$DEPLOY/redis/node.sh" redis-server "$TMP/r$port/redis.conf" >>"$TMP/r$port/log" 2>&1 &
  PIDS+=($!)
}
for i in 0 1 2; do node $i; done
for i in 0 1 2; do until_ok 10 redis-cli -p "${R[i]}" ping || fail "redis ${R[i]} did not start"; done
for i in 0 1 2; do
  mkdir -p "$TMP/s${S[i]}"
  SENTINEL_CONF="$TMP/s${S[i]}/sentinel.conf" ANNOUNCE_HOST=127.0.0.1 SENTINEL_PORT=${S[i]} \
    REDIS_MASTER_NAME=deploycheck MASTER_HOST=127.0.0.1 MASTER_PORT=${R[0]} DOWN_AFTER_MS=1000 \
    FAILOVER_TIMEOUT_MS=10000 setsid "$DEPLOY/redis/sentinel.sh" redis-server "$TMP/s${S[i]}/sentinel.conf" \
    --sentinel >>"$TMP/s${S[i]}/log" 2>&1 &
  PIDS+=($!)
done
quorum() { redis-cli -p "${S[0]}" sentinel ckquorum deploycheck | grep -q '^OK'; }
until_ok 20 quorum || fail "the Sentinels reached no quorum"
replicas() { [ "$(redis-cli -p "${S[0]}" sentinel replicas deploycheck | grep -c '^name$')" = 2 ]; }
until_ok 20 replicas || fail "Sentinel did not find both replicas"
redis-cli -p "${S[0]}" sentinel failover deploycheck | grep -q OK || fail "SENTINEL FAILOVER refused"
moved() { [ "$(redis-cli -p "${S[0]}" sentinel get-master-addr-by-name deploycheck | tail -1)" != "${R[0]}" ]; }
until_ok 20 moved || fail "no failover"
demoted() { redis-cli -p "${R[0]}" role | head -1 | grep -qx slave && grep -q '^replicaof' "$TMP/r${R[0]}/redis.conf"; }
until_ok 40 demoted || fail "the old master was not made a replica in its file"
kill "${PIDS[0]}"
until_ok 10 sh -c "! redis-cli -p ${R[0]} ping" || fail "the old master did not stop"
node 0
until_ok 10 redis-cli -p "${R[0]}" ping || fail "the old master did not restart"
redis-cli -p "${R[0]}" role | head -1 | grep -qx slave || fail "the restarted old master is not a replica"
ps_log "Redis: quorum, failover, the old master stays a replica after a restart: ok"
