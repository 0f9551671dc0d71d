"""The `existing` provider: whatever cluster the kubeconfig (or --kube-context) points at. Never created or deleted."""

from __future__ import annotations

import os
from pathlib import Path

from kubernetes import config as k8s_config

from ..kube import api_answers
from .base import ClusterError, ClusterProvider


def default_kubeconfig() -> Path:
    env = os.environ.get("KUBECONFIG", "")
    first = env.split(os.pathsep)[0] if env else ""
    return Path(first) if first else Path.home() / ".kube" / "config"


def current_context(kubeconfig: Path | None = None) -> str | None:
    try:
        _, active = k8s_config.list_kube_config_contexts(config_file=str(kubeconfig or default_kubeconfig()))
    except (k8s_config.ConfigException, OSError, TypeError):
        return None
    return active.get("name") if active else None


class ExistingProvider(ClusterProvider):
    name = "existing"

    def __init__(self, kube_context: str | None = None, kubeconfig: Path | None = None):
        self._context = kube_context
        self._kubeconfig = kubeconfig

    def kubeconfig(self) -> Path:
        return self._kubeconfig or default_kubeconfig()

    def kube_context(self) -> str | None:
        return self._context

    def exists(self) -> bool:
        return api_answers(self.kubeconfig(), self._context)

    def describe(self) -> str:
        context = self._context or current_context(self.kubeconfig()) or "(none)"
        return f"context {context} of {self.kubeconfig()}"

    def create(self) -> None:
        if not self.exists():
            raise ClusterError(
                f"no Kubernetes API answers for {self.describe()}: start that cluster, pass --kube-context, "
                "or let airkube create one (--provider kind with Docker, --provider local as root on Linux)"
            )

    def delete(self, purge: bool = False) -> None:
        raise ClusterError("airkube does not delete a cluster it did not create; delete it with the tool that made it")

    def load_images(self, archives: list[Path]) -> None:
        if archives:
            raise ClusterError(
                "an existing cluster cannot load local image archives: push the images to a registry the "
                "cluster pulls from and set image.repository in your values file"
            )
