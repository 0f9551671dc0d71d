"""`airkube install|upgrade|uninstall|status`: helm via pyhelm3, readiness via the Kubernetes client."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from ..helm import Helm, Target
from ..values.inputs import ValuesInput
from ..release import InstallRequest, ReleaseError, install

FILES = typer.Option([], "-f", "--values", help="Values file (repeatable, later files win)")
SETS = typer.Option([], "--set", help="key.path=value (repeatable; value parsed as YAML)")
NAMESPACE = typer.Option("airflow", "--namespace", "-n", help="Namespace of the release")
RELEASE = typer.Option("airflow", "--release", help="Release name")
CONTEXT = typer.Option(None, "--kube-context", help="kubeconfig context (default: the current one)")
KUBECONFIG = typer.Option(None, "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
TIMEOUT = typer.Option("10m", "--timeout", help="How long to wait for readiness (600, 90s, 10m)")
CHART = typer.Option(None, "--chart", help="Chart directory (default: charts/airflow of this checkout)")


def _target(release: str, namespace: str, context: Optional[str], kubeconfig: Optional[Path],
            timeout: str, chart: Optional[Path]) -> Target:
    return Target(release, namespace, context, kubeconfig, chart, timeout)


def _install(files: List[Path], sets: List[str], namespace: str, release: str, context: Optional[str],
             kubeconfig: Optional[Path], timeout: str, dry_run: bool, no_wait: bool, chart: Optional[Path]) -> None:
    console = Console()
    request = InstallRequest(_target(release, namespace, context, kubeconfig, timeout, chart),
                             ValuesInput(tuple(files), tuple(sets)), dry_run=dry_run, wait=not no_wait)
    rendered = install(console, request)
    if dry_run:
        for manifest in rendered.manifests:
            meta = manifest.get("metadata") or {}
            console.print(f"  {manifest.get('kind')}/{meta.get('name')}", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("install")
    def install_cmd(files: List[Path] = FILES, sets: List[str] = SETS, namespace: str = NAMESPACE,
                    release: str = RELEASE, kube_context: Optional[str] = CONTEXT,
                    kubeconfig: Optional[Path] = KUBECONFIG, timeout: str = TIMEOUT,
                    dry_run: bool = typer.Option(False, "--dry-run", help="Render client-side and list the objects; touch nothing"),
                    no_wait: bool = typer.Option(False, "--no-wait", help="Return after helm, without waiting for readiness"),
                    chart: Optional[Path] = CHART) -> None:
        """Install or upgrade the release (helm upgrade --install), then wait until every workload is ready."""
        _install(files, sets, namespace, release, kube_context, kubeconfig, timeout, dry_run, no_wait, chart)

    @app.command("upgrade")
    def upgrade_cmd(files: List[Path] = FILES, sets: List[str] = SETS, namespace: str = NAMESPACE,
                    release: str = RELEASE, kube_context: Optional[str] = CONTEXT,
                    kubeconfig: Optional[Path] = KUBECONFIG, timeout: str = TIMEOUT,
                    dry_run: bool = typer.Option(False, "--dry-run", help="Render client-side; touch nothing"),
                    no_wait: bool = typer.Option(False, "--no-wait", help="Return after helm"),
                    chart: Optional[Path] = CHART) -> None:
        """Same as install (upgrade --install): the release is created when missing."""
        _install(files, sets, namespace, release, kube_context, kubeconfig, timeout, dry_run, no_wait, chart)

    @app.command("uninstall")
    def uninstall_cmd(namespace: str = NAMESPACE, release: str = RELEASE, kube_context: Optional[str] = CONTEXT,
                      kubeconfig: Optional[Path] = KUBECONFIG, timeout: str = TIMEOUT,
                      chart: Optional[Path] = CHART) -> None:
        """Uninstall the release (kept Secrets and PVCs stay; delete them by hand to start from scratch)."""
        helm = Helm(_target(release, namespace, kube_context, kubeconfig, timeout, chart))
        asyncio.run(helm.uninstall())
        Console().print(f"release {release} uninstalled from namespace {namespace}")

    @app.command("status")
    def status_cmd(namespace: str = NAMESPACE, release: str = RELEASE, kube_context: Optional[str] = CONTEXT,
                   kubeconfig: Optional[Path] = KUBECONFIG, chart: Optional[Path] = CHART) -> None:
        """Helm status of the release and the readiness of its workloads. Exit 1 when not installed or not ready."""
        from ..release import snapshot_table
        from ..kube import connect
        from ..wait import take_snapshot

        current = asyncio.run(Helm(_target(release, namespace, kube_context, kubeconfig, "5m", chart)).status())
        if current is None:
            raise ReleaseError(f"release {release} is not installed in namespace {namespace}")
        console = Console()
        console.print(f"release {current.release} revision {current.revision}: {current.status}")
        snapshot = take_snapshot(connect(kubeconfig, kube_context), namespace, release)
        console.print(snapshot_table(snapshot))
        if not snapshot.done:
            raise typer.Exit(1)
