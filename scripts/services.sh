# Starting and stopping Trainyard's own processes (worker, API, webhook sink).
# Source after lib.sh. Each service has a pid file and a log in the state dir.

# start_service NAME PORT COMMAND...: starts COMMAND in the background, replacing an earlier
# instance of the same service; PORT (or '-') must be free or become open within 60s.
start_service() {
  local name=$1 port=$2; shift 2
  stop_service "$name"
  if [[ $port != - ]] && port_open "$port"; then
    die "port $port ($name) is in use by another process; stop it or choose another port"
  fi
  nohup "$@" >"$STATE_DIR/$name.log" 2>&1 &
  echo $! >"$STATE_DIR/$name.pid"
  if [[ $port != - ]] && ! wait_for "$name" 60 port_open "$port"; then
    tail -5 "$STATE_DIR/$name.log" >&2
    die "$name did not open port $port within 60s (log: $STATE_DIR/$name.log)"
  fi
}

# stop_service NAME: SIGTERM (graceful), SIGKILL after 15s.
stop_service() {
  local pidfile="$STATE_DIR/$1.pid"
  if pid_alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    wait_for "$1 to stop" 15 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# wait_for_line NAME PATTERN SECONDS: waits until the service's log shows PATTERN; fails at once
# when the service exits first (a start that failed), not only when the time is up.
wait_for_line() {
  local name=$1 pattern=$2 seconds=$3
  local log="$STATE_DIR/$name.log" deadline=$((SECONDS + seconds))
  until grep -q "$pattern" "$log" 2>/dev/null; do
    if ! pid_alive "$STATE_DIR/$name.pid"; then
      tail -5 "$log" >&2
      die "$name exited before it was ready (log: $log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -5 "$log" >&2
      die "$name did not start within ${seconds}s (log: $log)"
    fi
    sleep 0.2
  done
}
