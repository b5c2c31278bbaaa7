# Shared shell helpers for Trainyard's scripts. Source it; it sets ROOT, STATE_DIR, CACHE_DIR.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${TRAINYARD_STATE_DIR:-$ROOT/.trainyard}"
CACHE_DIR="${TRAINYARD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trainyard}"
TEMPORAL_PORT="${TRAINYARD_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TRAINYARD_TEMPORAL_UI_PORT:-8233}"
API_PORT="${TRAINYARD_API_PORT:-3000}"
VENV_LINK="$STATE_DIR/venv"
MLFLOW_VENV_LINK="$STATE_DIR/mlflow-venv"
MLFLOW_PORT="${TRAINYARD_MLFLOW_PORT:-5000}"
export TRAINYARD_STATE_DIR="$STATE_DIR"

die() { echo "trainyard: $*" >&2; exit 1; }
say() { echo "trainyard: $*"; }

# port_open PORT: true when something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds or the deadline passes.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# pid_alive FILE: true when FILE holds the pid of a running process.
pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

need_venv() {
  [[ -x $VENV_LINK/bin/temporal ]] || die "the Temporal CLI is missing ($VENV_LINK/bin/temporal); run: npm run bootstrap"
  export PATH="$VENV_LINK/bin:$PATH"
  export TRAINYARD_TEMPORAL_BIN="$VENV_LINK/bin/temporal"
  export TRAINYARD_TEST_SERVER_BIN="$VENV_LINK/bin/temporal-test-server"
  export TRAINYARD_KUBE_BIN="$STATE_DIR/kube-bin"
  export TRAINYARD_S3_BIN="$STATE_DIR/s3-bin"
  # The server; the training venv's own `mlflow` (first on PATH) is mlflow-skinny's client.
  export TRAINYARD_MLFLOW_BIN="$MLFLOW_VENV_LINK/bin/mlflow"
}

# prepare: what every top-level command does first: bootstrap, put the venv on PATH, build.
prepare() {
  bash "$ROOT/scripts/bootstrap.sh"
  need_venv
  bash "$ROOT/scripts/build.sh"
}
