#!/usr/bin/env bash
# Build the Go binaries of the local provider once, cached outside the repo and keyed by version.
# Usage: scripts/build-go.sh [kube|etcd|coredns|all]   (default: all)
# (git-sync: k8s.io/git-sync is refused by the Go proxy (403); the image ships scripts/images/git-sync instead.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${AIRKUBE_CACHE:-$HOME/.cache/airkube}/bin"
mkdir -p "$cache"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -trimpath"
export CGO_ENABLED=0

KUBE_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
COREDNS_VERSION=v1.14.7

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

# A wrapper module in scripts/build/<dir> (main.go + go.mod/go.sum pinning the version): name dir version
build_wrapper() {
  local out="$cache/$1-$3"
  [ -x "$out" ] && return 0
  echo "building $1 $3 ..." >&2
  (cd "$here/build/$2" && go build -ldflags "-s -w" -o "$out.tmp" . && mv "$out.tmp" "$out")
}

what="${1:-all}"
case "$what" in
  kube) build_kube ;;
  etcd) build_wrapper etcd etcd "$ETCD_VERSION" ;;
  coredns) build_wrapper coredns coredns "$COREDNS_VERSION" ;;
  all) build_kube; build_wrapper etcd etcd "$ETCD_VERSION"; build_wrapper coredns coredns "$COREDNS_VERSION" ;;
  *) echo "unknown target: $what" >&2; exit 2 ;;
esac
