#!/usr/bin/env bash
# npm run bench: bootstraps, builds, and runs every benchmark against real servers (Temporal,
# the local Kubernetes cluster for the pod benchmarks, the local S3 server for the sensors)
# it starts itself; figures go to bench/results/latest.json.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
prepare
export TRAINYARD_TEST_LOG_LEVEL="${TRAINYARD_TEST_LOG_LEVEL:-ERROR}"
node dist/bench/orchestration.js "$@"
node dist/bench/pods.js
node dist/bench/fanout.js
# 5,000 reschedule-mode sensors on one worker process: about 12-15 minutes on 2 cores.
node dist/bench/sensors.js
