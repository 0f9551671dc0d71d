#!/usr/bin/env bash
# Build the Go binaries of the local provider once, cached outside the repo and keyed by version.
# Usage: scripts/build-go.sh [kube|etcd|coredns|git-sync|all]   (default: all)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${AIRKUBE_CACHE:-$HOME/.cache/airkube}/bin"
mkdir -p "$cache"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -trimpath"
export CGO_ENABLED=0

KUBE_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
COREDNS_VERSION=v1.14.7
GITSYNC_VERSION=v4.4.2

build_kube() {
  local out="$cache/kube-$KUBE_VERSION"
  [ -x "$out" ] && return 0
  local pkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version ld="-s -w" kv
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  for kv in "gitVersion=$KUBE_VERSION" gitMajor=1 "gitMinor=$minor" gitTreeState=clean \
            "gitCommit=airkube-$KUBE_VERSION" "buildDate=1970-01-01T00:00:00Z"; do
    ld="$ld -X $pkg.$kv -X $cpkg.$kv"
  done
  echo "building kube $KUBE_VERSION (apiserver, controller-manager, scheduler, kubelet, proxy) ..." >&2
  (cd "$here/build/kube" && go build -ldflags "$ld" -o "$out.tmp" . && mv "$out.tmp" "$out")
}

build_etcd() {
  local out="$cache/etcd-$ETCD_VERSION"
  [ -x "$out" ] && return 0
  echo "building etcd $ETCD_VERSION ..." >&2
  (cd "$here/build/etcd" && go build -ldflags "-s -w" -o "$out.tmp" . && mv "$out.tmp" "$out")
}

# Modules without replace lines: `go install mod@version` into a private GOBIN.
go_install() {  # name module version
  local out="$cache/$1-$3"
  [ -x "$out" ] && return 0
  echo "building $1 $3 ..." >&2
  local gobin; gobin="$(mktemp -d)"
  GOBIN="$gobin" go install -ldflags "-s -w" "$2@$3"
  mv "$gobin"/* "$out"; rmdir "$gobin"
}

what="${1:-all}"
case "$what" in
  kube) build_kube ;;
  etcd) build_etcd ;;
  coredns) go_install coredns github.com/coredns/coredns "$COREDNS_VERSION" ;;
  git-sync) go_install git-sync k8s.io/git-sync "$GITSYNC_VERSION" ;;
  all) build_kube; build_etcd; go_install coredns github.com/coredns/coredns "$COREDNS_VERSION";
       go_install git-sync k8s.io/git-sync "$GITSYNC_VERSION" ;;
  *) echo "unknown target: $what" >&2; exit 2 ;;
esac
