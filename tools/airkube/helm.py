"""Helm through pyhelm3: dependency build, install/upgrade (no --wait: see wait.py), uninstall, status, render.

Values arrive as a plain dict, already merged and checked (`airkube.values.inputs.ValuesInput.checked`).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyhelm3 import Client
from pyhelm3 import errors as helm_errors

from airkube.binaries import venv_tool

from .errors import HelmError
from .values.chart import Chart


def helm_executable() -> str:
    """$AIRKUBE_HELM, else the helm next to this Python (the project venv), else helm on PATH."""
    if env := os.environ.get("AIRKUBE_HELM"):
        return env
    found = venv_tool("helm")
    if not found:
        raise HelmError("helm is not installed: run `make setup` (installs helm v4 into .venv/bin)")
    return found


@dataclass(frozen=True)
class Target:
    """Where a release goes."""

    release: str = "airflow"
    namespace: str = "airflow"
    kube_context: str | None = None
    kubeconfig: Path | None = None
    chart: Path | None = None  # default: charts/airflow of this checkout
    timeout: str = "10m"

    def chart_path(self) -> Path:
        return self.chart or Chart.find("airflow").path


# ---------------------------------------------------------------------------------------------- dependencies


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str
    source: Path  # the file:// chart directory

    @property
    def archive_name(self) -> str:
        return f"{self.name}-{self.version}.tgz"


def local_dependencies(chart_dir: Path) -> list[Dependency]:
    chart = Chart(chart_dir)
    return [
        Dependency(sub.chart.name, str(sub.chart.metadata.get("version", "")), sub.chart.path)
        for sub in chart.subcharts.values()
    ]


def _newest_mtime(directory: Path) -> float:
    return max((p.stat().st_mtime for p in directory.rglob("*") if p.is_file() and p.suffix != ".tgz"), default=0.0)


def stale_dependencies(chart_dir: Path) -> list[Dependency]:
    """Dependencies whose archive in charts/ is missing or older than a file of their source directory."""
    stale = []
    for dep in local_dependencies(chart_dir):
        archive = chart_dir / "charts" / dep.archive_name
        if (not archive.is_file() or archive.stat().st_mtime < _newest_mtime(dep.source)
                or not archive_is_valid(archive)):
            stale.append(dep)
    return stale


@contextmanager
def _dependency_lock() -> Iterator[None]:
    """The lock tests/conftest.py also takes around `helm dependency build` (parallel runs share charts/)."""
    with open(Path(tempfile.gettempdir()) / "airkube-helm-dep.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def dependency_build_argv(chart_dir: Path, helm: str) -> list[str]:
    return [helm, "dependency", "build", str(chart_dir), "--skip-refresh"]


def ensure_dependencies(chart_dir: Path, helm: str | None = None) -> list[Dependency]:
    """Run `helm dependency build` when a file:// dependency archive is missing or stale; returns what was rebuilt."""
    with _dependency_lock():
        stale = stale_dependencies(chart_dir)
        if not stale:
            return []
        for dep in stale:  # helm keeps an archive whose name (version) did not change
            (chart_dir / "charts" / dep.archive_name).unlink(missing_ok=True)
        argv = dependency_build_argv(chart_dir, helm or helm_executable())
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            raise HelmError(f"`{' '.join(argv)}` failed:\n{proc.stderr.strip()}")
        return stale


def archive_is_valid(path: Path) -> bool:
    try:
        with tarfile.open(path) as tar:
            return any(m.name.endswith("/Chart.yaml") for m in tar.getmembers())
    except (OSError, tarfile.TarError):
        return False


# ---------------------------------------------------------------------------------------------- releases


@dataclass
class Rendered:
    """The result of an install/upgrade or a dry run."""

    release: str
    namespace: str
    revision: int | None
    status: str
    manifests: list[dict[str, Any]] = field(default_factory=list)


class Helm:
    """One release target; every method is async like pyhelm3 (`asyncio.run(...)` at the CLI edge)."""

    def __init__(self, target: Target, executable: str | None = None, client: Client | None = None):
        self.target = target
        self.executable = executable or helm_executable()
        self.client = client or Client(
            executable=self.executable,
            kubeconfig=target.kubeconfig,
            kubecontext=target.kube_context,
            default_timeout=target.timeout,
        )

    async def chart(self):
        """The chart of this target, with its file:// dependencies built."""
        chart_dir = self.target.chart_path()
        ensure_dependencies(chart_dir, self.executable)
        return await self.client.get_chart(chart_dir)

    async def render(self, values: dict[str, Any], is_upgrade: bool = False) -> Rendered:
        """Client-side dry run: the manifests `install` would apply; needs no cluster."""
        chart = await self.chart()
        try:
            resources = await self.client.template_resources(
                chart, self.target.release, values, namespace=self.target.namespace, is_upgrade=is_upgrade
            )
            manifests = [r for r in resources if r]
        except helm_errors.Error as exc:
            raise HelmError(_helm_message(exc)) from exc
        return Rendered(self.target.release, self.target.namespace, None, "rendered", manifests)

    async def install(self, values: dict[str, Any], dry_run_server: bool = False) -> Rendered:
        """`helm upgrade --install` without --wait (readiness is wait.py's job)."""
        chart = await self.chart()
        try:
            revision = await self.client.install_or_upgrade_release(
                self.target.release,
                chart,
                values,
                namespace=self.target.namespace,
                create_namespace=True,
                timeout=self.target.timeout,
                dry_run=dry_run_server,
                wait=False,
            )
        except helm_errors.Error as exc:
            raise HelmError(_helm_message(exc)) from exc
        status = getattr(revision.status, "value", str(revision.status))
        return Rendered(self.target.release, self.target.namespace, revision.revision, str(status))

    async def uninstall(self, wait: bool = True) -> None:
        try:
            await self.client.uninstall_release(
                self.target.release, namespace=self.target.namespace, wait=wait, timeout=self.target.timeout
            )
        except helm_errors.Error as exc:
            raise HelmError(_helm_message(exc)) from exc

    async def status(self) -> Rendered | None:
        """The current revision, or None when the release is not installed."""
        try:
            revision = await self.client.get_current_revision(self.target.release, namespace=self.target.namespace)
        except helm_errors.ReleaseNotFoundError:
            return None
        except helm_errors.Error as exc:
            raise HelmError(_helm_message(exc)) from exc
        status = getattr(revision.status, "value", str(revision.status))
        return Rendered(self.target.release, self.target.namespace, revision.revision, str(status))


def _helm_message(exc: helm_errors.Error) -> str:
    text = exc.stderr.decode(errors="replace").strip() if isinstance(exc.stderr, bytes) else str(exc)
    lines = [l for l in text.splitlines() if not l.startswith("level=WARN")]
    text = "\n".join(lines)
    if isinstance(exc, helm_errors.ConnectionError) or "cluster unreachable" in text:
        return f"{text}\nthe Kubernetes API did not answer: check --kube-context / KUBECONFIG, or create a cluster (`airkube deploy`)"
    return text
