#!/bin/sh
# Entrypoint of docker-compose.scale.yml's Redis servers (redis-1 starts as the master, redis-2 and
# redis-3 as its replicas): writes $REDIS_CONF once, then runs "$@" (the image's
# `docker-entrypoint.sh redis-server $REDIS_CONF`). A file, not command-line options, because Sentinel
# rewrites it (CONFIG REWRITE) when it turns a server into a replica or a master: after a failover a
# restarted server keeps the role Sentinel gave it instead of the one it was created with.
#   REDIS_CONF     the file (in the server's volume)
#   ANNOUNCE_HOST  this server's name as the others reach it (announced to Sentinel instead of an IP that
#                  changes when the container is re-created)
#   REPLICA_OF     "host port" of the first master; empty: start as the master
#   REDIS_PORT     6379 unless set
set -eu

: "${REDIS_CONF:?}" "${ANNOUNCE_HOST:?}"
if [ ! -s "$REDIS_CONF" ]; then
  {
    echo "port ${REDIS_PORT:-6379}"
    # reachable only inside the compose network (no published port), as docker-compose.yml's redis
    echo "protected-mode no"
    echo "dir $(dirname "$REDIS_CONF")"
    echo "appendonly yes"
    echo "replica-announce-ip $ANNOUNCE_HOST"
    if [ -n "${REPLICA_OF:-}" ]; then echo "replicaof $REPLICA_OF"; fi
  } >"$REDIS_CONF.new"
  mv "$REDIS_CONF.new" "$REDIS_CONF"
fi
exec "$@"
