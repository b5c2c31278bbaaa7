#!/usr/bin/env bash
# npm run demo [-- --keep-running] [-- --param threshold=0.95]
# Bootstraps, starts Temporal, a worker, the API and a local webhook sink, runs the
# flagship pipeline through the API, prints its steps and exits 0 only if it succeeded.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/services.sh"
cd "$ROOT"

keep=0
client_args=()
for arg in "$@"; do
  case $arg in
    --keep-running) keep=1 ;;
    *) client_args+=("$arg") ;;
  esac
done

prepare
bash scripts/temporal-start.sh

sink_port="${TRAINYARD_SINK_PORT:-3099}"
notifications="$STATE_DIR/notifications.jsonl"
touch "$notifications"
start_service webhook-sink "$sink_port" node dist/scripts/webhook-sink.js "$sink_port" "$notifications"
export TRAINYARD_SLACK_WEBHOOK_URL="http://127.0.0.1:$sink_port/hooks/demo"
export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"
export TRAINYARD_TEMPORAL_UI_URL="http://127.0.0.1:$TEMPORAL_UI_PORT"
export TRAINYARD_API_PORT="$API_PORT"
start_service worker - node dist/worker/main.js
wait_for_line worker "trainyard worker on" 60
start_service api "$API_PORT" node dist/api/main.js
say "worker (log $STATE_DIR/worker.log), API http://127.0.0.1:$API_PORT, Web UI http://127.0.0.1:$TEMPORAL_UI_PORT"

status=0
node dist/scripts/demo.js --api "http://127.0.0.1:$API_PORT" --ui "http://127.0.0.1:$TEMPORAL_UI_PORT" \
  --notifications "$notifications" "${client_args[@]}" || status=$?

if ((keep)); then
  say "services left running (--keep-running); stop them with: npm run stop"
else
  stop_service api
  stop_service worker
  stop_service webhook-sink
  bash scripts/temporal-stop.sh >/dev/null
fi
exit "$status"
