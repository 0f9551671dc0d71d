#!/usr/bin/env bash
# Build the Go binaries of the local provider once, cached outside the repo and keyed by version.
# Usage: scripts/build-go.sh [kube|etcd|coredns|kube-router|kube-score|trivy|statsd-exporter|prometheus|all|scanners]
#        (default: all)
# kube-router: only its NetworkPolicy controller runs, as a host process of our test cluster (never in the chart).
# statsd-exporter: the chart's metrics.enabled exporter (image airkube.local/statsd-exporter). prometheus (+ promtool):
# the metrics e2e test's Prometheus and the dashboard test's PromQL parser; built on demand (~6 min cold, 2 cores).
# kube-score, trivy: the manifest scanners of `make test` (tests/charts/test_scanners.py).
# (git-sync: k8s.io/git-sync is refused by the Go proxy (403); the image ships scripts/images/git-sync instead.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${AIRKUBE_CACHE:-$HOME/.cache/airkube}/bin"
mkdir -p "$cache"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -trimpath"
export CGO_ENABLED=0

# Progress off a TTY too (CI, `make deploy > log`): while a build runs, a background loop prints what is being
# built and the time elapsed every $AIRKUBE_HEARTBEAT_S seconds (default 20); its PID is stopped by the EXIT trap.
heartbeat_pid=""
heartbeat_start() {  # what
  local what="$1" every="${AIRKUBE_HEARTBEAT_S:-20}" started
  started=$(date +%s)
  (
    n=0
    while sleep 1; do
      n=$((n + 1))
      if [ "$n" -ge "$every" ]; then
        n=0; t=$(( $(date +%s) - started ))
        printf '[build-go] ... %s: %dm%02ds elapsed\n' "$what" $((t / 60)) $((t % 60)) >&2
      fi
    done
  ) &
  heartbeat_pid=$!
}
heartbeat_stop() {
  if [ -n "$heartbeat_pid" ]; then
    kill "$heartbeat_pid" 2>/dev/null || true
    wait "$heartbeat_pid" 2>/dev/null || true
    heartbeat_pid=""
  fi
}
trap heartbeat_stop EXIT

KUBE_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
COREDNS_VERSION=v1.14.7
KUBE_ROUTER_VERSION=v2.1.0
KUBE_SCORE_VERSION=v1.20.0
TRIVY_VERSION=v0.74.0
STATSD_EXPORTER_VERSION=v0.31.0
PROMETHEUS_VERSION=v0.316.0  # the Go module version of Prometheus 3.16.0
PROMETHEUS_APP_VERSION=3.16.0

build_kube() {
  local out="$cache/kube-$KUBE_VERSION"
  [ -x "$out" ] && return 0
  local pkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version ld="-s -w" kv
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  for kv in "gitVersion=$KUBE_VERSION" gitMajor=1 "gitMinor=$minor" gitTreeState=clean \
            "gitCommit=airkube-$KUBE_VERSION" "buildDate=1970-01-01T00:00:00Z"; do
    ld="$ld -X $pkg.$kv -X $cpkg.$kv"
  done
  echo "[build-go] building kube $KUBE_VERSION (apiserver, controller-manager, scheduler, kubelet, proxy; ~9 min cold on 2 cores) ..." >&2
  local started=$SECONDS
  heartbeat_start "building kube $KUBE_VERSION"
  (cd "$here/build/kube" && go build -ldflags "$ld" -o "$out.tmp" . && mv "$out.tmp" "$out")
  heartbeat_stop
  echo "[build-go] built kube $KUBE_VERSION in $((SECONDS - started)) s" >&2
}

# kubeadm for the kind node image: its own wrapper module (scripts/build/kubeadm) pinning the same
# k8s.io/kubernetes as the multi-call binary, so the kube binary and its cache key stay as they are.
build_kubeadm() {
  local out="$cache/kubeadm-$KUBE_VERSION"
  [ -x "$out" ] && return 0
  local pkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version ld="-s -w" kv
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  for kv in "gitVersion=$KUBE_VERSION" gitMajor=1 "gitMinor=$minor" gitTreeState=clean \
            "gitCommit=airkube-$KUBE_VERSION" "buildDate=1970-01-01T00:00:00Z"; do
    ld="$ld -X $pkg.$kv -X $cpkg.$kv"
  done
  echo "building kubeadm $KUBE_VERSION ..." >&2
  (cd "$here/build/kubeadm" && go build -ldflags "$ld" -o "$out.tmp" . && mv "$out.tmp" "$out")
}

# A wrapper module in scripts/build/<dir> (main.go + go.mod/go.sum pinning the version): name dir version
build_wrapper() {
  local out="$cache/$1-$3"
  [ -x "$out" ] && return 0
  echo "[build-go] building $1 $3 ..." >&2
  local started=$SECONDS
  heartbeat_start "building $1 $3"
  (cd "$here/build/$2" && go build -ldflags "-s -w" -o "$out.tmp" . && mv "$out.tmp" "$out")
  heartbeat_stop
  echo "[build-go] built $1 $3 in $((SECONDS - started)) s" >&2
}

# A module whose go.mod has no replace lines, straight from the Go proxy: name package version [ldflags]
build_install() {
  local out="$cache/$1-$3"
  [ -x "$out" ] && return 0
  echo "building $1 $3 (go install $2@$3) ..." >&2
  local gobin started=$SECONDS
  gobin="$(mktemp -d)"
  heartbeat_start "building $1 $3"
  GOBIN="$gobin" go install -ldflags "-s -w ${4:-}" "$2@$3"
  heartbeat_stop
  mv "$gobin/$(basename "$2")" "$out.tmp" && mv "$out.tmp" "$out"; rmdir "$gobin"
  echo "built $1 $3 in $((SECONDS - started)) s" >&2
}

build_kube_router() {
  build_install kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "$KUBE_ROUTER_VERSION" \
    "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
}
build_kube_score() {
  build_install kube-score github.com/zegl/kube-score/cmd/kube-score "$KUBE_SCORE_VERSION" \
    "-X main.version=$KUBE_SCORE_VERSION"
}
build_trivy() {  # Trivy v0.74 uses encoding/json/v2: it only compiles with GOEXPERIMENT=jsonv2
  GOEXPERIMENT=jsonv2 build_install trivy github.com/aquasecurity/trivy/cmd/trivy "$TRIVY_VERSION" \
    "-X github.com/aquasecurity/trivy/pkg/version/app.ver=${TRIVY_VERSION#v}"
}

build_statsd_exporter() {
  build_install statsd-exporter github.com/prometheus/statsd_exporter "$STATSD_EXPORTER_VERSION" \
    "-X github.com/prometheus/common/version.Version=${STATSD_EXPORTER_VERSION#v}"
}
# prometheus + promtool from one module: -tags remove_all_sd drops every service-discovery plugin (the cloud SDKs;
# our Prometheus scrapes static targets), and without the builtinassets tag no web UI is embedded (the HTTP API,
# all we use, is unaffected). Cached as prometheus-<v> and promtool-<v>.
build_prometheus() {
  local v="$PROMETHEUS_VERSION" p=github.com/prometheus/prometheus
  [ -x "$cache/prometheus-$v" ] && [ -x "$cache/promtool-$v" ] && return 0
  echo "[build-go] building prometheus + promtool $v (-tags remove_all_sd, no UI assets) ..." >&2
  local gobin started=$SECONDS ld="-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_APP_VERSION"
  gobin="$(mktemp -d)"
  heartbeat_start "building prometheus $v"
  GOBIN="$gobin" go install -tags remove_all_sd -ldflags "$ld" "$p/cmd/prometheus@$v" "$p/cmd/promtool@$v"
  heartbeat_stop
  mv "$gobin/prometheus" "$cache/prometheus-$v.tmp" && mv "$cache/prometheus-$v.tmp" "$cache/prometheus-$v"
  mv "$gobin/promtool" "$cache/promtool-$v.tmp" && mv "$cache/promtool-$v.tmp" "$cache/promtool-$v"; rmdir "$gobin"
  echo "[build-go] built prometheus + promtool $v in $((SECONDS - started)) s" >&2
}

what="${1:-all}"
case "$what" in
  kube) build_kube ;;
  kubeadm) build_kubeadm ;;
  etcd) build_wrapper etcd etcd "$ETCD_VERSION" ;;
  coredns) build_wrapper coredns coredns "$COREDNS_VERSION" ;;
  coredns-kind) build_wrapper coredns-kind coredns-kind "$COREDNS_VERSION" ;;
  kube-router) build_kube_router ;;
  kube-score) build_kube_score ;;
  trivy) build_trivy ;;
  scanners) build_kube_score; build_trivy ;;
  statsd-exporter) build_statsd_exporter ;;
  prometheus) build_prometheus ;;
  all) build_kube; build_wrapper etcd etcd "$ETCD_VERSION"; build_wrapper coredns coredns "$COREDNS_VERSION"
       build_kube_router ;;
  *) echo "unknown target: $what" >&2; exit 2 ;;
esac
