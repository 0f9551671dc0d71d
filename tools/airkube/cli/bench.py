"""`airkube bench`: P1..P5 against bare pods on the same cluster."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

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
        deliveries: str = typer.Option(None, help="instead: P1 per DAG-delivery mode, each in a fresh release of its "
                                                  "own (pvc,git-sync,bundle or all); writes "
                                                  "docs/benchmarks-delivery.md"),
        scale: bool = typer.Option(False, "--scale", help="instead: P6, launch throughput of N mapped tasks on kwok "
                                                          "fake nodes in a release of its own (-n, default "
                                                          "bench-scale); writes the P6 section of --docs"),
        scale_n: str = typer.Option("100,500,2000", "--scale-n", help="P6: task counts N, comma-separated"),
        scale_nodes: int = typer.Option(50, "--scale-nodes", help="P6: fake nodes kwok manages"),
        variants: list[str] = typer.Option([], "--variant",
                                           help="P6: settings compared (repeat): a built-in name (chart-defaults, "
                                                "big-cluster, sync-deletes, old-defaults, batch-32, async-32, "
                                                "deletes-once, parallelism-512, idle-0.25) or NAME:key.path=value,… "
                                                "chart values; default: the first four"),
        run_timeout: str = typer.Option("15m", "--run-timeout", help="P6: longest DAG run (trigger → every pod "
                                                                      "processed) before it counts as incomplete"),
    ) -> None:
        """Measure task latency, fan-out, install time, render time and idle memory (--scale: P6 throughput)."""
        if scale:
            _bench_scale(namespace, release, kubeconfig, kube_context, scale_n, scale_nodes, variants, run_timeout,
                         install_values, json_out, docs)
            return
        if deliveries:
            _bench_deliveries(deliveries, p1_runs, kubeconfig, kube_context, install_values, json_out, docs)
            return
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


def _bench_deliveries(modes_text: str, runs: int, kubeconfig: Path | None, kube_context: str | None,
                      values_files: list[Path], json_out: Path | None, docs: Path) -> None:
    """`--deliveries`: P1 of the same trivial task through a PVC, git-sync and a DAG bundle."""
    import dataclasses
    import json
    import os

    from airkube.bench.delivery import DeliveryBenchOptions, figures, markdown, parse_modes, run_delivery_bench
    from airkube.fsutil import atomic_write

    console = Console(stderr=True)
    opts = DeliveryBenchOptions(modes=parse_modes(modes_text), runs=runs,
                                kubeconfig=str(kubeconfig) if kubeconfig else None, kube_context=kube_context)
    if values_files:  # the cluster profile's values (default values/local.yaml)
        opts = dataclasses.replace(opts, values_files=tuple(values_files))
    load = {"start": [round(x, 2) for x in os.getloadavg()]}
    results = run_delivery_bench(opts, lambda msg: console.print(msg, highlight=False, markup=False))
    load["end"] = [round(x, 2) for x in os.getloadavg()]
    figs = {**figures(results), "load_average": load}
    table = Table(title="P1 per DAG-delivery mode (medians)")
    for col in ("mode", "P1", "bare pod", "ratio", "created→started", "started→running"):
        table.add_column(col)
    for mode, f in figs["modes"].items():
        b = f["breakdown_s"]
        table.add_row(mode, f"{f['p1_s']['median']} s", f"{f['bare_s']['median']} s", f"{f['p1_ratio']}×",
                      f"{b.get('pod created→container started')} s", f"{b.get('container started→task running')} s")
    Console().print(table)
    if json_out:
        atomic_write(json_out, (json.dumps(figs, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())
    page = docs.with_name("benchmarks-delivery.md")
    atomic_write(page, markdown(figs, _command_line(), load).encode())
    console.print(f"wrote {page}")


def _bench_scale(namespace: str, release: str, kubeconfig: Path | None, kube_context: str | None, sizes_text: str,
                 nodes: int, variant_texts: list[str], run_timeout: str, values_files: list[Path],
                 json_out: Path | None, docs: Path) -> None:
    """`--scale`: P6 on kwok fake nodes; prints the table, writes JSON, the plots and the P6 section of ``docs``."""
    import dataclasses

    from airkube.bench.scale import ScaleOptions, ScaleResult, run_scale_bench
    from airkube.bench.scale.report import section, table, write_json, write_plots, write_section
    from airkube.bench.scale.values import DEFAULT_VARIANTS, parse_variant
    from airkube.durations import parse_duration
    from airkube.errors import BenchError

    try:
        sizes = tuple(int(x) for x in sizes_text.split(",") if x.strip())
    except ValueError:
        raise BenchError(f"--scale-n {sizes_text!r}: give task counts like 100,500,2000") from None
    if not sizes or min(sizes) < 1:
        raise BenchError(f"--scale-n {sizes_text!r}: give positive task counts like 100,500,2000")
    chosen = tuple(parse_variant(t) for t in variant_texts) or DEFAULT_VARIANTS
    opts = ScaleOptions(namespace="bench-scale" if namespace == "airflow" else namespace, release=release,
                        kubeconfig=str(kubeconfig) if kubeconfig else None, kube_context=kube_context,
                        sizes=sizes, nodes=nodes, variants=chosen, run_timeout=parse_duration(run_timeout, "--run-timeout"))
    if values_files:  # the cluster profile's values (default values/local.yaml)
        opts = dataclasses.replace(opts, profile_values=tuple(values_files))
    def checkpoint(partial: ScaleResult) -> None:  # the figures so far survive a failure later in the bench
        if json_out:
            write_json(partial.figures(), json_out)

    result = run_scale_bench(opts, Console(stderr=True), on_run=checkpoint)
    figs = result.figures()
    Console().print(table(figs))
    if json_out:
        write_json(figs, json_out)
    plots = write_plots(figs, docs.parent)
    write_section(docs, section(figs, _command_line(), plots))
    Console(stderr=True).print(f"wrote the P6 section of {docs} and {', '.join(str(p) for p in plots)}")


def _command_line() -> str:
    """The command as typed (argv), for the "reproduce" line of the report."""
    import shlex
    import sys

    return " ".join(["airkube", *(shlex.quote(a) for a in sys.argv[1:])])
