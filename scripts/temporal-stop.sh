#!/usr/bin/env bash
# Stops the dev server this project started; its SQLite state stays.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pidfile="$STATE_DIR/temporal.pid"
if pid_alive "$pidfile"; then
  kill "$(cat "$pidfile")"
  wait_for "Temporal to stop" 20 bash -c "! kill -0 $(cat "$pidfile")" || kill -9 "$(cat "$pidfile")"
  say "Temporal stopped"
fi
rm -f "$pidfile"
