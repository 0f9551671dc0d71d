"""Which cluster provider to use: `auto` = kind with Docker, else local (Linux, root), else the kubeconfig context."""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .base import ClusterError, ClusterProvider

PROVIDERS = ("auto", "kind", "local", "existing")


def docker_answers(timeout: float = 5.0) -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def local_unavailable_reason() -> str | None:
    """None when the Docker-free local provider can run here, else why not."""
    if platform.system() != "Linux":
        return f"the local provider needs Linux, this is {platform.system()}"
    if os.geteuid() != 0:
        return "the local provider needs root (it runs containerd and the kubelet)"
    try:
        importlib.import_module("airkube.cluster.local")
    except ImportError as exc:
        return f"the local provider is not importable ({exc})"
    return None


@dataclass(frozen=True)
class Choice:
    provider: ClusterProvider
    reason: str  # one line explaining why


@dataclass(frozen=True)
class Probes:
    """What the environment offers; injectable for tests."""

    docker: Callable[[], bool] = docker_answers
    local_blocker: Callable[[], str | None] = local_unavailable_reason


def _make(name: str, kube_context: str | None, kubeconfig: Path | None) -> ClusterProvider:
    if name == "kind":
        from .kind import KindProvider

        return KindProvider()
    if name == "local":
        try:
            module = importlib.import_module("airkube.cluster.local")
        except ImportError as exc:
            raise ClusterError(f"the local provider is not available ({exc})") from exc
        return module.LocalProvider()
    if name == "existing":
        from .existing import ExistingProvider

        return ExistingProvider(kube_context, kubeconfig)
    raise ClusterError(f"unknown provider {name!r}: choose one of {', '.join(PROVIDERS)}")


def choose(requested: str | None = None, kube_context: str | None = None, kubeconfig: Path | None = None,
           probes: Probes = Probes()) -> Choice:
    name = requested or "auto"
    if name != "auto":
        return Choice(_make(name, kube_context, kubeconfig), f"provider {name} (requested)")
    if kube_context:
        return Choice(_make("existing", kube_context, kubeconfig), f"existing cluster: --kube-context {kube_context} given")
    if probes.docker():
        return Choice(_make("kind", None, None), "kind: a Docker engine answers `docker info`")
    blocker = probes.local_blocker()
    if blocker is None:
        return Choice(_make("local", None, None), "local: no Docker engine answers, and this is Linux as root")
    return Choice(_make("existing", None, kubeconfig),
                  f"existing kubeconfig context: no Docker engine answers and {blocker}")


def choose_provider(requested: str | None = None) -> ClusterProvider:
    return choose(requested).provider
