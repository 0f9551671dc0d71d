"""`airkube images`: build and list the OCI image archives of the local cluster (no Docker needed)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..errors import AirkubeError

app = typer.Typer(help="Build OCI image archives (pause, coredns, bash, airflow, postgres, git-sync) without Docker.",
                  no_args_is_help=True)


@app.command("build")
def build(
    names: Annotated[list[str] | None, typer.Argument(help="images to build (default: all); see `airkube images list`")] = None,
    force: Annotated[bool, typer.Option("--force", help="rebuild even when the inputs are unchanged")] = False,
) -> None:
    """Build images into ${AIRKUBE_CACHE:-~/.cache/airkube}/images/archives (skips unchanged inputs)."""
    from airkube.images import build_images

    console = Console()
    try:
        paths = build_images(names or None, force=force)
    except AirkubeError:
        raise
    except Exception as exc:  # noqa: BLE001 - one readable line instead of a traceback
        console.print(f"[red]image build failed:[/] {exc}")
        raise typer.Exit(1) from exc
    for name, path in paths.items():
        console.print(f"{name}: {path}", soft_wrap=True, highlight=False)


@app.command("list")
def list_images() -> None:
    """Show every image: reference, whether its archive is built for the current inputs, sizes, build time."""
    from airkube.images import status

    rows = status()
    table = Table("name", "ref", "built", "MB", "build s")
    for row in rows:
        size = f"{row['archive_size'] / 1e6:.0f}" if row["built"] and row.get("archive_size") else ""
        secs = f"{row['build_seconds']:.0f}" if row["built"] and row.get("build_seconds") is not None else ""
        table.add_row(row["name"], row["ref"], "yes" if row["built"] else "no", size, secs)
    console = Console()
    console.print(table)
    for row in rows:
        if row["built"]:
            console.print(f"{row['name']}: {row['archive']}", soft_wrap=True)
