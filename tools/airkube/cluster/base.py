"""The small interface every cluster provider implements (kind, local, existing)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from ..errors import ClusterError


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    detail: str = ""


class ClusterProvider(ABC):
    """Create, inspect and delete one cluster, and load locally built images into it."""

    name: str = "abstract"

    @abstractmethod
    def exists(self) -> bool:
        """True when the cluster is up and its API answers."""

    @abstractmethod
    def create(self) -> None:
        """Bring the cluster up (idempotent: an existing healthy cluster is left as it is)."""

    @abstractmethod
    def delete(self) -> None:
        """Tear the cluster down, leaving nothing of it behind."""

    @abstractmethod
    def kubeconfig(self) -> Path:
        """Path of a kubeconfig file whose current context is this cluster."""

    def kube_context(self) -> str | None:
        """Context name inside kubeconfig(); None means the file's current context."""
        return None

    @abstractmethod
    def load_images(self, archives: list[Path]) -> None:
        """Make OCI/docker image archives available to the cluster's container runtime."""

    def status(self) -> list[ComponentStatus]:
        """One line per component; providers with nothing to report return the API's state."""
        return [ComponentStatus("api", self.exists())]
