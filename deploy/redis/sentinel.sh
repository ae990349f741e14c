#!/bin/sh
# Entrypoint of docker-compose.scale.yml's Sentinels: writes $SENTINEL_CONF once, then runs "$@" (the
# image's `docker-entrypoint.sh redis-server $SENTINEL_CONF --sentinel`). Sentinel rewrites the file with
# what it learns (replicas, the other Sentinels, the current master and epoch), so a restarted Sentinel
# resumes from there; the file lives in the container's volume. Hostnames, not IPs, everywhere: the
# servers' and Sentinels' container names are stable, their addresses are not.
#   SENTINEL_CONF      the file                          ANNOUNCE_HOST  this Sentinel's name
#   REDIS_MASTER_NAME  the name the programs ask for (their REDIS_MASTER_NAME)
#   MASTER_HOST, MASTER_PORT (6379)  the first master    QUORUM (2)     Sentinels that must agree it is down
#   DOWN_AFTER_MS (5000), FAILOVER_TIMEOUT_MS (60000)    SENTINEL_PORT (26379)
set -eu

: "${SENTINEL_CONF:?}" "${ANNOUNCE_HOST:?}" "${REDIS_MASTER_NAME:?}" "${MASTER_HOST:?}"
if [ ! -s "$SENTINEL_CONF" ]; then
  name=$REDIS_MASTER_NAME
  {
    echo "port ${SENTINEL_PORT:-26379}"
    echo "protected-mode no"
    echo "dir $(dirname "$SENTINEL_CONF")"
    # before `monitor`: it names the master by hostname
    echo "sentinel resolve-hostnames yes"
    echo "sentinel announce-hostnames yes"
    echo "sentinel announce-ip $ANNOUNCE_HOST"
    echo "sentinel monitor $name $MASTER_HOST ${MASTER_PORT:-6379} ${QUORUM:-2}"
    echo "sentinel down-after-milliseconds $name ${DOWN_AFTER_MS:-5000}"
    echo "sentinel failover-timeout $name ${FAILOVER_TIMEOUT_MS:-60000}"
    echo "sentinel parallel-syncs $name 1"
  } >"$SENTINEL_CONF.new"
  mv "$SENTINEL_CONF.new" "$SENTINEL_CONF"
fi
exec "$@"
