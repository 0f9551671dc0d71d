"""`airkube smoke`: thin argument parsing over airkube.smoke.run_smoke."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    app.command("smoke")(smoke)


def smoke(
    dag: Optional[List[str]] = typer.Option(None, "--dag", help="Smoke DAG id to run (repeatable; default: all that apply)"),
    namespace: str = typer.Option("airflow", "-n", "--namespace", help="Namespace of the release"),
    release: str = typer.Option("airflow", "--release", help="Helm release name"),
    kube_context: Optional[str] = typer.Option(None, "--kube-context", help="kubeconfig context"),
    kubeconfig: Optional[str] = typer.Option(None, "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG / ~/.kube/config)"),
    timeout: float = typer.Option(900, "--timeout", help="Seconds for the whole run, parsing included"),
    parse_timeout: float = typer.Option(420, "--parse-timeout", help="Seconds to wait for the dag-processor to parse the DAGs"),
    bash_image: Optional[str] = typer.Option(None, "--bash-image", help="Image of the KPO pod and the anchor pod, needs bash (default: airkube.local/bash:5.2 when the release runs airkube.local/airflow, else docker.io/library/bash:5.2)"),
    delivery: str = typer.Option("auto", "--delivery", help="auto|pvc|git|image|none: how the smoke DAGs reach the release"),
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

    if delivery not in ("auto", "pvc", "git", "image", "none"):
        raise typer.BadParameter("must be one of auto, pvc, git, image, none", param_hint="--delivery")
    opts = SmokeOptions(
        namespace=namespace, release=release, dags=tuple(dag or ()), kube_context=kube_context,
        kubeconfig=kubeconfig, timeout=timeout, parse_timeout=parse_timeout, bash_image=bash_image,
        delivery=delivery,  # type: ignore[arg-type]
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
