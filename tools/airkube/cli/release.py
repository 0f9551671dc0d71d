"""`airkube install|upgrade|uninstall|status`: helm via pyhelm3, readiness via the Kubernetes client."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from ..durations import go_duration
from ..helm import Helm, Target
from ..release import InstallRequest, ReleaseError, install
from ..values.inputs import ValuesInput
from .options import Chart, Context, Kubeconfig, Namespace, Release, Sets, Timeout, ValuesFiles


def _target(release: str, namespace: str, context: Optional[str], kubeconfig: Optional[Path],
            timeout: str, chart: Optional[Path]) -> Target:
    return Target(release, namespace, context, kubeconfig, chart, go_duration(timeout))


def install_cmd(
    files: ValuesFiles = [],  # noqa: B006 - typer reads the default, never mutates it
    sets: Sets = [],  # noqa: B006
    namespace: Namespace = "airflow",
    release: Release = "airflow",
    kube_context: Context = None,
    kubeconfig: Kubeconfig = None,
    timeout: Timeout = "10m",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Render client-side and list the objects; "
                                                             "touch nothing")] = False,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Return after helm, without waiting for "
                                                             "readiness")] = False,
    chart: Chart = None,
) -> None:
    """Install or upgrade the release (helm upgrade --install), then wait until every workload is ready."""
    console = Console()
    request = InstallRequest(_target(release, namespace, kube_context, kubeconfig, timeout, chart),
                             ValuesInput(tuple(files), tuple(sets)), dry_run=dry_run, wait=not no_wait)
    rendered = install(console, request)
    if dry_run:
        for manifest in rendered.manifests:
            meta = manifest.get("metadata") or {}
            console.print(f"  {manifest.get('kind')}/{meta.get('name')}", highlight=False)


def uninstall_cmd(namespace: Namespace = "airflow", release: Release = "airflow", kube_context: Context = None,
                  kubeconfig: Kubeconfig = None, timeout: Timeout = "10m", chart: Chart = None) -> None:
    """Uninstall the release (kept Secrets and PVCs stay; delete them by hand to start from scratch)."""
    helm = Helm(_target(release, namespace, kube_context, kubeconfig, timeout, chart))
    asyncio.run(helm.uninstall())
    Console().print(f"release {release} uninstalled from namespace {namespace}")


def status_cmd(namespace: Namespace = "airflow", release: Release = "airflow", kube_context: Context = None,
               kubeconfig: Kubeconfig = None, chart: Chart = None,
               health: Annotated[bool, typer.Option("--health/--no-health", help="Add Airflow's health summary "
                                                   "(REST API, and Prometheus when there is one)")] = True,
               prometheus: Annotated[Optional[str], typer.Option(
                   "--prometheus", help="Prometheus to read too: http(s)://URL or svc/NAME[:PORT] in the release "
                                        "namespace (default: a Service named prometheus there, if any)")] = None) -> None:
    """Helm status of the release, the readiness of its workloads and a health summary (heartbeat ages, import
    errors, failed task instances in the last hour, median queued → running). Exit 1 when not installed or not
    ready."""
    from ..kube import connect
    from ..release import snapshot_table
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
    if health:
        from rich.table import Table

        from ..metrics import collect_health

        summary = collect_health(kubeconfig, kube_context, namespace, release, prometheus)
        table = Table("health", "value", title="Airflow health")
        for name, value in summary.rows():
            table.add_row(name, value)
        console.print(table)
        if summary.prometheus_error:
            console.print(f"[yellow]prometheus: {summary.prometheus_error}[/]")


def register(app: typer.Typer) -> None:
    app.command("install")(install_cmd)
    app.command("upgrade", help="Alias of `install` (helm upgrade --install: the release is created when "
                                "missing).")(install_cmd)
    app.command("uninstall")(uninstall_cmd)
    app.command("status")(status_cmd)
