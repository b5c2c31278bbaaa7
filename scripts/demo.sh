#!/usr/bin/env bash
# npm run demo [-- --keep-running] [-- --kubernetes] [-- --param threshold=0.95]
# Bootstraps, starts Temporal, a worker, the API and a local webhook sink, runs the
# flagship pipeline through the API, prints its steps and exits 0 only if it succeeded.
# --kubernetes also starts the local cluster (real API server, KWOK nodes) and runs the
# example's pod steps as pods there, then lists the pods and the nodes they ran on.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/services.sh"
cd "$ROOT"

keep=0
kubernetes=0
client_args=()
for arg in "$@"; do
  case $arg in
    --keep-running) keep=1 ;;
    --kubernetes) kubernetes=1 ;;
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
if ((kubernetes)); then
  stop_service local-cluster
  rm -rf "$STATE_DIR/kube"
  start_service local-cluster - node dist/scripts/local-cluster.js "$STATE_DIR/kube"
  wait_for_line local-cluster "local cluster ready" 120
  export KUBECONFIG="$STATE_DIR/kube/kubeconfig"
  export TRAINYARD_PIPELINES="examples/ml-training/pipeline,examples/ml-training/on-kwok"
  client_args+=(--pipeline ml_training_pipeline_kwok --kubeconfig "$KUBECONFIG")
  say "local Kubernetes cluster up (kubeconfig $KUBECONFIG; try: KUBECONFIG=$KUBECONFIG kubectl get nodes)"
fi
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
  stop_service local-cluster
  bash scripts/temporal-stop.sh >/dev/null
fi
exit "$status"
