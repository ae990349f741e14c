# shellcheck shell=bash
# The simulated payment services and their background traffic, for scripts/up (sourced after stack.sh,
# whose ps_log and ps_wait_http it uses). Defines functions only.
# ps_start_fakes expects PIDS (a bash array) in the caller's scope, and BACKEND_URL and INGEST_API_KEY
# exported (the services send their telemetry there).
# PS_HOST (127.0.0.1) is how the services are reached (scripts/up derives it from BIND_ADDR).
# Overrides: INVENTORY_PORT (8002), PAYMENT_PORT (8004), GATEWAY_PORT (8003), INVENTORY_URL, PAYMENT_URL,
# GATEWAY_TIMEOUT_MS (1000) and the other fake-service variables (fake-service --help);
# PS_NO_TRAFFIC=1 (no traffic), PS_TRAFFIC_RATE (2 orders/s), PS_TRAFFIC_FAIL_SHARE (0.03),
# PS_TRAFFIC_SCENARIOS (fail-pay,fail-inv,slow-inv), PS_TRAFFIC_SEED (random).

FAKE_PIDS=()

# ps_start_fakes <build dir> <log dir>: starts inventory, payment and gateway, waits for their health,
# starts light traffic, appends every pid to PIDS (and FAKE_PIDS) and prints the URLs. Never fails the
# caller: a service that does not come up is reported with its log file.
ps_start_fakes() {
  local build=$1 logs=$2 role port pid up=1
  mkdir -p "$logs"
  export INVENTORY_PORT=${INVENTORY_PORT:-8002} PAYMENT_PORT=${PAYMENT_PORT:-8004} GATEWAY_PORT=${GATEWAY_PORT:-8003}
  export INVENTORY_URL=${INVENTORY_URL:-http://${PS_HOST:-127.0.0.1}:$INVENTORY_PORT}
  export PAYMENT_URL=${PAYMENT_URL:-http://${PS_HOST:-127.0.0.1}:$PAYMENT_PORT}
  # the local demo injects faults through /control/* (off unless asked for: never in compose's default)
  export FAKE_CONTROL=${FAKE_CONTROL:-1}
  for role in inventory payment gateway; do
    "$build/fake-services/fake-service" "$role" >>"$logs/$role.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    FAKE_PIDS+=("$pid")
  done
  for role in inventory:$INVENTORY_PORT payment:$PAYMENT_PORT gateway:$GATEWAY_PORT; do
    port=${role#*:}
    role=${role%%:*}
    if ! ps_wait_http "http://${PS_HOST:-127.0.0.1}:$port/health" 20; then
      ps_log "$role did not start on port $port: see $logs/$role.log"
      up=0
    fi
  done
  local traffic="off (PS_NO_TRAFFIC=1)"
  if [ "${PS_NO_TRAFFIC:-0}" != 1 ] && [ $up = 1 ]; then
    local rate=${PS_TRAFFIC_RATE:-2} share=${PS_TRAFFIC_FAIL_SHARE:-0.03}
    # light traffic with an occasional failure, so incidents and reports show up within minutes
    "$build/fake-services/traffic-gen" --target "http://${PS_HOST:-127.0.0.1}:$GATEWAY_PORT" --rate "$rate" --duration 0 \
      --fail-share "$share" --scenarios "${PS_TRAFFIC_SCENARIOS:-fail-pay,fail-inv,slow-inv}" \
      --seed "${PS_TRAFFIC_SEED:-$RANDOM}" --report-every 60 >>"$logs/traffic.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    FAKE_PIDS+=("$pid")
    traffic="$rate orders/s, share $share with a failure trigger (summary every minute in $logs/traffic.log)"
  fi
  cat <<EOT
  Gateway        http://${PS_HOST:-127.0.0.1}:$GATEWAY_PORT/orders   (order ids containing fail-pay, fail-inv or slow-inv fail on purpose)
  Payment        http://${PS_HOST:-127.0.0.1}:$PAYMENT_PORT/charge    Inventory http://${PS_HOST:-127.0.0.1}:$INVENTORY_PORT/reserve
  Fault control  POST <service>/control/fault, /control/network-delay, /control/change, /control/reset; GET <service>/stats
  Traffic        $traffic
  Scenarios      docs/scenarios.md
EOT
}

# ps_stop_fakes: stops what ps_start_fakes started (SIGTERM, then waits).
ps_stop_fakes() {
  local p
  for p in "${FAKE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${FAKE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  FAKE_PIDS=()
}

# ps_fake_order [trigger]: places one order at the gateway (e.g. ps_fake_order fail-pay) and prints the
# answer, which carries the trace id to look up.
ps_fake_order() {
  local id
  id="ord-manual-$(date +%s%N)${1:+-$1}"
  curl -sS -X POST "http://${PS_HOST:-127.0.0.1}:${GATEWAY_PORT:-8003}/orders" -H 'Content-Type: application/json' \
    -d "{\"order_id\":\"$id\",\"amount\":12.5,\"items\":[\"sku-042\"]}"
  echo
}
