"""Manifest scanners: kube-score and Trivy (offline, embedded checks) over the chart's renders.

Trivy runs as trivy-config (scripts/build/trivy-config): Trivy v0.74.0's own Kubernetes scanner and embedded checks
without the CLI, small enough for `make setup`; `make scanners` adds the whole CLI, checked to agree with it.

Render sets: charts/airflow with each values/*.yaml file; every object is scanned from a file of its own, and the
KubernetesExecutor's worker pod template (a Pod kept as text in a ConfigMap) is scanned as a Pod too.
A finding counts when it is HIGH/CRITICAL (Trivy) or CRITICAL (kube-score's top grade). Findings accepted on
purpose live in charts/airflow/scanners.yaml, one sentence of reason each (also in the chart README).

    python -m airkube.scanners            # table of counts and every finding, exit 1 on unjustified ones
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .binaries import venv_tool
from .errors import AirkubeError

KUBE_SCORE_VERSION = "v1.20.0"
TRIVY_VERSION = "v0.74.0"
KUBE_VERSION = "1.34.0"
RELEASE = "af"
NAMESPACE = "airflow"
KUBE_SCORE_CRITICAL = 1  # kube-score grades: 1 CRITICAL, 5 WARNING, 7 ALMOST_OK, 10 ALL_OK
COUNTED_TRIVY = {"HIGH", "CRITICAL"}


class ScannerError(AirkubeError):
    """A scanner is missing or failed to run."""


def repo_root() -> Path:
    for parent in Path(__file__).resolve().parents:
        if (parent / "charts" / "airflow" / "Chart.yaml").is_file():
            return parent
    raise ScannerError("charts/airflow not found: run from a checkout of the repo")


def cache_dir() -> Path:
    return Path(os.environ.get("AIRKUBE_CACHE") or Path.home() / ".cache" / "airkube")


def binary(name: str, build: bool = False) -> Path:
    """<cache>/bin/<name>-<version>, built by scripts/build-go.sh (`make setup`) when `build` is set."""
    version = {"kube-score": KUBE_SCORE_VERSION, "trivy": TRIVY_VERSION, "trivy-config": TRIVY_VERSION}[name]
    path = cache_dir() / "bin" / f"{name}-{version}"
    if not os.access(path, os.X_OK) and build:
        subprocess.run([str(repo_root() / "scripts" / "build-go.sh"), name], check=True)
    if not os.access(path, os.X_OK):
        how = "`make scanners`" if name == "trivy" else "part of `make setup`"
        raise ScannerError(f"{path} is missing: build it with `scripts/build-go.sh {name}` ({how})")
    return path


# --- findings and the allowlist --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    scanner: str  # kube-score | trivy
    check: str  # kube-score check id, or Trivy's ID (KSV-…)
    severity: str  # CRITICAL / HIGH (Trivy), CRITICAL (kube-score)
    obj: str  # Kind/name
    render: str  # values file stem, e.g. "local"
    message: str

    def line(self) -> str:
        return f"{self.scanner} {self.check} [{self.severity}] {self.obj} ({self.render}): {self.message}"


@dataclass(frozen=True)
class Accepted:
    scanner: str
    check: str
    objects: tuple[str, ...]
    renders: tuple[str, ...]
    reason: str

    def matches(self, finding: Finding) -> bool:
        return (finding.scanner == self.scanner and finding.check == self.check
                and any(fnmatch.fnmatchcase(finding.obj, p) for p in self.objects)
                and any(fnmatch.fnmatchcase(finding.render, p) for p in self.renders))


def load_allowlist(path: Path) -> list[Accepted]:
    data = yaml.safe_load(path.read_text()) or {}
    entries = []
    for i, raw in enumerate(data.get("accepted") or []):
        missing = [k for k in ("scanner", "check", "reason") if not raw.get(k)]
        if missing:
            raise ScannerError(f"{path}: accepted[{i}] lacks {', '.join(missing)}")
        reason = " ".join(str(raw["reason"]).split())
        if not reason.endswith(".") or reason.count(". ") > 0:
            raise ScannerError(f"{path}: accepted[{i}] ({raw['check']}) needs a reason of exactly one sentence")
        entries.append(Accepted(raw["scanner"], str(raw["check"]), tuple(raw.get("objects") or ["*"]),
                                tuple(raw.get("renders") or ["*"]), reason))
    return entries


def trivy_triaged(path: Path) -> bool:
    """False until someone has gone through Trivy's findings once (then every one must be fixed or accepted)."""
    return bool((yaml.safe_load(path.read_text()) or {}).get("trivy_triaged", True))


def split(findings: Iterable[Finding], allowlist: list[Accepted]) -> tuple[list[Finding], list[Finding], list[Accepted]]:
    """(justified, unjustified, allowlist entries that matched nothing)."""
    justified, unjustified, used = [], [], set()
    for finding in findings:
        hit = next((i for i, a in enumerate(allowlist) if a.matches(finding)), None)
        if hit is None:
            unjustified.append(finding)
        else:
            justified.append(finding)
            used.add(hit)
    return justified, unjustified, [a for i, a in enumerate(allowlist) if i not in used]


# --- renders -------------------------------------------------------------------------------------------------------

def _helm_env(work: Path) -> dict[str, str]:
    return {**os.environ, "HELM_CACHE_HOME": str(work / "helm-cache"), "HELM_CONFIG_HOME": str(work / "helm-config"),
            "HELM_DATA_HOME": str(work / "helm-data")}


def render_all(work: Path, values_files: list[Path] | None = None) -> dict[str, list[dict[str, Any]]]:
    """render id (values file stem) -> objects, rendered by real helm from a private copy of charts/."""
    root = repo_root()
    helm = venv_tool("helm")
    if helm is None:
        raise ScannerError("helm not found: run `make setup`")
    charts = work / "charts"
    if not charts.exists():
        shutil.copytree(root / "charts", charts, ignore=shutil.ignore_patterns("Chart.lock", "*.tgz", ".git"))
        dep = subprocess.run([helm, "dependency", "update", "--skip-refresh", str(charts / "airflow")],
                             capture_output=True, text=True, env=_helm_env(work))
        if dep.returncode != 0:
            raise ScannerError(f"helm dependency update failed:\n{dep.stderr}")
    renders = {}
    for values in values_files if values_files is not None else sorted((root / "values").glob("*.yaml")):
        result = subprocess.run(
            [helm, "template", RELEASE, str(charts / "airflow"), "-n", NAMESPACE, "--kube-version", KUBE_VERSION,
             "-f", str(values)], capture_output=True, text=True, env=_helm_env(work), timeout=300)
        if result.returncode != 0:
            raise ScannerError(f"helm template -f {values} failed:\n{result.stderr}")
        renders[values.stem] = [d for d in yaml.safe_load_all(result.stdout) if isinstance(d, dict)]
    return renders


def worker_pod_templates(docs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The Pod manifests kept as text in ConfigMaps (the executor's pod_template_file), named for the report."""
    for doc in docs:
        if doc.get("kind") != "ConfigMap":
            continue
        for value in (doc.get("data") or {}).values():
            if not (isinstance(value, str) and re.search(r"^kind:\s*Pod\s*$", value, re.MULTILINE)):
                continue
            pod = yaml.safe_load(value)
            meta = pod.setdefault("metadata", {}) or {}
            pod["metadata"] = {**meta, "name": "worker-pod-template", "namespace": meta.get("namespace") or NAMESPACE}
            yield pod


def write_objects(docs: list[dict[str, Any]], folder: Path) -> dict[str, str]:
    """One file per object (so every finding names its object); returns file name -> Kind/name."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for i, doc in enumerate([*docs, *worker_pod_templates(docs)]):
        kind, name = doc.get("kind", "Unknown"), (doc.get("metadata") or {}).get("name", f"unnamed-{i}")
        file = f"{i:03d}-{kind}-{name}.yaml"
        (folder / file).write_text(yaml.safe_dump(doc, sort_keys=False))
        names[file] = f"{kind}/{name}"
    return names


# --- the scanners ----------------------------------------------------------------------------------------------

def kube_score(folder: Path, names: dict[str, str], render: str) -> list[Finding]:
    files = [str(folder / f) for f in sorted(names)]
    # kube-score/ignore annotations are not honoured: every accepted finding goes through scanners.yaml
    result = subprocess.run([str(binary("kube-score")), "score", "--output-format", "json",
                             "--disable-ignore-checks-annotations",
                             "--kubernetes-version", f"v{KUBE_VERSION.rsplit('.', 1)[0]}", *files],
                            capture_output=True, text=True, timeout=300)
    if result.returncode not in (0, 1) or not result.stdout.strip().startswith("["):
        raise ScannerError(f"kube-score failed (rc {result.returncode}):\n{result.stderr[-2000:]}")
    findings = []
    for obj in json.loads(result.stdout):
        kind = (obj.get("type_meta") or {}).get("kind", "?")
        name = (obj.get("object_meta") or {}).get("name", obj.get("object_name", "?"))
        for check in obj.get("checks") or []:
            if check.get("skipped") or check.get("grade") != KUBE_SCORE_CRITICAL:
                continue
            comments = "; ".join(f"{c.get('path', '')} {c.get('summary', '')}".strip()
                                 for c in check.get("comments") or [])
            findings.append(Finding("kube-score", check["check"]["id"], "CRITICAL", f"{kind}/{name}", render,
                                    comments or check["check"].get("name", "")))
    return findings


def _trivy_report(root: Path, work: Path, cli: bool) -> dict[str, Any]:
    """Trivy's JSON report over <root>: from trivy-config (default) or, with `cli`, from the whole `trivy` CLI."""
    if cli:  # offline: embedded checks only, no update/version/telemetry calls (nothing may leave this machine)
        argv = [str(binary("trivy")), "config", "--skip-check-update", "--skip-version-check", "--disable-telemetry",
                "--quiet", "--format", "json", "--cache-dir", str(work / "trivy-cache"),
                "--severity", ",".join(sorted(COUNTED_TRIVY)), str(root)]
    else:  # the same scanner and embedded checks, linked without the CLI (offline by construction)
        argv = [str(binary("trivy-config")), str(root)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    if result.returncode != 0 or not result.stdout.strip().startswith("{"):
        raise ScannerError(f"{Path(argv[0]).name} failed (rc {result.returncode}):\n{result.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def trivy(root: Path, names: dict[str, dict[str, str]], work: Path, cli: bool = False) -> list[Finding]:
    """One Trivy run over <root>/<render>/<file> (its embedded checks load once); names: render -> files."""
    findings = []
    for res in _trivy_report(root, work, cli).get("Results") or []:
        target = Path(res.get("Target", "?"))
        render = target.parent.name
        obj = names.get(render, {}).get(target.name, str(target))
        for m in res.get("Misconfigurations") or []:
            if m.get("Status", "FAIL") == "FAIL" and m.get("Severity") in COUNTED_TRIVY:
                findings.append(Finding("trivy", m.get("ID", "?"), m["Severity"], obj, render,
                                        m.get("Message") or m.get("Title", "")))
    return findings


SCANNERS = ("kube-score", "trivy")
BINARY = {"kube-score": "kube-score", "trivy": "trivy-config"}  # scanner -> the cached binary that runs it


def scan_docs(renders: dict[str, list[dict[str, Any]]], work: Path,
              tools: tuple[str, ...] = SCANNERS) -> list[Finding]:
    root = work / "objects"
    findings: list[Finding] = []
    names = {}
    for render, docs in renders.items():
        names[render] = write_objects(docs, root / render)
        if "kube-score" in tools:
            findings += kube_score(root / render, names[render], render)
    return findings + (trivy(root, names, work) if "trivy" in tools else [])


def scan(work: Path, values_files: list[Path] | None = None, tools: tuple[str, ...] = SCANNERS) -> list[Finding]:
    return scan_docs(render_all(work, values_files), work, tools)


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    allowlist = load_allowlist(repo_root() / "charts" / "airflow" / "scanners.yaml")
    with tempfile.TemporaryDirectory(prefix="airkube-scan-") as tmp:
        findings = scan(Path(tmp))
    justified, unjustified, stale = split(findings, allowlist)
    table = Table("scanner", "findings (HIGH/CRITICAL)", "justified", "unjustified")
    for scanner in ("kube-score", "trivy"):
        table.add_row(scanner, str(sum(f.scanner == scanner for f in findings)),
                      str(sum(f.scanner == scanner for f in justified)),
                      str(sum(f.scanner == scanner for f in unjustified)))
    console.print(table)
    distinct = sorted({(f.scanner, f.check, f.obj) for f in findings})
    console.print(f"{len(distinct)} distinct (scanner, check, object) over {len({f.render for f in findings})} renders")
    for finding in unjustified:
        console.print(f"[red]unjustified[/red] {finding.line()}", markup=True, highlight=False)
    for entry in stale:
        console.print(f"[yellow]stale allowlist entry[/yellow] {entry.scanner} {entry.check} {entry.objects}")
    return 1 if unjustified or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
