#!/usr/bin/env bash
# npm run demo [-- --keep-running] [-- --kubernetes] [-- --param threshold=0.95] [-- --no-approve]
# Bootstraps, starts Temporal, the local S3 server, the MLflow tracking server, a worker,
# the API and a local webhook sink, runs the flagship pipeline through the API (its first
# step waits for the day's training data in S3, which the demo uploads a few seconds
# later), prints its steps and exits 0 only if it succeeded.
# --kubernetes also starts the local cluster (real API server, KWOK nodes) and runs the
# example's pod steps as pods there, then lists the pods and the nodes they ran on.
# The run waits for a person to approve its model; the demo approves it through the API as a
# second identity. --no-approve leaves it waiting (services up) and prints how to approve it.
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
    # The run stays waiting for approval, so the services stay up for whoever approves it.
    --no-approve) keep=1; client_args+=("$arg") ;;
    *) client_args+=("$arg") ;;
  esac
done

prepare
mkdir -p "$STATE_DIR"

# The local S3 server: the day's data, artifacts and large XCom live there. Its generated keys
# stay in a 0600 file and reach the worker and API through their environment, never a log line.
start_service local-s3 - node dist/scripts/local-s3.js "$STATE_DIR/s3"
wait_for_line local-s3 "local s3 ready" 60
s3_connection="$STATE_DIR/s3/connection.json"
s3_field() { node -p "require(process.argv[1]).$1" "$s3_connection"; }
export TRAINYARD_S3_ENDPOINT="$(s3_field endpoint)" TRAINYARD_S3_REGION="$(s3_field region)"
export AWS_ACCESS_KEY_ID="$(s3_field accessKeyId)" AWS_SECRET_ACCESS_KEY="$(s3_field secretAccessKey)"
export TRAINYARD_ARTIFACTS_URI="${TRAINYARD_ARTIFACTS_URI:-s3://trainyard-artifacts}"
# Large XCom goes to S3 by content hash and every payload is encrypted; the key is made once
# and kept (0600) with the state, so earlier runs stay readable.
export TRAINYARD_PAYLOAD_BUCKET="${TRAINYARD_PAYLOAD_BUCKET:-trainyard-payloads}"
if [[ -z ${TRAINYARD_PAYLOAD_KEY:-} ]]; then
  [[ -f $STATE_DIR/payload.key ]] || (umask 077 && head -c 32 /dev/urandom | base64 > "$STATE_DIR/payload.key")
  TRAINYARD_PAYLOAD_KEY="$(cat "$STATE_DIR/payload.key")"
  export TRAINYARD_PAYLOAD_KEY
fi
export TRAINYARD_EVENTS_TOKEN="${TRAINYARD_EVENTS_TOKEN:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}"

# The MLflow tracking server, its artifacts in the S3 server's bucket mlflow-artifacts and its
# runs in $STATE_DIR/mlflow. It takes a while to start, so it starts now and is waited for just
# before the worker, which (like the API) reaches it at TRAINYARD_MLFLOW_TRACKING_URI.
start_service local-mlflow - env TRAINYARD_MLFLOW_PORT="$MLFLOW_PORT" node dist/scripts/local-mlflow.js "$STATE_DIR"
export TRAINYARD_MLFLOW_TRACKING_URI="http://127.0.0.1:$MLFLOW_PORT"

bash scripts/temporal-start.sh

sink_port="${TRAINYARD_SINK_PORT:-3099}"
notifications="$STATE_DIR/notifications.jsonl"
touch "$notifications"
start_service webhook-sink "$sink_port" node dist/scripts/webhook-sink.js "$sink_port" "$notifications"
export TRAINYARD_SLACK_WEBHOOK_URL="http://127.0.0.1:$sink_port/hooks/demo"
export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"
export TRAINYARD_TEMPORAL_UI_URL="http://127.0.0.1:$TEMPORAL_UI_PORT"
export TRAINYARD_API_PORT="$API_PORT"
export TRAINYARD_API_URL="http://127.0.0.1:$API_PORT"

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
wait_for_line local-mlflow "local mlflow ready" 180
start_service worker - node dist/worker/main.js
wait_for_line worker "trainyard worker on" 60
start_service api "$API_PORT" node dist/api/main.js
say "worker (log $STATE_DIR/worker.log), API http://127.0.0.1:$API_PORT, Web UI http://127.0.0.1:$TEMPORAL_UI_PORT, MLflow $TRAINYARD_MLFLOW_TRACKING_URI"

# The day's data, uploaded by the demo client a few seconds after the run starts.
python3 examples/ml-training/image/make_data.py --out "$STATE_DIR/digits.csv" >/dev/null

status=0
node dist/scripts/demo.js --api "http://127.0.0.1:$API_PORT" --ui "http://127.0.0.1:$TEMPORAL_UI_PORT" \
  --mlflow "$TRAINYARD_MLFLOW_TRACKING_URI" --notifications "$notifications" --data "$STATE_DIR/digits.csv" "${client_args[@]}" || status=$?

if ((keep)); then
  say "services left running (--keep-running); stop them with: npm run stop"
else
  stop_service api
  stop_service worker
  stop_service webhook-sink
  stop_service local-cluster
  stop_service local-mlflow
  stop_service local-s3
  bash scripts/temporal-stop.sh >/dev/null
fi
exit "$status"
