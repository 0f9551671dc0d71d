"""The options every `airkube` command shares, declared once (typer ``Annotated`` types)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..cluster.select import PROVIDERS
from ..durations import parse_duration
from ..errors import ConfigError


def _duration(value: Optional[str]) -> Optional[str]:
    if value is not None:
        try:
            parse_duration(value)
        except ConfigError as exc:  # a usage error (exit 2) naming the option
            raise typer.BadParameter(f"{value!r} is not a duration: write 600, 90s, 10m, 1h or 1h30m") from exc
    return value


def _provider(value: str) -> str:
    if value not in PROVIDERS:
        raise typer.BadParameter(f"must be one of {', '.join(PROVIDERS)}")
    return value


Namespace = Annotated[str, typer.Option("--namespace", "-n", help="Namespace of the release")]
Release = Annotated[str, typer.Option("--release", "-r", help="Helm release name")]
Kubeconfig = Annotated[Optional[Path], typer.Option("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or "
                                                    "~/.kube/config)")]
Context = Annotated[Optional[str], typer.Option("--kube-context", help="kubeconfig context (default: the current one)")]
ValuesFiles = Annotated[list[Path], typer.Option("-f", "--values", help="Values file (repeatable, later files win)")]
Sets = Annotated[list[str], typer.Option("--set", help="key.path=value (repeatable; value parsed as YAML)")]
Chart = Annotated[Optional[Path], typer.Option("--chart", help="Chart directory (default: charts/airflow of this "
                                               "checkout)")]
Provider = Annotated[str, typer.Option("--provider", "-p", callback=_provider,
                                       help=f"{'|'.join(PROVIDERS)}: auto = kind when a Docker engine answers, else "
                                            "local (Linux, root), else the current kubeconfig context")]


def timeout_option(help_text: str, flag: str = "--timeout") -> typer.models.OptionInfo:
    """A duration option ("90s", "10m", "1h"; plain numbers are seconds), checked when parsed."""
    info: typer.models.OptionInfo = typer.Option(flag, callback=_duration, help=f"{help_text} (600, 90s, 10m, 1h)")
    return info


Timeout = Annotated[str, timeout_option("How long to wait for readiness")]
