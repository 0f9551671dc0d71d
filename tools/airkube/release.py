"""Install/upgrade a release and wait for it, with a rich progress display: shared by `airkube install` and deploy."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from .durations import parse_duration
from .errors import ReleaseError
from .helm import Helm, HelmError, Rendered, Target
from .kube import connect
from .progress import Throttle
from .values.chart import Chart
from .values.inputs import ValuesInput
from .wait import Snapshot, WaitResult, wait_for_release


def snapshot_table(snapshot: Snapshot) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("workload")
    table.add_column("ready", justify="right")
    table.add_column("state")
    for w in snapshot.workloads:
        state = "[green]done[/]" if w.done else (f"[red]{escape(w.failed)}[/]" if w.failed else "[yellow]waiting[/]")
        table.add_row(w.label, f"{w.ready}/{w.desired}", state)
    if not snapshot.workloads:
        table.add_row("(no workloads yet)", "", "")
    return table


def print_failure(console: Console, result: WaitResult) -> None:
    console.print(f"[red bold]not ready:[/] {escape(result.reason)}", soft_wrap=True)
    for d in result.diagnoses:
        console.rule(f"pod {d.pod} ({d.phase})")
        console.print("[bold]events[/]")
        for line in d.events or ["(none)"]:
            console.print("  " + line, markup=False, highlight=False, soft_wrap=True)
        for container, lines in d.logs.items():
            console.print(f"[bold]last {len(lines)} log lines of {container}[/]")
            for line in lines or ["(empty)"]:
                console.print("  " + line, markup=False, highlight=False, soft_wrap=True)


def progress_line(snapshot: Snapshot) -> str:
    """``3/6 workloads ready; waiting: Deployment/airflow-scheduler, …`` (for logs: no live table there)."""
    ws = snapshot.workloads
    waiting = [w.label for w in ws if not w.done]
    text = f"{sum(w.done for w in ws)}/{len(ws)} workloads ready" if ws else "no workloads yet"
    return text + (f"; waiting: {', '.join(waiting)}" if waiting else "")


def wait_with_progress(console: Console, target: Target, timeout: float) -> WaitResult:
    cluster = connect(target.kubeconfig, target.kube_context)
    if not console.is_terminal:  # rich Live draws nothing off a terminal until it stops: plain lines instead
        throttle = Throttle()

        def say(snapshot: Snapshot) -> None:
            text = progress_line(snapshot)
            if throttle.due(text):
                console.print(f"… release {target.release}: {escape(text)} ({throttle.elapsed()})",
                              highlight=False, soft_wrap=True)

        result = wait_for_release(cluster, target.namespace, target.release, timeout, on_update=say)
        console.print(snapshot_table(result.snapshot))
        return result
    with Live(snapshot_table(Snapshot([], [])), console=console, refresh_per_second=4, transient=False) as live:
        result = wait_for_release(cluster, target.namespace, target.release, timeout,
                                  on_update=lambda s: live.update(Group(snapshot_table(s))))
    return result


@dataclass(frozen=True)
class InstallRequest:
    target: Target
    values: ValuesInput
    dry_run: bool = False
    wait: bool = True


def install(console: Console, request: InstallRequest) -> Rendered:
    """helm upgrade --install (or a client-side render with dry_run), then wait; raises ReleaseError."""
    target = request.target
    try:
        values = request.values.checked(Chart(target.chart_path()))
        helm = Helm(target)
        if request.dry_run:
            rendered = asyncio.run(helm.render(values))
            console.print(f"dry run: {len(rendered.manifests)} objects rendered for release {target.release} "
                          f"in namespace {target.namespace} (nothing applied)")
            return rendered
        with console.status(f"helm upgrade --install {target.release} ({target.chart_path()})"):
            rendered = asyncio.run(helm.install(values))
    except HelmError as exc:
        raise ReleaseError(f"helm failed:\n{exc}") from exc
    console.print(f"release {rendered.release} revision {rendered.revision}: {rendered.status} "
                  f"in namespace {rendered.namespace}")
    if request.wait:
        result = wait_with_progress(console, target, parse_duration(target.timeout))
        if not result.ok:
            print_failure(console, result)
            raise ReleaseError(f"release {target.release} did not become ready: {result.reason}")
        console.print(f"[green]ready[/] in {result.seconds:.0f}s: "
                      f"{len(result.snapshot.workloads)} workloads of release {target.release}")
    return rendered


def values_files_for(provider_name: str, root: Path) -> list[Path]:
    """The ready-made values file of a provider profile (values/kind.yaml, values/local.yaml), if there is one."""
    candidate = root / "values" / f"{provider_name}.yaml"
    return [candidate] if provider_name in ("kind", "local") and candidate.is_file() else []
