"""`airkube dags push|git-server|path`: thin argument parsing over airkube.dags and airkube.smoke.gitserver."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from .options import Context, Kubeconfig, Namespace

app = typer.Typer(help="Deliver DAG files: into the dags PVC, or into an in-cluster git server for git-sync.",
                  no_args_is_help=True)


def _clients(kubeconfig: Optional[Path], context: Optional[str]) -> tuple[Any, Any]:
    from airkube.kube import connect

    clients = connect(kubeconfig, context)
    return clients.core, clients.apps


@app.command("push")
def push(
    src: Path = typer.Argument(..., help="DAG folder (or one file) to copy", exists=True),
    claim: Optional[str] = typer.Option(None, "--claim", help="dags PVC (default: the one PVC named *-dags)"),
    namespace: Namespace = "airflow",
    release: Optional[str] = typer.Option(None, "--release", "-r", help="Release whose claim and Airflow image to use"),
    image: Optional[str] = typer.Option(None, "--image", help="Image of the push pod (default: the release's Airflow image)"),
    sub_path: str = typer.Option("", "--sub-path", help="Sub-directory of the volume mounted as the dags folder"),
    dest: str = typer.Option("", "--dest", help="Directory inside the dags folder to write into"),
    exclude: Optional[list[str]] = typer.Option(None, "--exclude", help="File name to leave out (repeatable)"),
    kube_context: Context = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Copy DAG files into the dags PVC through a short-lived non-root pod (uid 50000)."""
    from airkube.dags import push_dags

    core, _ = _clients(kubeconfig, kube_context)
    result = push_dags(src, namespace=namespace, claim=claim, release=release, image=image,
                       sub_path=sub_path, dest=dest, exclude=exclude or (), core=core)
    Console().print(f"pushed {len(result.files)} file(s) into PVC {result.claim} ({namespace}): {', '.join(result.files)}")


@app.command("git-server")
def git_server(
    src: Optional[Path] = typer.Argument(None, help="DAG folder to commit (default: the smoke DAGs)"),
    namespace: Namespace = "airflow",
    image: str = typer.Option("airkube.local/git-sync:v4.4.2", "--image", help="Image with git, sh, tar, base64"),
    name: str = typer.Option("airkube-git", "--name", help="Deployment/Service name"),
    kube_context: Context = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Start (or reuse) an in-cluster git server, commit DAGs to `main`, print the URL for dags.gitSync.repo."""
    from airkube.smoke.gitserver import ensure_git_server, push_to_git_server
    from airkube.smoke.options import SMOKE_DAGS_DIR

    core, apps = _clients(kubeconfig, kube_context)
    server, pod = ensure_git_server(namespace=namespace, image=image, name=name, core=core, apps=apps)
    sha = push_to_git_server(src or SMOKE_DAGS_DIR, server, pod, core=core)
    Console(stderr=True).print(f"committed {sha} to branch main; set dags.gitSync.repo to:")
    print(server.url)


@app.command("path")
def path() -> None:
    """Print the folder of the smoke DAGs shipped with airkube."""
    from airkube.smoke.options import SMOKE_DAGS_DIR

    print(SMOKE_DAGS_DIR)
