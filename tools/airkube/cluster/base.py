"""The small interface every cluster provider implements (kind, local, existing)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from ..errors import ClusterError

__all__ = ["ClusterError", "ClusterProvider", "ComponentReport", "ComponentStatus"]


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    detail: str = ""


@dataclass(frozen=True)
class ComponentReport:
    """One row of `airkube cluster status`: a component, its process (if it has one) and its health."""

    name: str
    pid: int | None
    alive: bool
    healthy: bool
    health: str
    rss_bytes: int = 0


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
    def delete(self, purge: bool = False) -> None:
        """Tear the cluster down, leaving nothing of it behind; ``purge`` also removes its kept state (local:
        etcd data, images, volumes). Providers without kept state ignore it."""

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

    def report(self) -> list[ComponentReport]:
        """`status()` as report rows; providers that run host processes add pid, health and memory."""
        return [ComponentReport(s.name, None, s.running, s.running, s.detail) for s in self.status()]
