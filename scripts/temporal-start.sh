#!/usr/bin/env bash
# Starts the Temporal dev server (gRPC 7233, Web UI 8233) on 127.0.0.1 with its
# SQLite file in the state dir, so runs survive restarts. Reuses a server this
# script already started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_venv
pidfile="$STATE_DIR/temporal.pid"

if pid_alive "$pidfile" && port_open "$TEMPORAL_PORT"; then
  say "Temporal already running on 127.0.0.1:$TEMPORAL_PORT (pid $(cat "$pidfile"))"
  exit 0
fi
port_open "$TEMPORAL_PORT" && die "port $TEMPORAL_PORT is in use by another process; stop it or set TRAINYARD_TEMPORAL_PORT"
port_open "$TEMPORAL_UI_PORT" && die "port $TEMPORAL_UI_PORT (Web UI) is in use by another process; stop it or set TRAINYARD_TEMPORAL_UI_PORT"

attrs=()
for attr in TrainyardPipelineId=Keyword TrainyardPipelineVersion=Keyword TrainyardRunState=Keyword TrainyardLogicalDate=Datetime \
  TrainyardParentRunId=Keyword TrainyardStepId=Keyword TrainyardMapIndex=Int \
  TrainyardAwaitingApproval=Bool; do
  attrs+=(--search-attribute "$attr")
done
# With a payload codec configured (TRAINYARD_PAYLOAD_BUCKET or _KEY), the Web UI shows values
# decoded by the API's codec endpoints instead of references and ciphertext.
codec=()
if [[ -n ${TRAINYARD_PAYLOAD_BUCKET:-} || -n ${TRAINYARD_PAYLOAD_KEY:-} ]]; then
  codec=(--ui-codec-endpoint "http://127.0.0.1:$API_PORT/codec")
fi
mkdir -p "$STATE_DIR"
nohup temporal server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
  --db-filename "$STATE_DIR/temporal.db" --log-level warn "${attrs[@]}" ${codec[@]+"${codec[@]}"} \
  >"$STATE_DIR/temporal.log" 2>&1 &
echo $! > "$pidfile"
if ! wait_for "Temporal" 60 temporal operator cluster health --address "127.0.0.1:$TEMPORAL_PORT"; then
  tail -5 "$STATE_DIR/temporal.log" >&2
  die "Temporal did not become healthy within 60s (log: $STATE_DIR/temporal.log)"
fi
say "Temporal on 127.0.0.1:$TEMPORAL_PORT, Web UI http://127.0.0.1:$TEMPORAL_UI_PORT${codec[1]:+ (decoding through ${codec[1]})}"
