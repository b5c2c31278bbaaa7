#!/usr/bin/env bash
# Builds the local S3 server, versitygw (an S3 gateway over a plain directory, its
# posix backend), from its Go module: `go install` fetches it from the Go module
# proxy, no downloaded binary. Cached by version in $CACHE_DIR/versitygw-<version>/bin
# and linked as $STATE_DIR/s3-bin; a second run is instant.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/s3-versions.env"

out="$CACHE_DIR/versitygw-$VERSITYGW_VERSION"
if [[ ! -x $out/bin/versitygw ]]; then
  command -v go >/dev/null || die "go is not installed; the local S3 server (versitygw) is built from Go modules"
  say "building versitygw $VERSITYGW_VERSION (the local S3 server; a few minutes, once)"
  mkdir -p "$out"
  rm -rf "$out/bin.partial"
  # Into a scratch directory first, so an interrupted build never leaves a half-written binary behind.
  GOTOOLCHAIN=local GOBIN="$out/bin.partial" go install -trimpath \
    "github.com/versity/versitygw/cmd/versitygw@v$VERSITYGW_VERSION" \
    || die "building versitygw $VERSITYGW_VERSION failed (run scripts/s3-build.sh to see why)"
  rm -rf "$out/bin"
  mv "$out/bin.partial" "$out/bin"
fi
mkdir -p "$STATE_DIR"
ln -sfn "$out/bin" "$STATE_DIR/s3-bin"
