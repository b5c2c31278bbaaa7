#!/usr/bin/env bash
# npm test: bootstrap, build, lint, then every test file against real Temporal
# servers started from the bootstrapped binaries. Extra arguments select test
# files (paths under test/, .ts or compiled .js).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
prepare
npx eslint --max-warnings=0 .

if (($#)); then
  files=()
  for f in "$@"; do f=${f%.ts}; f=${f%.js}; files+=("dist/${f}.js"); done
else
  mapfile -t files < <(find dist/test -name '*.test.js' | sort)
fi
export TRAINYARD_TEST_LOG_LEVEL="${TRAINYARD_TEST_LOG_LEVEL:-ERROR}"
node --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
