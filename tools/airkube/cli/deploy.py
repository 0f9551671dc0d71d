"""`airkube deploy`: the whole path from no cluster to passing smoke DAGs (used by `make deploy*`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from ..cluster.select import PROVIDERS
from ..deploy import DeployOptions, deploy


def register(app: typer.Typer) -> None:
    @app.command("deploy")
    def deploy_cmd(
        provider: str = typer.Option("auto", "--provider", help=f"{'|'.join(PROVIDERS)}: auto = kind with Docker, "
                                     "else local (Linux, root), else the current kubeconfig context"),
        files: List[Path] = typer.Option([], "-f", "--values", help="Extra values files (after values/<provider>.yaml)"),
        sets: List[str] = typer.Option([], "--set", help="key.path=value (repeatable)"),
        namespace: str = typer.Option("airflow", "--namespace", "-n"),
        release: str = typer.Option("airflow", "--release"),
        kube_context: Optional[str] = typer.Option(None, "--kube-context", help="With --provider existing/auto"),
        timeout: str = typer.Option("15m", "--timeout", help="Readiness timeout (600, 90s, 15m)"),
        no_smoke: bool = typer.Option(False, "--no-smoke", help="Stop after the release is ready"),
        no_kubeconfig: bool = typer.Option(False, "--no-kubeconfig", help="local: do not merge context "
                                           "airkube-local into ~/.kube/config (same as AIRKUBE_NO_KUBECONFIG=1)"),
    ) -> None:
        """Cluster (created if missing) → images → install → wait → smoke DAGs; a table of step times at the end."""
        if no_kubeconfig:
            os.environ["AIRKUBE_NO_KUBECONFIG"] = "1"
        if provider not in PROVIDERS:
            Console(stderr=True).print(f"[red]error:[/] --provider must be one of {', '.join(PROVIDERS)}")
            raise typer.Exit(2)
        console = Console()
        options = DeployOptions(provider, tuple(files), tuple(sets), release, namespace, kube_context, timeout,
                                smoke=not no_smoke)
        report = deploy(console, options)
        if not report.ok:
            failed = next(s for s in report.steps if s.status == "failed")
            Console(stderr=True).print(f"[red bold]deploy failed at step {failed.name}:[/] " + escape(failed.detail),
                                       soft_wrap=True)
            raise typer.Exit(1)
