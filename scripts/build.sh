#!/usr/bin/env bash
# Compiles TypeScript into a fresh dist/ (so no output of a deleted file lingers)
# and writes the workflow bundle production workers load.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
rm -rf dist
npx tsc -p tsconfig.json
node dist/scripts/build-workflow-bundle.js >/dev/null
