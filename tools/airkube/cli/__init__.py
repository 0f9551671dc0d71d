"""`airkube` command line: one typer sub-app per concern, each in its own module."""

from __future__ import annotations

import importlib
import os
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer import _click
from typer.core import TyperGroup

from ..errors import AirkubeError


class _AirkubeGroup(TyperGroup):
    """Catches every `AirkubeError` once: one clean message on stderr, its exit code (traceback: AIRKUBE_DEBUG=1)."""

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AirkubeError as exc:
            if os.environ.get("AIRKUBE_DEBUG") == "1":
                raise
            Console(stderr=True).print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True, highlight=False)
            raise typer.Exit(exc.exit_code) from exc


app = typer.Typer(
    name="airkube",
    cls=_AirkubeGroup,
    help="Run Apache Airflow 3 on Kubernetes with the KubernetesExecutor: values, install, clusters, images, smoke DAGs.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# module -> sub-command group name (None: the module adds top-level commands to `app` itself)
_PARTS: dict[str, str | None] = {
    "values": "values",
    "release": None,  # install / upgrade / uninstall / status
    "cluster": "cluster",
    "docker": "docker",
    "images": "images",
    "dags": "dags",
    "smoke": None,  # smoke
    "deploy": None,  # deploy
    "bench": None,  # bench

    "migrate": None,  # migrate-dag
}


def _register() -> None:
    for module_name, group in _PARTS.items():
        try:
            module = importlib.import_module(f"airkube.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"airkube.cli.{module_name}":
                continue  # part not built yet
            raise
        if group is None:
            module.register(app)
        else:
            app.add_typer(module.app, name=group)


_register()


def main() -> None:
    from ..progress import fit_output

    fit_output()
    app()
