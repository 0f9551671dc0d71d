"""`airkube migrate-dag`: thin argument parsing over airkube.migrate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    app.command("migrate-dag")(migrate_dag)


def migrate_dag(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Airflow 1.10 / 2.x DAG file")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here (atomically); default: stdout")] = None,
    in_place: Annotated[bool, typer.Option("--in-place", help="Replace FILE (atomically)")] = False,
    dag_id: Annotated[str | None, typer.Option("--dag-id", help="dag_id of the DAG added when the file has none")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when anything needed a change (CI check)")] = False,
    self_check: Annotated[bool, typer.Option(
        "--self-check/--no-self-check",
        help="Import the result with the installed Airflow (building each pod) and run `ruff --select AIR,F821`; "
             "on failure exit 1 and write nothing")] = True,
) -> None:
    """Rewrite a 1.10 / 2.x DAG for Airflow 3 and the cncf.kubernetes provider, or refuse (exit 2) naming each line
    that cannot be converted faithfully. Nothing is written unless the whole file converts and passes the self-check."""
    from airkube.migrate import MigrationError, migrate_file

    # markup=False everywhere: messages quote code such as `arguments=['echo 10']`, which rich would eat as tags
    err = Console(stderr=True, highlight=False)
    if output and in_place:
        raise typer.BadParameter("use either --output or --in-place")
    try:
        result = migrate_file(file, file if in_place else output, dag_id=dag_id, check=self_check)
    except MigrationError as exc:
        err.print("error: ", style="red", end="", markup=False)
        err.print(str(exc), markup=False, soft_wrap=True)
        err.print("nothing was written.", markup=False)
        raise typer.Exit(exc.exit_code) from exc
    for finding in result.findings:
        level = ("ignored arg", "red") if "IGNORED" in finding.message else ("changed", "yellow")
        err.print(level[0], style=level[1], end=" ", markup=False)
        err.print(f"{file}:{finding.line}: {finding.message}", markup=False, soft_wrap=True)
    for check in result.checks:
        err.print("self-check", style="green", end=" ", markup=False)
        err.print(check, markup=False, soft_wrap=True)
    if output is None and not in_place:
        print(result.source, end="")
    else:
        err.print(f"wrote {file if in_place else output} ({len(result.findings)} change(s))", markup=False)
    raise typer.Exit(1 if strict and result.findings else 0)
