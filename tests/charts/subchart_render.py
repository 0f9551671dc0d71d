"""Render helpers shared by the subchart suites (test_postgres.py, test_volumes.py): real helm, --helm-bin aware."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
KUBE_VERSIONS = ("1.30.0", "1.34.0")
DEFAULT_KUBE = "1.34.0"
NAMESPACE = "airflow"
RECOMMENDED_LABELS = (
    "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
    "app.kubernetes.io/component", "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of", "helm.sh/chart",
)


def resolve_helm(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(REPO / ".venv" / "bin"))
    if not found:
        pytest.fail(f"helm binary {name!r} not found on PATH or in .venv/bin: run `make setup`")
    return found


@pytest.fixture(scope="session")
def helm(request: pytest.FixtureRequest) -> str:
    try:
        name = request.config.getoption("--helm-bin", default="helm")
    except ValueError:
        name = "helm"
    return resolve_helm(name or "helm")


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELM_CACHE_HOME": "/tmp/airkube-helm/cache", "HELM_CONFIG_HOME": "/tmp/airkube-helm/config",
           "HELM_DATA_HOME": "/tmp/airkube-helm/data"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


@functools.lru_cache(maxsize=256)
def template(helm: str, chart: str, release: str, namespace: str, args: tuple[str, ...]) -> tuple[int, str, str]:
    # helm 3 built with `go install` assumes Kubernetes v1.20 without --kube-version: always name one
    kube = () if "--kube-version" in args else ("--kube-version", DEFAULT_KUBE)
    p = run([helm, "template", release, chart, "--namespace", namespace, *kube, *args])
    return p.returncode, p.stdout, p.stderr


def render_chart(helm: str, chart: Path | str, args: tuple[str, ...], release: str, namespace: str = NAMESPACE) -> list[dict]:
    rc, out, err = template(helm, str(chart), release, namespace, args)
    assert rc == 0, f"helm template {chart} {' '.join(args)} failed:\n{err}"
    return [d for d in yaml.safe_load_all(out) if d]


def render_chart_error(helm: str, chart: Path | str, args: tuple[str, ...], release: str) -> str:
    rc, out, err = template(helm, str(chart), release, NAMESPACE, args)
    assert rc != 0, f"helm template {' '.join(args)} should fail but rendered:\n{out[:2000]}"
    return err


def lint_strict(helm: str, chart: Path, *args: str) -> None:
    """`helm lint --strict` at the default Kubernetes version must pass."""
    p = run([helm, "lint", "--strict", "--kube-version", DEFAULT_KUBE, str(chart), "--namespace", NAMESPACE, *args])
    assert p.returncode == 0, p.stdout + p.stderr


def assert_valid_for_kubernetes(docs: list[dict], kube: str, *, allow_empty: bool = False) -> None:
    """Every object validates, strictly, against the Kubernetes `kube` JSON schemas."""
    import kubernetes_validate

    assert docs or allow_empty, "the render is empty"
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, kube, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} invalid for Kubernetes {kube}: "
                        f"{'.'.join(map(str, e.path))}: {e.message}")


def make_parent_chart(root: Path, dependency: Path, values: str, templates: dict[str, str] | None = None) -> Path:
    """A minimal parent chart at `root` with `dependency` vendored as a subchart of the same name, enabled by
    `<name>.enabled` (the way charts/airflow uses charts/postgres and charts/volumes)."""
    name = dependency.name
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v2", "name": "parent", "version": "0.1.0",
        "dependencies": [{"name": name, "version": ">=0.1.0-0", "repository": f"file://../{name}-src",
                          "condition": f"{name}.enabled"}],
    }))
    (root / "values.yaml").write_text(values)
    for file, text in (templates or {}).items():
        (root / "templates" / file).write_text(text)
    shutil.copytree(dependency, root / "charts" / name)
    return root
