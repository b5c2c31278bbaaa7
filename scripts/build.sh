#!/usr/bin/env bash
# Compiles TypeScript to dist/ (incremental) and writes the workflow bundle.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
npx tsc -p tsconfig.json
node dist/scripts/build-workflow-bundle.js >/dev/null
