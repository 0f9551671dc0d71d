"""`airkube deploy`: the whole path from no cluster to passing smoke DAGs (used by `make deploy*`)."""

from __future__ import annotations

import os

import typer
from rich.console import Console
from rich.markup import escape

from ..deploy import DeployOptions, deploy
from .options import Context, Namespace, Provider, Release, Sets, Timeout, ValuesFiles


def register(app: typer.Typer) -> None:
    @app.command("deploy")
    def deploy_cmd(
        provider: Provider = "auto",
        files: ValuesFiles = [],  # noqa: B006 - typer reads the default, never mutates it
        sets: Sets = [],  # noqa: B006
        namespace: Namespace = "airflow",
        release: Release = "airflow",
        kube_context: Context = None,
        timeout: Timeout = "15m",
        no_smoke: bool = typer.Option(False, "--no-smoke", help="Stop after the release is ready"),
        no_kubeconfig: bool = typer.Option(False, "--no-kubeconfig", help="local: do not merge context "
                                           "airkube-local into ~/.kube/config (same as AIRKUBE_NO_KUBECONFIG=1)"),
    ) -> None:
        """Cluster (created if missing) → images → install → wait → smoke DAGs; a table of step times at the end."""
        if no_kubeconfig:
            os.environ["AIRKUBE_NO_KUBECONFIG"] = "1"
        console = Console()
        options = DeployOptions(provider, tuple(files), tuple(sets), release, namespace, kube_context, timeout,
                                smoke=not no_smoke)
        report = deploy(console, options)
        if not report.ok:
            failed = next(s for s in report.steps if s.status == "failed")
            Console(stderr=True).print(f"[red bold]deploy failed at step {failed.name}:[/] " + escape(failed.detail),
                                       soft_wrap=True)
            raise typer.Exit(1)
