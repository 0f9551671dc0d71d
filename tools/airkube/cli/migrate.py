"""`airkube migrate-dag`: thin argument parsing over airkube.migrate."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    app.command("migrate-dag")(migrate_dag)


def migrate_dag(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="1.10-era DAG file (contrib KubernetesPodOperator)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write here (atomically); default: stdout"),
    in_place: bool = typer.Option(False, "--in-place", help="Replace FILE (atomically)"),
    dag_id: Optional[str] = typer.Option(None, "--dag-id", help="dag_id of the DAG added when the file has none"),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when anything needed a change (CI check)"),
) -> None:
    """Rewrite contrib KubernetesPodOperator code for Airflow 3 and report every change and ignored argument."""
    from airkube.migrate import MigrationError, migrate_file

    err = Console(stderr=True)
    if output and in_place:
        raise typer.BadParameter("use either --output or --in-place")
    try:
        result = migrate_file(file, file if in_place else output, dag_id=dag_id)
    except MigrationError as exc:
        err.print(f"[red]error:[/] {file}: {exc}")
        raise typer.Exit(2) from exc
    for finding in result.findings:
        level = "[red]ignored arg[/]" if "IGNORED" in finding.message else "[yellow]changed[/]"
        err.print(f"{level} {file}:{finding.line}: {finding.message}", highlight=False)
    if output is None and not in_place:
        print(result.source, end="")
    else:
        err.print(f"wrote {file if in_place else output} ({len(result.findings)} change(s))")
    raise typer.Exit(1 if strict and result.findings else 0)
