# Starts the simulated payment services and light background traffic for scripts/up.
# Expects: PIDS (array) in the caller's scope, BACKEND_URL and INGEST_API_KEY exported.
# Ports: INVENTORY_PORT (8002), GATEWAY_PORT (8003), PAYMENT_PORT (8004); PS_NO_TRAFFIC=1 skips traffic.

ps_start_fakes() {
  local build=$1 logs=$2
  export INVENTORY_PORT=${INVENTORY_PORT:-8002} GATEWAY_PORT=${GATEWAY_PORT:-8003} PAYMENT_PORT=${PAYMENT_PORT:-8004}
  export INVENTORY_URL=http://127.0.0.1:$INVENTORY_PORT PAYMENT_URL=http://127.0.0.1:$PAYMENT_PORT
  local role
  for role in inventory payment gateway; do
    "$build/fake-services/fake-service" "$role" >>"$logs/$role.log" 2>&1 &
    PIDS+=($!)
  done
  ps_wait_http "http://127.0.0.1:$GATEWAY_PORT/health" 20 || ps_log "gateway did not start: see $logs/gateway.log"
  ps_wait_http "http://127.0.0.1:$PAYMENT_PORT/health" 20 || ps_log "payment did not start"
  ps_wait_http "http://127.0.0.1:$INVENTORY_PORT/health" 20 || ps_log "inventory did not start"
  if [ "${PS_NO_TRAFFIC:-0}" != 1 ]; then
    # light traffic with an occasional failure, so incidents and reports show up within a minute
    "$build/fake-services/traffic-gen" --target "http://127.0.0.1:$GATEWAY_PORT" --rate 2 --duration 0 \
      --fail-share 0.03 --seed "$RANDOM" >>"$logs/traffic.log" 2>&1 &
    PIDS+=($!)
  fi
  cat <<EOT
  Gateway        http://127.0.0.1:$GATEWAY_PORT/orders   (order ids with fail-pay, fail-inv, slow-inv fail on purpose)
  Payment        http://127.0.0.1:$PAYMENT_PORT   Inventory http://127.0.0.1:$INVENTORY_PORT   (POST /control/fault, /control/change)
EOT
}
