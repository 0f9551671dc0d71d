"""`airkube bench`: P1..P5 against bare pods on the same cluster."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from .options import Context, Kubeconfig, Namespace, Release


def register(app: typer.Typer) -> None:
    @app.command()
    def bench(
        namespace: Namespace = "airflow",
        release: Release = "airflow",
        kubeconfig: Kubeconfig = None,
        kube_context: Context = None,
        p1_runs: int = typer.Option(5, help="P1 repetitions (median/min/max)"),
        p2_runs: int = typer.Option(3, help="P2 repetitions"),
        fanout: int = typer.Option(50, help="parallel tasks in P2"),
        install_values: list[Path] = typer.Option([], "--install-values", "-f",
                                                  help="values files for the P3 fresh install (none: skip P3)"),
        json_out: Path = typer.Option(None, "--json", help="write the figures as JSON here"),
        docs: Path = typer.Option(Path("docs/benchmarks.md"), help="markdown report (plots beside it)"),
        image: str = typer.Option(None, help="image of the bare pods (default: the release's airflow image)"),
        deliver: bool = typer.Option(True, help="push the bench DAGs into the release's dags PVC first"),
    ) -> None:
        """Measure task latency, fan-out, install time, render time and idle memory."""
        from airkube.bench import BenchOptions, run_bench
        from airkube.bench.report import figures_table, write_json, write_markdown, write_plots

        console = Console(stderr=True)
        opts = BenchOptions(namespace=namespace, release=release, kubeconfig=str(kubeconfig) if kubeconfig else None,
                            kube_context=kube_context,
                            p1_runs=p1_runs, p2_runs=p2_runs, fanout=fanout, install_values=tuple(install_values),
                            image=image, deliver=deliver)
        result = run_bench(opts, console)
        Console().print(figures_table(result))
        if json_out:
            write_json(result, json_out)
        plots = write_plots(result, docs.parent)
        write_markdown(result, docs, _command_line(), plots)


def _command_line() -> str:
    """The command as typed (argv), for the "reproduce" line of the report."""
    import shlex
    import sys

    return " ".join(["airkube", *(shlex.quote(a) for a in sys.argv[1:])])
