"""Issue R6: hardening of everything the charts render.

Render sets: every chart under charts/ with its default values, and charts/airflow with each values/*.yaml file
(collected when the tests are collected). For each set:

* checkov 3.3.30 (`.venv/bin/checkov`, kubernetes framework) finds 0 failed checks. A finding accepted on purpose
  must be skipped IN THE CHART, on the object, with a reason: `checkov.io/skipN: CKV_K8S_xx=<reason>`.
* every pod (workloads, and Pod manifests embedded in ConfigMaps such as the worker pod template) runs as
  non-root, without privilege escalation, with all capabilities dropped and the RuntimeDefault seccomp profile;
* no secret-looking literal: env vars named like PASSWORD/SECRET/KEY/TOKEN/CONN use valueFrom, and ConfigMaps
  carry no credential-looking keys, config lines or URLs with passwords;
* RBAC is namespace-scoped (Role/RoleBinding) unless the values turn on multiNamespaceMode.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
VALUES_DIR = REPO / "values"
KUBE_VERSION = "1.34.0"
NAMESPACE = "airflow"
RELEASE = "af"
POD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}


@dataclass(frozen=True)
class RenderSet:
    id: str
    chart: str
    values_file: Path | None = None


def _render_sets() -> list[RenderSet]:
    sets = [RenderSet(f"{c.name}-defaults", c.name) for c in sorted(CHARTS.iterdir()) if (c / "Chart.yaml").is_file()]
    if (CHARTS / "airflow" / "Chart.yaml").is_file():
        sets += [RenderSet(f"airflow-{f.stem}", "airflow", f) for f in sorted(VALUES_DIR.glob("*.yaml"))]
    return sets


RENDER_SETS = _render_sets()
IDS = [s.id for s in RENDER_SETS]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(REPO / ".venv" / "bin")) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found in .venv/bin or on PATH: run `make setup`")
    return found


def _run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELM_CACHE_HOME": "/tmp/airkube-helm/cache", "HELM_CONFIG_HOME": "/tmp/airkube-helm/config",
           "HELM_DATA_HOME": "/tmp/airkube-helm/data"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, **kw)


class Renderer:
    """Renders each set once per session into a private copy of charts/ (dependencies built there, not in the repo)."""

    def __init__(self, workdir: Path) -> None:
        self.helm = _tool("helm")
        self.workdir = workdir
        self.charts = workdir / "charts"
        shutil.copytree(CHARTS, self.charts, ignore=shutil.ignore_patterns("Chart.lock", "*.tgz", ".git"))
        self._deps: dict[str, str | None] = {}
        self._out: dict[str, tuple[str | None, str]] = {}
        self._checkov: dict[str, dict[str, list[dict]]] = {}

    def _build_deps(self, chart: str) -> str | None:
        if chart not in self._deps:
            meta = yaml.safe_load((self.charts / chart / "Chart.yaml").read_text()) or {}
            err = None
            if meta.get("dependencies"):
                p = _run([self.helm, "dependency", "update", "--skip-refresh", str(self.charts / chart)])
                if p.returncode != 0:
                    err = f"helm dependency update {chart} failed:\n{p.stdout}{p.stderr}"
            self._deps[chart] = err
        return self._deps[chart]

    def render(self, rs: RenderSet) -> str:
        if rs.id not in self._out:
            err = self._build_deps(rs.chart)
            text = None
            if not err:
                args = [self.helm, "template", RELEASE, str(self.charts / rs.chart), "--namespace", NAMESPACE,
                        "--kube-version", KUBE_VERSION]
                if rs.values_file:
                    args += ["-f", str(rs.values_file)]
                p = _run(args)
                if p.returncode == 0:
                    text = p.stdout
                else:
                    err = f"helm template {rs.chart} {rs.values_file or ''} failed:\n{p.stderr}"
            self._out[rs.id] = (text, err or "")
        text, err = self._out[rs.id]
        if text is None:
            pytest.fail(err)
        return text

    def docs(self, rs: RenderSet) -> list[dict]:
        return [d for d in yaml.safe_load_all(self.render(rs)) if isinstance(d, dict)]

    def checkov(self, rs: RenderSet) -> dict[str, Any]:
        """checkov results of one render set (one process per set: graph checks must not mix sets)."""
        if rs.id not in self._checkov:
            folder = self.workdir / "checkov" / rs.id
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "manifests.yaml").write_text(self.render(rs))
            p = _run([_tool("checkov"), "--directory", str(folder), "--framework", "kubernetes", "--output", "json",
                      "--skip-download", "--skip-results-upload", "--compact"])
            if p.returncode not in (0, 1):
                pytest.fail(f"checkov failed to run (rc {p.returncode}):\n{p.stderr[-3000:]}")
            data = json.loads(p.stdout) if p.stdout.strip().startswith(("{", "[")) else {}
            reports = data if isinstance(data, list) else [data]
            results: dict[str, Any] = {"failed": [], "skipped": [], "passed": [], "resources": 0, "parsing_errors": 0}
            for report in reports:
                for key in ("failed", "skipped", "passed"):
                    results[key] += (report.get("results") or {}).get(f"{key}_checks", [])
                summary = report.get("summary") or report  # with nothing to check, checkov prints the summary alone
                results["resources"] += summary.get("resource_count", 0)
                results["parsing_errors"] += summary.get("parsing_errors", 0)
            self._checkov[rs.id] = results
        return self._checkov[rs.id]


@pytest.fixture(scope="session")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    return Renderer(tmp_path_factory.mktemp("hardening"))


def test_render_sets_cover_every_chart() -> None:
    charts = {c.name for c in CHARTS.iterdir() if (c / "Chart.yaml").is_file()}
    assert {"postgres", "volumes"} <= charts
    assert {s.chart for s in RENDER_SETS} == charts


# --- checkov -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rs", RENDER_SETS, ids=IDS)
def test_checkov_finds_nothing(renderer: Renderer, rs: RenderSet) -> None:
    results = renderer.checkov(rs)
    assert results["parsing_errors"] == 0, f"checkov could not parse the manifests of {rs.id}"
    workloads = [d for d in renderer.docs(rs) if d.get("kind") in POD_KINDS]
    assert results["resources"] >= len(workloads), f"checkov saw {results['resources']} objects, {len(workloads)} workloads"
    # graph checks name pods after all their labels: keep kind.namespace.name
    failed = sorted({f"{c['check_id']} {c['resource'].split('.app.kubernetes.io/')[0]}: {c['check_name']}"
                     for c in results["failed"]})
    assert not failed, (
        f"checkov failed checks for {rs.id} (fix them, or skip in the chart with a "
        f"`checkov.io/skipN: CKV_K8S_xx=<reason>` annotation on the object):\n  " + "\n  ".join(failed))


@pytest.mark.parametrize("rs", RENDER_SETS, ids=IDS)
def test_checkov_skips_have_reasons(renderer: Renderer, rs: RenderSet) -> None:
    bare = sorted({f"{c['check_id']} {c['resource']}" for c in renderer.checkov(rs)["skipped"]
                   if len(((c.get("check_result") or {}).get("suppress_comment") or "").strip()) < 15
                   or (c.get("check_result") or {}).get("suppress_comment") == "No comment provided"})
    assert not bare, "checkov skips without a written reason:\n  " + "\n  ".join(bare)


# --- pods ----------------------------------------------------------------------------------------------------------

def _pod_spec(doc: dict) -> dict | None:
    kind, spec = doc.get("kind"), doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    if kind in POD_KINDS:
        return spec.get("template", {}).get("spec")
    return None


def _embedded_docs(doc: dict) -> Iterator[dict]:
    """Kubernetes manifests kept as text in ConfigMaps (e.g. the KubernetesExecutor's pod_template_file)."""
    if doc.get("kind") != "ConfigMap":
        return
    for value in (doc.get("data") or {}).values():
        if isinstance(value, str) and re.search(r"^kind:\s*\S+", value, re.M):
            try:
                for inner in yaml.safe_load_all(value):
                    if isinstance(inner, dict) and "kind" in inner:
                        yield inner
            except yaml.YAMLError:
                continue


def pods(docs: list[dict]) -> Iterator[tuple[str, dict]]:
    for doc in docs:
        for d in (doc, *_embedded_docs(doc)):
            spec = _pod_spec(d)
            if spec:
                where = f"{d['kind']}/{d.get('metadata', {}).get('name', '?')}"
                if d is not doc:
                    where += f" (in ConfigMap/{doc['metadata']['name']})"
                yield where, spec


def containers(spec: dict) -> Iterator[dict]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def pod_problems(where: str, spec: dict) -> list[str]:
    problems = []
    psc = spec.get("securityContext") or {}
    for c in containers(spec):
        csc = c.get("securityContext") or {}
        name = f"{where} container {c.get('name')}"
        if not csc.get("runAsNonRoot", psc.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot is not true")
        if csc.get("runAsUser", psc.get("runAsUser")) == 0:
            problems.append(f"{name}: runAsUser is 0")
        if csc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if csc.get("privileged"):
            problems.append(f"{name}: privileged")
        if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{name}: capabilities.drop lacks ALL")
        seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        if seccomp != "RuntimeDefault":
            problems.append(f"{name}: seccompProfile is {seccomp!r}, not RuntimeDefault")
    return problems


@pytest.mark.parametrize("rs", RENDER_SETS, ids=IDS)
def test_pods_are_restricted(renderer: Renderer, rs: RenderSet) -> None:
    docs = renderer.docs(rs)
    found = list(pods(docs))
    problems = [p for where, spec in found for p in pod_problems(where, spec)]
    assert not problems, f"{rs.id}:\n  " + "\n  ".join(problems)
    for where, spec in found:
        assert spec.get("hostNetwork") is not True and spec.get("hostPID") is not True, where


def test_pod_checker_catches_violations() -> None:
    bad = {"containers": [{"name": "c", "securityContext": {"runAsNonRoot": False}}]}
    problems = pod_problems("Pod/x", bad)
    assert len(problems) == 4, problems
    good = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": False,
                                                             "capabilities": {"drop": ["ALL"]}}}]}
    assert pod_problems("Pod/y", good) == []


# --- secrets in plain text ----------------------------------------------------------------------------------------

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|KEY|TOKEN|CONN", re.I)
# Names that match but carry a reference, a path or a number, never the secret itself.
NOT_A_SECRET = re.compile(
    r"(_FILE|_CMD|_PATH|_DIR|_NAME|_SECRET_NAME|_KEY_ID|_CHECK_MAX_COUNT)$"
    r"|^AIRFLOW__SECRETS__BACKEND$|^AIRFLOW__KUBERNETES_SECRETS__|^AIRFLOW__SECRETS__USE_CACHE$"
    r"|^CONNECTION_CHECK_MAX_COUNT$|^AIRFLOW__CORE__HIDE_SENSITIVE|SENSITIVE_VAR_CONN_NAMES",
    re.I)
CFG_SECRET_LINE = re.compile(
    r"^\s*(?P<key>[a-z_]*(password|secret_key|jwt_secret|fernet_key|sql_alchemy_conn|token|secret))\s*=\s*(?P<value>\S.*)$",
    re.I | re.M)
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I)


VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


CONN_SECRET_FIELDS = ("login", "password", "extra")


def anonymous_connection(name: str, value: str) -> bool:
    """An AIRFLOW_CONN_ env whose JSON has no credential field (e.g. a public git bundle's `{"conn_type":"git"}`)
    holds no secret; one with a login, password or extra still must come from a Secret."""
    if not name.startswith("AIRFLOW_CONN_"):
        return False
    try:
        conn = json.loads(value)
    except ValueError:
        return False
    return isinstance(conn, dict) and not any(conn.get(f) for f in CONN_SECRET_FIELDS)


def env_problems(where: str, spec: dict) -> list[str]:
    """A secret-named env var must use valueFrom, or be composed only from `$(VAR)` references to env vars that
    do (e.g. `postgresql://airflow:$(DB_PASSWORD)@host/db`): then the manifest holds no secret either."""
    problems = []
    for c in containers(spec):
        from_secret: set[str] = set()
        for e in c.get("env") or []:
            name, value = e.get("name", ""), e.get("value")
            if "valueFrom" in e:
                from_secret.add(name)
                continue
            if value in (None, ""):
                continue
            refs = VAR_REF.findall(str(value))
            composed = bool(refs) and all(r in from_secret for r in refs)
            if SECRET_NAME.search(name) and not NOT_A_SECRET.search(name) and not composed \
                    and not anonymous_connection(name, str(value)):
                problems.append(f"{where} container {c.get('name')}: env {name} has a literal value; use valueFrom")
            if URL_WITH_PASSWORD.search(VAR_REF.sub("", str(value))):
                problems.append(f"{where} container {c.get('name')}: env {name} holds a URL with a password")
    return problems


def configmap_problems(doc: dict) -> list[str]:
    problems = []
    where = f"ConfigMap/{doc['metadata']['name']}"
    for key, value in (doc.get("data") or {}).items():
        value = str(value)
        if SECRET_NAME.search(key) and not NOT_A_SECRET.search(key) and value.strip() and "\n" not in value.strip():
            problems.append(f"{where}: key {key} looks like a credential")
        for m in CFG_SECRET_LINE.finditer(value):
            problems.append(f"{where}: {key} sets {m['key']} in plain text")
        if URL_WITH_PASSWORD.search(value):
            problems.append(f"{where}: {key} holds a URL with a password")
    return problems


@pytest.mark.parametrize("rs", RENDER_SETS, ids=IDS)
def test_no_plaintext_secrets(renderer: Renderer, rs: RenderSet) -> None:
    docs = renderer.docs(rs)
    problems = [p for where, spec in pods(docs) for p in env_problems(where, spec)]
    problems += [p for d in docs if d.get("kind") == "ConfigMap" for p in configmap_problems(d)]
    assert not problems, f"{rs.id}:\n  " + "\n  ".join(problems)


def test_secret_checkers_catch_violations() -> None:
    spec = {"containers": [{"name": "c", "env": [
        {"name": "AIRFLOW__API_AUTH__JWT_SECRET", "value": "abc"},
        {"name": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "value": "postgresql://u:p@h/db"},
        {"name": "POSTGRES_PASSWORD_FILE", "value": "/etc/x/password"},
        {"name": "CONNECTION_CHECK_MAX_COUNT", "value": "0"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
    ]}]}
    assert len(env_problems("Pod/x", spec)) == 3  # JWT_SECRET, SQL_ALCHEMY_CONN (name) + its URL
    composed = {"containers": [{"name": "c", "env": [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "value": "postgresql://u:$(DB_PASSWORD)@h/db"},
        {"name": "OTHER_CONN", "value": "postgresql://u:$(UNDEFINED)@h/db"},
    ]}]}
    assert env_problems("Pod/y", composed) == ["Pod/y container c: env OTHER_CONN has a literal value; use valueFrom"]
    cm = {"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {
        "airflow.cfg": "[core]\nfernet_key = abc\n[api]\nsecret_key =\n", "API_TOKEN": "xyz", "ok": "value"}}
    assert len(configmap_problems(cm)) == 2


# --- RBAC ----------------------------------------------------------------------------------------------------------

def _multi_namespace(rs: RenderSet) -> bool:
    if not rs.values_file:
        return False

    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            return any((k == "multiNamespaceMode" and v is True) or walk(v) for k, v in node.items())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False
    return walk(yaml.safe_load(rs.values_file.read_text()))


@pytest.mark.parametrize("rs", RENDER_SETS, ids=IDS)
def test_rbac_is_namespace_scoped(renderer: Renderer, rs: RenderSet) -> None:
    docs = renderer.docs(rs)
    cluster = [f"{d['kind']}/{d['metadata']['name']}" for d in docs if d.get("kind") in ("ClusterRole", "ClusterRoleBinding")]
    if _multi_namespace(rs):
        return
    assert not cluster, f"{rs.id}: cluster-scoped RBAC without multiNamespaceMode: {cluster}"
    for d in docs:
        if d.get("kind") == "RoleBinding":
            assert d["roleRef"]["kind"] == "Role", f"RoleBinding/{d['metadata']['name']} binds a ClusterRole"
        if d.get("kind") == "Role":
            for rule in d.get("rules") or []:
                assert "*" not in (rule.get("verbs") or []) and "*" not in (rule.get("resources") or []), \
                    f"Role/{d['metadata']['name']} uses a wildcard: {rule}"
