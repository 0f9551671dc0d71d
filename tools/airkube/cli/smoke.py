"""`airkube smoke`: thin argument parsing over airkube.smoke.run_smoke."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from ..durations import parse_duration
from .options import Context, Kubeconfig, Namespace, Release, timeout_option


class DeliveryChoice(str, Enum):
    auto = "auto"
    pvc = "pvc"
    git = "git"
    bundle = "bundle"
    image = "image"
    none = "none"


def register(app: typer.Typer) -> None:
    app.command("smoke")(smoke)


def smoke(
    dag: Optional[list[str]] = typer.Option(None, "--dag", help="Smoke DAG id to run (repeatable; default: all that apply)"),
    namespace: Namespace = "airflow",
    release: Release = "airflow",
    kube_context: Context = None,
    kubeconfig: Kubeconfig = None,
    timeout: Annotated[str, timeout_option("The whole run, parsing included")] = "15m",
    parse_timeout: Annotated[str, timeout_option("How long the dag-processor may take to parse the DAGs",
                                                 "--parse-timeout")] = "7m",
    bash_image: Optional[str] = typer.Option(None, "--bash-image", help="Image of the KPO pod and the anchor pod, needs bash (default: airkube.local/bash:5.2 when the release runs airkube.local/airflow, else docker.io/library/bash:5.2)"),
    delivery: DeliveryChoice = typer.Option(DeliveryChoice.auto, "--delivery", help="How the smoke DAGs reach the release"),
    dags_claim: Optional[str] = typer.Option(None, "--dags-claim", help="dags PVC (default: detected from the dag-processor)"),
    push_image: Optional[str] = typer.Option(None, "--push-image", help="Image of the dags push pod (default: the release's Airflow image)"),
    git_image: str = typer.Option("airkube.local/git-sync:v4.4.2", "--git-image", help="Image with git for the in-cluster git server"),
    api_service: Optional[str] = typer.Option(None, "--api-service", help="api-server Service (default: found by labels)"),
    api_url: Optional[str] = typer.Option(None, "--api-url", help="Use this api-server URL instead of a port-forward"),
    auth_secret: Optional[str] = typer.Option(None, "--auth-secret", help="Secret with the admin password (default: <fullname>-auth)"),
    username: Optional[str] = typer.Option(None, "--username"),
    password: Optional[str] = typer.Option(None, "--password", envvar="AIRKUBE_AIRFLOW_PASSWORD"),
    no_fixtures: bool = typer.Option(False, "--no-fixtures", help="Do not create the KPO fixtures"),
    storage_class: Optional[str] = typer.Option(None, "--storage-class", help="StorageClass of the test-volume PVC"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the result as JSON"),
) -> None:
    """Run the smoke DAGs against a release and print what each task proved. Exit 1 on any failure."""
    from airkube.smoke import SmokeOptions, run_smoke
    from airkube.smoke.report import render

    opts = SmokeOptions(
        namespace=namespace, release=release, dags=tuple(dag or ()), kube_context=kube_context,
        kubeconfig=str(kubeconfig) if kubeconfig else None, timeout=parse_duration(timeout),
        parse_timeout=parse_duration(parse_timeout, "--parse-timeout"), bash_image=bash_image,
        delivery=delivery.value,
        dags_claim=dags_claim, push_image=push_image, git_image=git_image, api_service=api_service,
        api_url=api_url, auth_secret=auth_secret, username=username, password=password,
        fixtures=not no_fixtures, storage_class=storage_class,
    )
    console = Console()
    result = run_smoke(opts, console=Console(stderr=True))
    render(result, console)
    if json_out:
        json_out.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    raise typer.Exit(0 if result.ok else 1)
