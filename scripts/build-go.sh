#!/usr/bin/env bash
# Build the Go binaries of the local provider once, cached outside the repo and keyed by version.
# Usage: scripts/build-go.sh [kube|etcd|coredns|kube-router|kube-score|trivy|trivy-config|statsd-exporter|prometheus|kwok|all|scanners]
#        (default: all)
# kube-router: only its NetworkPolicy controller runs, as a host process of our test cluster (never in the chart).
# statsd-exporter: the chart's metrics.enabled exporter (image airkube.local/statsd-exporter). prometheus (+ promtool):
# the metrics e2e test's Prometheus; built on demand (~6 min cold, 2 cores). promql-parse: Prometheus's own PromQL
# parser package alone (wrapper module scripts/build/promql-parse), small enough for `make setup` (dashboard test).
# kube-score, trivy-config: the manifest scanners of `make test` (tests/charts/test_scanners.py). trivy-config is
# Trivy v0.74.0's own Kubernetes misconfiguration scanner + embedded checks behind a tiny main (wrapper module
# scripts/build/trivy-config: 735 packages against the CLI's 3,361, ~4 CPU-min cold); `trivy` is the whole CLI
# (`make scanners`, ~20 CPU-min cold), against which test_scanners checks the wrapper's findings when it is built.
# kwok: the fake-node controller of `airkube bench --scale` (P6, tools/airkube/bench/scale), a host process of the
# bench only, built on demand by the bench (never by make setup). Its go.mod has no replace lines: go install.
# traefik: the ingress controller + Gateway API implementation of tests/e2e/test_ingress_browser.py (never in the chart).
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
TRAEFIK_VERSION=v3.7.13
STATSD_EXPORTER_VERSION=v0.31.0
PROMETHEUS_VERSION=v0.316.0  # the Go module version of Prometheus 3.16.0
PROMETHEUS_APP_VERSION=3.16.0
KWOK_VERSION=v0.8.0

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

# Traefik from its module zip: its go.mod replaces github.com/traefik/traefik/dynamic/ext with ./pkg/config/dynamic/ext,
# a nested module the zip leaves out, so the source is copied to a scratch dir, scripts/build/traefik-ext put there
# (plus nodns.go in place of lego's DNS-01 provider registry, see there), and ./cmd/traefik built in place (no `go install`, no wrapper main). The web UI is not in the module
# (webui/static holds a placeholder only): the binary runs with the dashboard off.
build_traefik() {
  local out="$cache/traefik-$TRAEFIK_VERSION"
  [ -x "$out" ] && return 0
  local mod="github.com/traefik/traefik/v3" dir src started=$SECONDS
  echo "[build-go] building traefik $TRAEFIK_VERSION (from the $mod module zip) ..." >&2
  dir="$(go mod download -json "$mod@$TRAEFIK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir" ] || { echo "go mod download $mod@$TRAEFIK_VERSION gave no source dir" >&2; return 1; }
  src="$(mktemp -d)"
  cp -r "$dir/." "$src/" && chmod -R u+w "$src"
  mkdir -p "$src/pkg/config/dynamic/ext" "$src/pkg/provider/acme/nodns"
  cp "$here/build/traefik-ext/go.mod" "$here/build/traefik-ext/ext.go" "$src/pkg/config/dynamic/ext/"
  # lego's providers/dns links every DNS-01 provider; the proxy refuses a dozen of their SDKs (403): no DNS-01
  cp "$here/build/traefik-ext/nodns.go" "$src/pkg/provider/acme/nodns/"
  sed -i 's#"github.com/go-acme/lego/v5/providers/dns"#dns "github.com/traefik/traefik/v3/pkg/provider/acme/nodns"#' \
    "$src/pkg/provider/acme/provider.go"
  # Traefik's fork github.com/containous/go-http-auth is refused by the proxy too (403): upstream v0.4.0 has its API
  # except CheckSecret (checksecret.go here) and DigestAuth.RequireAuthStale (a stale nonce gets the plain challenge)
  (cd "$src" && go mod edit -replace github.com/abbot/go-http-auth=github.com/abbot/go-http-auth@v0.4.0)
  cp "$here/build/traefik-ext/checksecret.go" "$src/pkg/middlewares/auth/"
  sed -i 's/checkSecret:\( *\)goauth\.CheckSecret,/checkSecret:\1checkSecret,/' "$src/pkg/middlewares/auth/basic_auth.go"
  sed -i 's/d\.auth\.RequireAuthStale(rw, req)/d.auth.RequireAuth(rw, req)/' "$src/pkg/middlewares/auth/digest_auth.go"
  heartbeat_start "building traefik $TRAEFIK_VERSION"
  local rc=0
  (cd "$src" && GOFLAGS="$GOFLAGS -mod=mod" go build -ldflags "-s -w -X $mod/pkg/version.Version=$TRAEFIK_VERSION" -o "$out.tmp" ./cmd/traefik \
     && mv "$out.tmp" "$out") || rc=$?
  heartbeat_stop
  rm -rf "$src"
  [ "$rc" -eq 0 ] || return "$rc"
  echo "[build-go] built traefik $TRAEFIK_VERSION in $((SECONDS - started)) s" >&2
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
  trivy-config) GOEXPERIMENT=jsonv2 build_wrapper trivy-config trivy-config "$TRIVY_VERSION" ;;
  traefik) build_traefik ;;
  scanners) build_kube_score; GOEXPERIMENT=jsonv2 build_wrapper trivy-config trivy-config "$TRIVY_VERSION"; build_trivy ;;
  statsd-exporter) build_statsd_exporter ;;
  prometheus) build_prometheus ;;
  kwok) build_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" ;;
  promql-parse) build_wrapper promql-parse promql-parse "$PROMETHEUS_VERSION" ;;
  all) build_kube; build_wrapper etcd etcd "$ETCD_VERSION"; build_wrapper coredns coredns "$COREDNS_VERSION"
       build_kube_router ;;
  *) echo "unknown target: $what" >&2; exit 2 ;;
esac
