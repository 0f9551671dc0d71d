"""pyhelm3 against the real helm binary (client-side render; no cluster here) and the exact commands we send."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from pyhelm3.command import Command

from airkube.durations import parse_duration as parse_timeout
from airkube.errors import ValuesError
from airkube.helm import Helm, HelmError, Target, ensure_dependencies, helm_executable, stale_dependencies
from airkube.release import InstallRequest, install
from airkube.values.inputs import ValuesInput

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "airflow"


class RecordingCommand(Command):
    """A pyhelm3 Command that records argv and stdin instead of touching a cluster (still uses the real helm
    binary for `version` and `show chart`)."""

    def __init__(self, **kwargs: Any):
        super().__init__(executable=helm_executable(), **kwargs)
        self.calls: list[tuple[list[str], Any]] = []

    async def run(self, command, input=None):  # type: ignore[override]
        if command[0] in ("upgrade", "uninstall", "status"):
            self.calls.append(([str(c) for c in command], json.loads(input) if input else None))
            if command[0] == "upgrade":
                return json.dumps({"name": command[1], "namespace": "airflow", "version": 1,
                                   "info": {"status": "deployed", "first_deployed": "2026-01-01T00:00:00Z",
                                            "last_deployed": "2026-01-01T00:00:00Z", "description": "x"},
                                   "manifest": "", "hooks": [], "config": {}}).encode()
            return b""
        return await super().run(command, input)


def _helm(target: Target) -> tuple[Helm, RecordingCommand]:
    from pyhelm3 import Client

    command = RecordingCommand(kubecontext=target.kube_context, default_timeout=target.timeout)
    return Helm(target, client=Client(command=command, executable=helm_executable())), command


def test_render_uses_real_helm_without_a_cluster() -> None:
    target = Target(release="demo", namespace="data", chart=CHART)
    values = ValuesInput(sets=("scheduler.replicas=2", "images.airflow.tag=3.3.2")).merged()
    rendered = asyncio.run(Helm(target).render(values))
    kinds = {(m["kind"], m["metadata"]["name"]) for m in rendered.manifests}
    assert ("Deployment", "demo-airflow-scheduler") in kinds or ("Deployment", "demo-scheduler") in kinds
    scheduler = next(m for m in rendered.manifests if m["kind"] == "Deployment" and m["metadata"]["name"].endswith("scheduler"))
    assert scheduler["spec"]["replicas"] == 2
    assert scheduler["metadata"]["namespace"] == "data"
    assert any(m["kind"] == "Job" for m in rendered.manifests)  # the migration Job is a plain Job


def test_render_reports_chart_failures() -> None:
    target = Target(chart=CHART)
    with pytest.raises(HelmError, match="dags.gitSync.repo is empty"):
        asyncio.run(Helm(target).render({"dags": {"gitSync": {"enabled": True}}}))


def test_install_command_plan() -> None:
    target = Target(release="airflow", namespace="airflow", kube_context="kind-airkube", chart=CHART, timeout="7m")
    helm, command = _helm(target)
    result = asyncio.run(helm.install({"scheduler": {"replicas": 2}}))
    assert result.revision == 1 and result.status == "deployed"
    (argv, stdin), = command.calls
    assert argv[:3] == ["upgrade", "airflow", str(CHART)]
    for flag in ("--install", "--create-namespace"):
        assert flag in argv
    assert argv[argv.index("--namespace") + 1] == "airflow"
    assert argv[argv.index("--timeout") + 1] == "7m"
    assert "--wait" not in argv and "--wait-for-jobs" not in argv and "--dry-run" not in argv
    assert stdin == {"scheduler": {"replicas": 2}}


def test_uninstall_command_plan() -> None:
    helm, command = _helm(Target(release="r1", namespace="ns1", chart=CHART))
    asyncio.run(helm.uninstall())
    (argv, _), = command.calls
    assert argv[:2] == ["uninstall", "r1"] and argv[argv.index("--namespace") + 1] == "ns1" and "--wait" in argv


def test_values_input_merges_files_then_sets(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("scheduler:\n  replicas: 2\n  enabled: true\nauth:\n  users: [{username: a, role: admin}]\n")
    b.write_text("scheduler:\n  replicas: 3\n")
    merged = ValuesInput((a, b), ("scheduler.enabled=false", "networkPolicies.egressPorts=[443]")).merged()
    assert merged["scheduler"] == {"replicas": 3, "enabled": False}
    assert merged["networkPolicies"]["egressPorts"] == [443]
    with pytest.raises(ValuesError, match="does not exist"):
        ValuesInput((tmp_path / "nope.yaml",)).merged()


def test_dependency_build_when_archive_missing_or_stale(tmp_path: Path) -> None:
    """On a copy of the charts, so parallel renders of the real chart never see a half-written archive."""
    charts = tmp_path / "charts"
    for name in ("airflow", "postgres", "volumes"):
        shutil.copytree(ROOT / "charts" / name, charts / name, ignore=shutil.ignore_patterns("*.tgz", "Chart.lock"))
    chart = charts / "airflow"
    helm = helm_executable()
    assert {d.name for d in stale_dependencies(chart)} == {"postgres", "volumes"}  # missing archives
    assert {d.name for d in ensure_dependencies(chart, helm)} == {"postgres", "volumes"}
    assert stale_dependencies(chart) == []
    archives = sorted((chart / "charts").glob("*.tgz"))
    assert {a.name.rsplit("-", 1)[0] for a in archives} == {"postgres", "volumes"}
    # an archive older than a file of its source directory is rebuilt, the other one is left alone
    (charts / "volumes" / "values.yaml").touch()
    old = time.time() - 3600
    victim = next(a for a in archives if a.name.startswith("volumes-"))
    os.utime(victim, (old, old))
    assert [d.name for d in stale_dependencies(chart)] == ["volumes"]
    assert [d.name for d in ensure_dependencies(chart, helm)] == ["volumes"]
    assert stale_dependencies(chart) == [] and ensure_dependencies(chart, helm) == []


def test_install_dry_run_checks_values_first() -> None:
    from rich.console import Console

    request = InstallRequest(Target(chart=CHART), ValuesInput(sets=("scheduler.replicas=two",)), dry_run=True)
    with pytest.raises(ValuesError, match="scheduler.replicas"):
        install(Console(file=open(os.devnull, "w")), request)
    ok = InstallRequest(Target(chart=CHART), ValuesInput(sets=("scheduler.replicas=2",)), dry_run=True)
    assert install(Console(file=open(os.devnull, "w")), ok).manifests


def test_cli_dry_run_lists_objects() -> None:
    from typer.testing import CliRunner

    from airkube.cli import app

    result = CliRunner().invoke(app, ["install", "--dry-run", "-f", str(ROOT / "values" / "kind.yaml"),
                                      "--set", "scheduler.replicas=2"])
    assert result.exit_code == 0, result.output
    assert "Deployment/" in result.output and "StatefulSet/" in result.output


@pytest.mark.parametrize("text,seconds", [("600", 600), ("90s", 90), ("10m", 600), ("1h", 3600)])
def test_parse_timeout(text: str, seconds: float) -> None:
    assert parse_timeout(text) == seconds
