#!/usr/bin/env bash
# npm run stop: stops everything the demo started; state (runs, SQLite) stays.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/services.sh"
for service in api worker webhook-sink local-cluster local-mlflow local-s3; do stop_service "$service"; done
bash "$(dirname "$0")/temporal-stop.sh"
