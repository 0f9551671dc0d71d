"""What a smoke run is told: the options, the smoke DAG ids and where their files live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SMOKE_DAGS_DIR = Path(__file__).parent / "dags"
DEFAULT_BASH_IMAGE = "docker.io/library/bash:5.2"
LOCAL_REGISTRY = "airkube.local"
BASE_DAGS = ("smoke_kpo_seed", "smoke_executor", "smoke_logs")
GIT_DAGS = ("smoke_git_sync",)
BUNDLE_DAGS = ("smoke_bundle",)  # dags.bundles: each task pod fetches the git bundle at its run's version
ALL_DAGS = BASE_DAGS + GIT_DAGS + BUNDLE_DAGS
TERMINAL_RUN = {"success", "failed"}
Delivery = Literal["auto", "pvc", "git", "bundle", "image", "none"]


@dataclass(frozen=True)
class SmokeOptions:
    namespace: str = "airflow"
    release: str = "airflow"
    dags: tuple[str, ...] = ()  # empty: all that apply to the delivery mode
    kube_context: str | None = None
    kubeconfig: str | None = None
    timeout: float = 900.0  # whole run, parsing included
    parse_timeout: float = 420.0  # dag-processor refresh_interval defaults to 300 s for new files
    bash_image: str | None = None  # None: airkube.local/bash:5.2 for locally built releases, else Docker Hub's
    delivery: Delivery = "auto"
    dags_claim: str | None = None
    push_image: str | None = None
    git_image: str = "airkube.local/git-sync:v4.4.2"
    api_service: str | None = None
    api_url: str | None = None  # e.g. http://127.0.0.1:8080 when already forwarded; skips port-forward
    auth_secret: str | None = None
    username: str | None = None
    password: str | None = None
    fixtures: bool = True
    storage_class: str | None = None
    poll_interval: float = 3.0
