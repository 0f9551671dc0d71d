"""Shared fixtures: render charts with a real helm binary and validate the objects against Kubernetes schemas.

`--helm-bin` picks the helm binary (default: .venv/bin/helm, Helm 4). The Makefile reruns the render suite with
Helm 3: `pytest tests/charts -m helm3 --helm-bin=helm3`.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHARTS = ROOT / "charts"
AIRFLOW_CHART = CHARTS / "airflow"
VALUES_DIR = ROOT / "values"
VENV_BIN = ROOT / ".venv" / "bin"
# kubernetes-validate 1.37 ships schemas up to 1.37; we check the chart's floor and the version we run.
KUBE_VERSIONS = ("1.30.0", "1.34.0")
DEFAULT_RELEASE = "airflow"
DEFAULT_NAMESPACE = "airflow"


def load_chart_script(name: str, monkeypatch: Any, tmp_path: Path, db_url: str) -> Any:
    """charts/airflow/files/<name> loaded as a module (the probes and init-container scripts), with an environment
    of its own: no AIRFLOW* variables but AIRFLOW_CONFIG (a minimal airflow.cfg, kept as ``module.cfg_path``) and
    the database URL. Its module name is the file name with ``_`` for ``-``."""
    import importlib.util

    for key in [k for k in list(os.environ) if k.startswith("AIRFLOW")]:
        monkeypatch.delenv(key)
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text("[core]\nexecutor = KubernetesExecutor\n")
    monkeypatch.setenv("AIRFLOW_CONFIG", str(cfg))
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", db_url)
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py").replace("-", "_"),
                                                  AIRFLOW_CHART / "files" / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.cfg_path = cfg
    return module


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--helm-bin", default="helm", help="helm binary (name on PATH/.venv/bin or path), e.g. helm3")


def _resolve_helm(name: str) -> str:
    if os.sep in name:
        return str(Path(name).resolve())
    for candidate in (VENV_BIN / name,):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.exit(f"helm binary {name!r} not found: run `make setup` (installs helm and helm3 into .venv/bin)", 2)
    return found


@dataclass
class Rendered:
    """Objects of one `helm template` run, with small lookup helpers."""

    docs: list[dict[str, Any]]
    stdout: str
    args: list[str] = field(default_factory=list)

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d.get("kind") == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for d in self.docs:
            if d.get("kind") == kind and d["metadata"]["name"] == name:
                return d
        raise KeyError(f"{kind}/{name} not rendered; have {[(d['kind'], d['metadata']['name']) for d in self.docs]}")

    def find(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return self.get(kind, name)
        except KeyError:
            return None

    def names(self, kind: str) -> list[str]:
        return [d["metadata"]["name"] for d in self.all(kind)]

    def airflow_cfg(self, release: str = DEFAULT_RELEASE) -> str:
        return self.get("ConfigMap", f"{release}-config")["data"]["airflow.cfg"]

    def pod_template(self, release: str = DEFAULT_RELEASE) -> dict[str, Any]:
        text = self.get("ConfigMap", f"{release}-pod-template")["data"]["pod_template_file.yaml"]
        return yaml.safe_load(text)

    def deployment(self, component: str, release: str = DEFAULT_RELEASE) -> dict[str, Any]:
        return self.get("Deployment", f"{release}-{component}")


class HelmError(Exception):
    def __init__(self, result: subprocess.CompletedProcess):
        super().__init__(result.stderr)
        self.stderr = result.stderr
        self.returncode = result.returncode


class Helm:
    def __init__(self, binary: str):
        self.binary = binary
        self._cache: dict[str, Rendered] = {}

    def version(self) -> str:
        return subprocess.run([self.binary, "version", "--short"], capture_output=True, text=True, check=True).stdout.strip()

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([self.binary, *args], capture_output=True, text=True, cwd=ROOT)
        if check and result.returncode != 0:
            raise HelmError(result)
        return result

    def template_args(self, values_files=(), values: dict | None = None, set_values: dict | None = None,
                      release: str = DEFAULT_RELEASE, namespace: str = DEFAULT_NAMESPACE,
                      chart: Path = AIRFLOW_CHART, extra: tuple[str, ...] = ()) -> tuple[list[str], str | None]:
        # --kube-version: a Helm 3 built with `go install` reports Kubernetes v1.20.0 by default (no client-go
        # version ldflags), which fails the chart's kubeVersion; render for the Kubernetes we run.
        args = ["template", release, str(chart), "--namespace", namespace, "--kube-version", KUBE_VERSIONS[-1]]
        for f in values_files:
            args += ["-f", str(VALUES_DIR / f) if not os.path.isabs(str(f)) and not str(f).startswith(".") else str(f)]
        tmp = None
        if values:
            fd, tmp = tempfile.mkstemp(suffix=".yaml", prefix="values-")
            with os.fdopen(fd, "w") as fh:
                yaml.safe_dump(values, fh)
            args += ["-f", tmp]
        for key, value in (set_values or {}).items():
            args += ["--set-json", f"{key}={json.dumps(value)}"]
        args += list(extra)
        return args, tmp

    def template(self, values_files=(), values: dict | None = None, set_values: dict | None = None,
                 release: str = DEFAULT_RELEASE, namespace: str = DEFAULT_NAMESPACE, chart: Path = AIRFLOW_CHART,
                 extra: tuple[str, ...] = (), cache: bool = True) -> Rendered:
        key = json.dumps([list(map(str, values_files)), values, set_values, release, namespace, str(chart), extra],
                         sort_keys=True, default=str)
        if cache and key in self._cache:
            return self._cache[key]
        args, tmp = self.template_args(values_files, values, set_values, release, namespace, chart, extra)
        try:
            result = self.run(*args)
        finally:
            if tmp:
                os.unlink(tmp)
        docs = [d for d in yaml.safe_load_all(result.stdout) if d]
        rendered = Rendered(docs=docs, stdout=result.stdout, args=args)
        if cache:
            self._cache[key] = rendered
        return rendered

    def template_error(self, **kwargs) -> str:
        """Render expecting failure; return stderr."""
        args, tmp = self.template_args(**kwargs)
        try:
            result = self.run(*args, check=False)
        finally:
            if tmp:
                os.unlink(tmp)
        assert result.returncode != 0, f"helm template unexpectedly succeeded: {args}"
        return result.stderr


def _build_dependencies(helm_bin: str) -> None:
    """`helm dependency build charts/airflow` once per session (locked: xdist workers share the charts/ dir)."""
    lock_path = Path(tempfile.gettempdir()) / "airkube-helm-dep.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        deps = AIRFLOW_CHART / "charts"
        sources = [CHARTS / "postgres", CHARTS / "volumes"]
        newest_source = max((p.stat().st_mtime for s in sources for p in s.rglob("*") if p.is_file()), default=0)
        tgzs = list(deps.glob("*.tgz")) if deps.exists() else []
        if len(tgzs) < 2 or min(t.stat().st_mtime for t in tgzs) < newest_source:
            subprocess.run([helm_bin, "dependency", "build", str(AIRFLOW_CHART)], check=True, capture_output=True,
                           text=True, cwd=ROOT)


@pytest.fixture(scope="session")
def helm_bin(request: pytest.FixtureRequest) -> str:
    return _resolve_helm(request.config.getoption("--helm-bin"))


@pytest.fixture(scope="session")
def helm(helm_bin: str) -> Helm:
    _build_dependencies(helm_bin)
    return Helm(helm_bin)


@pytest.fixture(scope="session")
def default_render(helm: Helm) -> Rendered:
    return helm.template()


def values_files() -> list[str]:
    return sorted(p.name for p in VALUES_DIR.glob("*.yaml"))


def kube_validate(doc: dict, version: str) -> None:
    """Strict schema validation (unknown fields fail) with kubernetes-validate's bundled schemas."""
    import kubernetes_validate

    kubernetes_validate.validate(doc, version, strict=True)
