"""`airkube cluster up|down|status|kubeconfig --provider local|kind|existing`."""

from __future__ import annotations

import os
import time
from enum import Enum

import typer
from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.table import Table

from airkube.cluster import kubeconfig as kubeconfig_merge
from airkube.cluster.base import ClusterError, ClusterProvider
from airkube.cluster.local.provider import Reporter
from airkube.progress import Heartbeat

app = typer.Typer(help="Bring a Kubernetes cluster up or down (local: Docker-free, real v1.34).",
                  no_args_is_help=True)
console = Console()


class ProviderName(str, Enum):
    auto = "auto"
    local = "local"
    kind = "kind"
    existing = "existing"


_PROVIDER_OPTION = typer.Option(ProviderName.auto, "--provider", "-p",
                                help="auto (as `airkube deploy`) = kind when a Docker engine answers, else local "
                                     "(Linux, root), else the current kubeconfig context")


class RichReporter(Reporter):
    """Progress of LocalProvider steps: a spinner on a terminal; off a terminal (CI, a log file) a line when a step
    starts and, while it runs quietly, one every AIRKUBE_HEARTBEAT_S (20 s) with the time elapsed."""

    def __init__(self) -> None:
        self._status: Status | None = None
        self._beat: Heartbeat | None = None

    def start(self, step: str) -> None:
        self._stop()
        if console.is_terminal:
            self._status = console.status(f"[bold]{escape(step)}[/] …")
            self._status.start()
        else:
            console.print(f"… {escape(step)}", highlight=False)
            self._beat = Heartbeat(step, self._say).start()

    def done(self, step: str, seconds: float) -> None:
        self._stop()
        console.print(f"[green]✓[/] {escape(step)} [dim]({seconds:.1f}s)[/]", highlight=False)

    def note(self, text: str) -> None:
        if self._beat is not None:
            self._beat.touch()
        self._say(text)

    def _say(self, text: str) -> None:
        console.print(f"  [dim]{escape(text)}[/]", highlight=False)

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        if self._beat is not None:
            self._beat.stop()
            self._beat = None


def get_provider(name: ProviderName) -> ClusterProvider:
    """The provider `airkube deploy --provider NAME` would use (same `auto` rule); local gets the rich reporter."""
    from airkube.cluster.local import LocalProvider
    from airkube.cluster.select import choose

    provider = choose(name.value).provider
    if isinstance(provider, LocalProvider):
        provider.reporter = RichReporter()
    return provider


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/] {exc}")
    raise typer.Exit(1)


@app.command()
def up(provider: ProviderName = _PROVIDER_OPTION,
       no_kubeconfig: bool = typer.Option(False, "--no-kubeconfig",
                                          help="local: do not merge context airkube-local into ~/.kube/config "
                                               "(or $KUBECONFIG's first file); same as AIRKUBE_NO_KUBECONFIG=1"),
       nodes: int = typer.Option(None, "--nodes", min=1,
                                 help="kind: total nodes, 1 control plane + N-1 workers, one zone each "
                                      "(default: scripts/kind-cluster.yaml, 3); same as AIRKUBE_KIND_NODES"),
       image: str = typer.Option(None, "--image",
                                 help="kind: node image; `airkube` builds the offline one here (the default on "
                                      "airkube's private engine), else kind's kindest/node; same as "
                                      "AIRKUBE_KIND_IMAGE")) -> None:
    """Create the cluster (idempotent) and wait until the node is Ready and CoreDNS is available."""
    if no_kubeconfig:
        os.environ["AIRKUBE_NO_KUBECONFIG"] = "1"
    if (nodes or image) and provider is not ProviderName.kind:
        _fail(ClusterError("--nodes and --image apply to --provider kind only"))
    if nodes:
        os.environ["AIRKUBE_KIND_NODES"] = str(nodes)
    if image:
        os.environ["AIRKUBE_KIND_IMAGE"] = image
    cluster = get_provider(provider)
    started = time.monotonic()
    try:
        cluster.create()
    except (RuntimeError, OSError) as exc:  # a failed host command: one line, no traceback
        _fail(exc)
    context = cluster.kube_context()
    console.print(f"[bold green]cluster up[/] in {time.monotonic() - started:.1f}s — "
                  + (f"kubectl context {context}" if context and kubeconfig_merge.wanted() else
                     f"export KUBECONFIG={cluster.kubeconfig()}"))


@app.command()
def down(provider: ProviderName = _PROVIDER_OPTION,
         purge: bool = typer.Option(False, "--purge",
                                    help="also delete the state dir (local: etcd, images, volumes)")) -> None:
    """Stop the cluster and remove what it created (binary caches are kept)."""
    cluster = get_provider(provider)
    try:
        cluster.delete(purge=purge)
    except (RuntimeError, OSError) as exc:  # a failed host command: one line, no traceback
        _fail(exc)
    console.print("[bold]cluster down[/]")


@app.command()
def status(provider: ProviderName = _PROVIDER_OPTION) -> None:
    """One row per component: pid, alive, health endpoint."""
    cluster = get_provider(provider)
    table = Table(title=f"cluster ({provider.value})")
    for column in ("component", "pid", "alive", "healthy", "RSS MiB", "health"):
        table.add_column(column)
    total = 0
    for row in cluster.report():
        total += row.rss_bytes
        table.add_row(row.name, str(row.pid or "-"), _yes(row.alive), _yes(row.healthy),
                      f"{row.rss_bytes / 2**20:.0f}" if row.alive and row.pid else "-", row.health)
    if total:
        table.caption = f"host processes RSS: {total / 2**20:.0f} MiB"
    console.print(table)


@app.command()
def kubeconfig(provider: ProviderName = _PROVIDER_OPTION) -> None:
    """Print the path of the cluster's kubeconfig."""
    path = get_provider(provider).kubeconfig()
    if not path.exists():
        raise ClusterError(f"{path} does not exist yet: run `airkube cluster up --provider {provider.value}`")
    print(path)


def _yes(value: bool) -> str:
    return "[green]yes[/]" if value else "[red]no[/]"
