#!/usr/bin/env bash
# Builds the local Kubernetes control plane from Go modules (no downloaded binaries):
# kube-apiserver, kube-scheduler and kube-controller-manager from k8s.io/kubernetes
# (a wrapper module pins every staging module to its matching k8s.io/* v0.x.y),
# etcd from go.etcd.io/etcd/server/v3 (same trick for its sibling modules), and
# kwok. Cached by version in $CACHE_DIR/kube-<versions>/bin; a second run is instant.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/kube-versions.env"
command -v go >/dev/null || die "go is not installed; the local Kubernetes cluster is built from Go modules"

out="$CACHE_DIR/kube-$KUBE_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
bins=(kube-apiserver kube-scheduler kube-controller-manager etcd kwok)
complete() { for b in "${bins[@]}"; do [[ -x $out/bin/$b ]] || return 1; done; }
if complete; then
  ln -sfn "$out/bin" "$STATE_DIR/kube-bin"
  exit 0
fi
mkdir -p "$out/bin" "$STATE_DIR"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local

# kube-* : the wrapper module replaces k8s.io/kubernetes's ./staging paths with published versions.
if [[ ! -x $out/bin/kube-apiserver || ! -x $out/bin/kube-scheduler || ! -x $out/bin/kube-controller-manager ]]; then
  say "building kube-apiserver, kube-scheduler, kube-controller-manager $KUBE_VERSION (several minutes, once)"
  work="$out/src/kubernetes"; mkdir -p "$work"
  upstream=$(cd "$work" && go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')
  [[ -f $upstream ]] || die "could not fetch k8s.io/kubernetes@v$KUBE_VERSION from the Go module proxy"
  {
    printf 'module trainyard.local/kube\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$KUBE_VERSION"
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$upstream" | awk -v v="v0.${KUBE_VERSION#1.}" '{ printf "\t%s => %s %s\n", $1, $1, v }'
    printf ')\n'
  } > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n)\n' > "$work/tools.go"
  (cd "$work" && go mod tidy >/dev/null 2>&1 && go build -trimpath -o "$out/bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-controller-manager) \
    || die "building Kubernetes $KUBE_VERSION failed (run scripts/kube-build.sh to see why)"
fi

if [[ ! -x $out/bin/etcd ]]; then
  say "building etcd $ETCD_VERSION"
  work="$out/src/etcd"; mkdir -p "$work"
  {
    printf 'module trainyard.local/etcd\n\ngo 1.24.0\n\nrequire go.etcd.io/etcd/server/v3 v%s\n\nreplace (\n' "$ETCD_VERSION"
    for m in api/v3 client/pkg/v3 client/v3 pkg/v3; do printf '\tgo.etcd.io/etcd/%s => go.etcd.io/etcd/%s v%s\n' "$m" "$m" "$ETCD_VERSION"; done
    printf ')\n'
  } > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy >/dev/null 2>&1 && go build -trimpath -o "$out/bin/etcd" go.etcd.io/etcd/server/v3) \
    || die "building etcd $ETCD_VERSION failed"
fi

if [[ ! -x $out/bin/kwok ]]; then
  say "building kwok $KWOK_VERSION"
  GOBIN="$out/bin" go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" || die "building kwok $KWOK_VERSION failed"
fi
complete || die "the Kubernetes build left binaries missing in $out/bin"
ln -sfn "$out/bin" "$STATE_DIR/kube-bin"
