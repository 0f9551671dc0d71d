"""`airkube docker up|down|status|node-image`: airkube's private Docker engine for the kind provider."""

from __future__ import annotations

import typer
from rich.console import Console

from airkube.cluster import docker as engine

app = typer.Typer(help="airkube's private Docker engine (Debian docker.io on unix:///run/airkube-docker/docker.sock) "
                       "for `--provider kind` where no Docker answers.", no_args_is_help=True)
console = Console()


@app.command()
def up() -> None:
    """Install docker.io if missing, start the private engine and its network `airkube-kind`."""
    engine.up()
    console.print(f"[bold green]docker engine up[/] — kind uses it automatically; for the docker CLI: "
                  f"export DOCKER_HOST={engine.PRIVATE_HOST}")


@app.command()
def down(purge: bool = typer.Option(False, "--purge", help="also delete /var/lib/airkube/docker (images)")) -> None:
    """Stop the private engine (by PID file) and remove its network and firewall rules."""
    engine.down(purge=purge)
    console.print("[bold]docker engine down[/]")


@app.command()
def status() -> None:
    """Whether the private engine answers."""
    up_now = engine.private_engine_up()
    console.print(f"private engine at {engine.PRIVATE_HOST}: " + ("[green]up[/]" if up_now else "[red]down[/]"))
    raise typer.Exit(0 if up_now else 1)


@app.command("node-image")
def node_image(force: bool = typer.Option(False, "--force", help="rebuild even if the image exists")) -> None:
    """Build (or reuse) the offline kind node image in the engine in use; prints its reference."""
    from airkube.cluster.kind_node_image import build_node_image

    print(build_node_image(force=force))
