"""`airkube values new|set|unset|validate`: thin argument parsing over airkube.values."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from ..fsutil import atomic_write
from ..values import Chart, edit_file, validate_files
from ..values.generate import DAGS, LOGS, PROFILES, Options, as_document, generate
from ..values.validate import check_documents

app = typer.Typer(help="Generate, edit and validate values files for charts/airflow.", no_args_is_help=True)

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _chart(chart: Optional[Path]) -> Chart:
    found = Chart(chart) if chart else Chart.find("airflow")
    found.metadata  # noqa: B018 - fail early (ChartNotFound, exit 2) when Chart.yaml is missing
    return found


def _error(console: Console, text: str) -> None:
    console.print("[red]error:[/] " + escape(text), highlight=False, soft_wrap=True)


ChartOption = typer.Option(None, "--chart", help="Chart directory (default: charts/airflow of this checkout)")


@app.command("new")
def new(
    output: Path = typer.Option(..., "-o", "--output", help="File to write (refuses to overwrite without --force)"),
    profile: str = typer.Option("cluster", help=f"Cluster profile: {'|'.join(PROFILES)}"),
    dags: str = typer.Option("pvc", help=f"Where DAGs come from: {'|'.join(DAGS)}"),
    git_repo: Optional[str] = typer.Option(None, help="git URL (with --dags git-sync|git-bundle)"),
    git_branch: Optional[str] = typer.Option(None, help="git branch (with --dags git-sync|git-bundle)"),
    git_subpath: Optional[str] = typer.Option(None, help="directory of the repository holding the DAGs"),
    git_ssh_secret: Optional[str] = typer.Option(None, help="Secret with the SSH private key (ssh URLs)"),
    git_known_hosts: Optional[str] = typer.Option(None, help="known_hosts line(s) of the git server (ssh URLs)"),
    logs: str = typer.Option("pvc", help=f"Where task logs go: {'|'.join(LOGS)}"),
    logs_url: Optional[str] = typer.Option(None, help="s3://bucket/prefix or gs://bucket/prefix"),
    logs_conn_secret: Optional[str] = typer.Option(None, help="Secret with AIRFLOW_CONN_<ID> for remote logs"),
    s3_endpoint: Optional[str] = typer.Option(None, help="S3-compatible endpoint URL (MinIO …)"),
    external_db_secret: Optional[str] = typer.Option(None, help="Secret with a SQLAlchemy URL: use it instead of the bundled PostgreSQL"),
    force: bool = typer.Option(False, "--force", help="Overwrite OUTPUT if it exists"),
    chart: Optional[Path] = ChartOption,
) -> None:
    """Write a commented values file that needs no further edits."""
    err = Console(stderr=True)
    options = Options(profile, dags, logs, git_repo, git_branch, git_subpath, git_ssh_secret,  # type: ignore[arg-type]
                      git_known_hosts, logs_url, logs_conn_secret, s3_endpoint, external_db_secret)
    options.check()  # OptionsError: exit 2
    if output.exists() and not force:
        _error(err, f"{output} exists; pass --force to overwrite it")
        raise typer.Exit(EXIT_USAGE)
    the_chart = _chart(chart)
    command = "airkube values " + shlex.join(sys.argv[sys.argv.index("new"):] if "new" in sys.argv else ["new"])
    generated = generate(options, the_chart, command)
    problems = check_documents(the_chart, [as_document(generated)])
    if problems:
        for p in problems:
            _error(err, f"generated values are invalid (a bug in airkube or the chart): {p.render()}")
        raise typer.Exit(EXIT_INVALID)
    atomic_write(output, generated.text)
    Console().print(f"wrote {output} ({len(generated.settings)} keys differ from the chart defaults)")


@app.command("set")
def set_(
    file: Path = typer.Argument(..., help="Values file to edit in place"),
    assignments: list[str] = typer.Argument(..., help="key.path=value (values parsed as YAML: 2, true, [a,b])"),
    chart: Optional[Path] = ChartOption,
) -> None:
    """Set keys in place; comments and untouched lines stay as they are. Refuses unknown keys and wrong types."""
    _edit(file, chart, assignments=assignments)


@app.command("unset")
def unset(
    file: Path = typer.Argument(..., help="Values file to edit in place"),
    keys: list[str] = typer.Argument(..., help="key.path to remove (back to the chart default)"),
    chart: Optional[Path] = ChartOption,
) -> None:
    """Remove keys (and mappings left empty) in place."""
    _edit(file, chart, unsets=keys)


def _edit(file: Path, chart: Optional[Path], assignments: Sequence[str] = (), unsets: Sequence[str] = ()) -> None:
    err = Console(stderr=True)
    if not file.is_file():
        _error(err, f"{file} does not exist (create one with `airkube values new`)")
        raise typer.Exit(EXIT_USAGE)
    try:
        result = edit_file(file, _chart(chart), assignments, unsets)  # EditError: exit 1
    except OSError as exc:  # the atomic write failed (read-only directory, disk full, ...): nothing was replaced
        _error(err, f"{file}: could not write the edit ({exc.strerror or exc}); the file is unchanged")
        raise typer.Exit(EXIT_INVALID) from exc
    for warning in result.warnings:
        err.print("[yellow]warning:[/] " + escape(warning.render()), highlight=False, soft_wrap=True)
    Console().print(f"{file}: {'updated' if result.changed else 'unchanged'}", highlight=False)


@app.command("validate")
def validate(
    files: list[Path] = typer.Argument(..., help="Values files; each is checked on its own unless --merge"),
    merge: bool = typer.Option(False, "--merge", help="Check the files merged in order, as `helm -f a -f b` sees them"),
    chart: Optional[Path] = ChartOption,
) -> None:
    """Schema and cross-field rules (the chart's `fail` messages). Exit 0 valid, 1 invalid, 2 usage error."""
    err = Console(stderr=True)
    missing = [f for f in files if not f.is_file()]
    if missing:
        _error(err, f"{', '.join(map(str, missing))}: no such file")
        raise typer.Exit(EXIT_USAGE)
    problems = validate_files(_chart(chart), files, merge=merge)
    for problem in problems:
        err.print(problem.render(), markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(EXIT_INVALID)
    Console().print(f"{len(files)} file(s) valid", highlight=False)
