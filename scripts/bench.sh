#!/usr/bin/env bash
# npm run bench: bootstraps, builds, and runs every benchmark against real servers (Temporal,
# and the local Kubernetes cluster for the pod benchmarks)
# it starts itself; figures go to bench/results/latest.json.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
prepare
export TRAINYARD_TEST_LOG_LEVEL="${TRAINYARD_TEST_LOG_LEVEL:-ERROR}"
node dist/bench/orchestration.js "$@"
node dist/bench/pods.js
node dist/bench/fanout.js
