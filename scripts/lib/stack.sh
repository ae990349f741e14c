# Shared by scripts/up, scripts/test, scripts/bench and scripts/eval: install what is missing, build,
# start and stop a private PostgreSQL 15 and Redis on loopback. Source it; it defines functions only.

PS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin

# Debian packages the build, the stack and the tests need.
PS_PACKAGES=(build-essential cmake pkg-config clang libclang-rt-14-dev libh2o-evloop-dev libssl-dev libpq-dev
  libhiredis-dev libcurl4-openssl-dev uuid-dev check libjansson-dev zlib1g-dev libprotobuf-c-dev protobuf-c-compiler
  libnghttp2-dev postgresql-15 redis-server redis-sentinel curl jq
  ca-certificates)

ps_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Installs the missing packages (quiet when all are there). Needs root or sudo when something is missing.
ps_install_packages() {
  local missing=() p
  for p in "${PS_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  ps_log "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ps_build <dir> [cmake args...]: configure once, build every program.
ps_build() {
  local dir=$1
  shift
  local rc=0
  cmake -S "$PS_ROOT" -B "$dir" "$@" >/dev/null
  # any target failing fails the build (a stale binary from an earlier build must not hide it)
  cmake --build "$dir" -j"$(nproc)" >"$dir/build.log" 2>&1 || rc=$?
  grep -Ev '^\[|^-- |Built target|Scanning|Consolidate' "$dir/build.log" || true
  [ $rc = 0 ] && [ -x "$dir/backend/prodsentinel-backend" ] || { ps_log "build failed ($dir/build.log)"; return 1; }
}

# A free TCP port on loopback, trying from $1 upwards.
ps_free_port() {
  local p=${1:-20000}
  while (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# Runs a command as the postgres user when we are root (initdb refuses root).
ps_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The database roles (README "Database roles"): prodsentinel owns the database and runs migrations and
# retention; prodsentinel_ingest, prodsentinel_query and prodsentinel_pipeline are the programs' own
# least-privilege logins (migrations/007_roles.sql grants them). None is a superuser.
PS_DB_OWNER=prodsentinel
PS_DB_APP_ROLES=(prodsentinel_ingest prodsentinel_query prodsentinel_pipeline)

# ps_pg_start <datadir> <port> [extra postgres -c settings...]: initdb on first use, start, create the
# roles and the prodsentinel database. Data in <datadir> survives restarts.
# Authentication: with PS_PG_PASSWORDS=1 (scripts/up's lasting cluster) every TCP connection needs a
# password (scram-sha-256); each role's password is generated once per data directory and kept in
# <datadir>/roles.env (mode 600, read back by ps_pg_url); the superuser is reached only through the Unix
# socket inside <datadir> (mode 700). Without it (the throwaway clusters of scripts/test, bench, eval:
# private, loopback only, deleted after the run) loopback connections are trusted and roles have no password.
ps_pg_start() {
  local dir=$1 port=$2
  shift 2
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  chmod 700 "$dir"
  if ! ps_as_pg test -w "$dir"; then
    ps_log "PostgreSQL's user cannot write $dir (a parent folder is not traversable); set PS_DATA_DIR elsewhere"
    return 1
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    ps_as_pg "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  fi
  if [ "${PS_PG_PASSWORDS:-0}" = 1 ]; then
    ps_pg_passwords "$dir"
    printf '%s\n' "local all postgres trust" "host all all 127.0.0.1/32 scram-sha-256" \
      "host all all ::1/128 scram-sha-256" | ps_as_pg tee "$dir/pg_hba.conf" >/dev/null
  fi
  local opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c shared_buffers=256MB"
  opts+=" -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=4GB -c checkpoint_timeout=15min"
  local extra
  for extra in "$@"; do opts+=" -c $extra"; done
  ps_as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null
  ps_pg_roles "$dir" "$port"
  ps_pg_admin "$dir" "$port" -qAtc "SELECT 1 FROM pg_database WHERE datname='prodsentinel'" |
    grep -q 1 || ps_pg_admin "$dir" "$port" -qc "CREATE DATABASE prodsentinel OWNER $PS_DB_OWNER" >/dev/null
}

# ps_pg_admin <datadir> <port> [psql args...]: psql as the superuser through the data directory's socket.
ps_pg_admin() {
  local dir=$1 port=$2
  shift 2
  psql -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 "$@"
}

# Generates the missing role passwords of <datadir> into <datadir>/roles.env (kept across runs).
ps_pg_passwords() {
  local dir=$1 role var
  local file=$dir/roles.env
  ps_as_pg touch "$file"
  ps_as_pg chmod 600 "$file"
  for role in "$PS_DB_OWNER" "${PS_DB_APP_ROLES[@]}"; do
    var=PW_$role
    grep -q "^$var=" "$file" || printf '%s=%s\n' "$var" "$(head -c 24 /dev/urandom | base64 | tr '+/' 'xy')" |
      ps_as_pg tee -a "$file" >/dev/null
  done
}

# A role's password in <datadir> (empty without PS_PG_PASSWORDS).
ps_pg_password() {
  local dir=$1 role=$2
  [ -f "$dir/roles.env" ] || return 0
  sed -n "s/^PW_$role=//p" "$dir/roles.env"
}

# ps_pg_url <datadir> <port> <role> [database]: the connection URL of a role (with its password, if any).
ps_pg_url() {
  local dir=$1 port=$2 role=$3 db=${4:-prodsentinel} pw
  pw=$(ps_pg_password "$dir" "$role")
  echo "postgresql://$role${pw:+:$pw}@127.0.0.1:$port/$db"
}

# Creates or corrects the roles (idempotent): LOGIN, never superuser, CREATEROLE, CREATEDB, REPLICATION
# or BYPASSRLS (an earlier version made the owner a superuser: taken back here), password as in roles.env.
ps_pg_roles() {
  local dir=$1 port=$2 role pw
  for role in "$PS_DB_OWNER" "${PS_DB_APP_ROLES[@]}"; do
    pw=$(ps_pg_password "$dir" "$role")
    ps_pg_admin "$dir" "$port" -qAt -v role="$role" -v pw="$pw" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')
\gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS PASSWORD %s',
              :'role', CASE WHEN :'pw' = '' THEN 'NULL' ELSE quote_literal(:'pw') END)
\gexec
SQL
  done
}

ps_pg_stop() {
  local dir=$1
  [ -f "$dir/postmaster.pid" ] && ps_as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast -w -t 30 stop >/dev/null 2>&1
  return 0
}

# ps_redis_start <datadir> <port> [redis-server options...]: loopback only, append-only file in <datadir>.
ps_redis_start() {
  local dir=$1 port=$2
  shift 2
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis.log" --appendonly yes --save "" --protected-mode yes "$@" >/dev/null
  local i
  for i in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  ps_log "Redis did not start (see $dir/redis.log)"
  return 1
}

ps_redis_stop() {
  local dir=$1 port=$2
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null
  return 0
}

# ps_wait_http <url> [seconds]: waits until the URL answers 200.
ps_wait_http() {
  local url=$1 t=${2:-30} i
  for i in $(seq 1 $((t * 10))); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ---- scale-out topologies (issue 16): a streaming replica of PostgreSQL, Redis replicas and Sentinels ----

# The settings a primary needs to feed streaming replicas (pass them to ps_pg_start after the others:
# ps_pg_start's defaults are wal_level=minimal, max_wal_senders=0, and the last -c wins).
PS_PG_PRIMARY_SETTINGS=(wal_level=replica max_wal_senders=5 hot_standby=on)

# ps_pg_replica_start <primary datadir> <primary port> <replica datadir> <replica port> [settings...]:
# pg_basebackup -R of the primary (trusted loopback replication, as initdb's pg_hba allows), then starts
# it as a hot standby streaming from the primary. Made once; a later call only starts it.
ps_pg_replica_start() {
  local pdir=$1 pport=$2 dir=$3 port=$4
  shift 4
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
    chmod 700 "$dir"
    # (the primary keeps its socket in its data directory: pg_basebackup warns that it skips it)
    ps_as_pg pg_basebackup -h 127.0.0.1 -p "$pport" -U postgres -D "$dir" -R -X stream -c fast 2>&1 |
      { grep -v "skipping special file" >&2 || true; }
    [ -f "$dir/standby.signal" ] || { ps_log "pg_basebackup of port $pport failed"; return 1; }
    ps_as_pg rm -f "$dir/postmaster.pid" "$dir/server.log"
  fi
  local opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c shared_buffers=128MB"
  opts+=" -c hot_standby=on -c max_wal_senders=5 -c wal_level=replica"
  local extra
  for extra in "$@"; do opts+=" -c $extra"; done
  ps_as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null
}

# ps_redis_replica_start <datadir> <port> <master port>: a Redis replica of the master on loopback.
ps_redis_replica_start() {
  ps_redis_start "$1" "$2" --replicaof 127.0.0.1 "$3"
}

# ps_sentinel_start <datadir> <port> <master name> <master port> [quorum]: a Redis Sentinel watching the
# master (and, through it, its replicas) with short timeouts: down after 1 s, failover within 10 s.
ps_sentinel_start() {
  local dir=$1 port=$2 name=$3 mport=$4 quorum=${5:-2}
  mkdir -p "$dir"
  # Sentinel rewrites its configuration file with what it learns: one file per sentinel, in its folder
  printf '%s\n' "bind 127.0.0.1" "port $port" "dir $dir" "daemonize yes" "pidfile $dir/sentinel.pid" \
    "logfile $dir/sentinel.log" "sentinel resolve-hostnames no" \
    "sentinel monitor $name 127.0.0.1 $mport $quorum" "sentinel down-after-milliseconds $name 1000" \
    "sentinel failover-timeout $name 10000" "sentinel parallel-syncs $name 1" >"$dir/sentinel.conf"
  redis-server "$dir/sentinel.conf" --sentinel >/dev/null
  local i
  for i in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  ps_log "Redis Sentinel did not start (see $dir/sentinel.log)"
  return 1
}

# ps_sentinel_stop <datadir> <port>
ps_sentinel_stop() {
  local dir=$1 port=$2
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  [ -f "$dir/sentinel.pid" ] && kill "$(cat "$dir/sentinel.pid")" 2>/dev/null
  return 0
}
