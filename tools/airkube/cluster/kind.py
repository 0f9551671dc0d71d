"""The `kind` provider: a one-node kind cluster from scripts/kind-cluster.yaml, driven through the kind CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ruamel.yaml import YAML

from ..values.chart import repo_root
from ..values.yamlio import dump
from .base import ClusterError, ClusterProvider
from .existing import api_answers

Runner = Callable[[list[str]], subprocess.CompletedProcess]


def run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True)


def kind_executable() -> str | None:
    beside = Path(sys.executable).parent / "kind"
    return str(beside) if beside.exists() else shutil.which("kind")


@dataclass(frozen=True)
class KindSettings:
    name: str = "airkube"
    config: Path | None = None  # default: <repo>/scripts/kind-cluster.yaml
    state_dir: Path | None = None  # default: <repo>/.state/kind (rendered config, kubeconfig, host dirs)
    kind: str | None = None  # kind binary; default: .venv/bin/kind or PATH
    wait: str = "120s"

    def resolved(self) -> "KindSettings":
        root = repo_root() if self.config is None or self.state_dir is None else None
        return KindSettings(
            name=self.name,
            config=self.config or root / "scripts" / "kind-cluster.yaml",  # type: ignore[operator]
            state_dir=self.state_dir or root / ".state" / "kind",  # type: ignore[operator]
            kind=self.kind or kind_executable(),
            wait=self.wait,
        )


def render_config(static: Path, base: Path) -> tuple[str, list[Path]]:
    """The static config with every relative extraMounts hostPath made absolute (relative to `base`).
    Returns the YAML text and the host directories to create."""
    yaml = YAML(typ="rt")
    data: Any = yaml.load(static.read_text(encoding="utf-8"))
    host_dirs: list[Path] = []
    for node in data.get("nodes") or []:
        for mount in node.get("extraMounts") or []:
            host = Path(str(mount["hostPath"]))
            if not host.is_absolute():
                host = (base / host).resolve()
                mount["hostPath"] = str(host)
            host_dirs.append(host)
    return dump(data), host_dirs


class KindProvider(ClusterProvider):
    name = "kind"

    def __init__(self, settings: KindSettings | None = None, runner: Runner = run):
        self.settings = (settings or KindSettings()).resolved()
        self._run = runner

    # -- paths and command plans (pure; unit-tested) ------------------------------------------------
    @property
    def _state(self) -> Path:
        return self.settings.state_dir  # type: ignore[return-value]

    def rendered_config_path(self) -> Path:
        return self._state / "kind-cluster.yaml"

    def kubeconfig(self) -> Path:
        return self._state / "kubeconfig"

    def kube_context(self) -> str | None:
        return f"kind-{self.settings.name}"

    def _kind(self) -> str:
        if not self.settings.kind:
            raise ClusterError("kind is not installed: it needs a Docker engine; start Docker, then run `make setup`")
        return self.settings.kind

    def create_argv(self) -> list[str]:
        return [self._kind(), "create", "cluster", "--name", self.settings.name,
                "--config", str(self.rendered_config_path()), "--kubeconfig", str(self.kubeconfig()),
                "--wait", self.settings.wait]

    def delete_argv(self) -> list[str]:
        return [self._kind(), "delete", "cluster", "--name", self.settings.name, "--kubeconfig", str(self.kubeconfig())]

    def list_argv(self) -> list[str]:
        return [self._kind(), "get", "clusters"]

    def export_kubeconfig_argv(self) -> list[str]:
        return [self._kind(), "export", "kubeconfig", "--name", self.settings.name, "--kubeconfig", str(self.kubeconfig())]

    def load_archive_argv(self, archive: Path) -> list[str]:
        return [self._kind(), "load", "image-archive", str(archive), "--name", self.settings.name]

    def load_docker_image_argv(self, image: str) -> list[str]:
        return [self._kind(), "load", "docker-image", image, "--name", self.settings.name]

    # -- actions ------------------------------------------------------------------------------------
    def _check(self, argv: list[str], what: str) -> subprocess.CompletedProcess:
        proc = self._run(argv)
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout or "").strip()
            raise ClusterError(f"{what} failed (`{' '.join(argv)}`):\n{detail}")
        return proc

    def cluster_listed(self) -> bool:
        proc = self._run(self.list_argv())
        return proc.returncode == 0 and self.settings.name in (proc.stdout or "").split()

    def exists(self) -> bool:
        if not self.settings.kind or not self.cluster_listed():
            return False
        if not self.kubeconfig().is_file():
            self._check(self.export_kubeconfig_argv(), "writing the kind kubeconfig")
        return api_answers(self.kubeconfig(), self.kube_context())

    def write_config(self) -> Path:
        text, host_dirs = render_config(self.settings.config, repo_root())  # type: ignore[arg-type]
        for directory in host_dirs:
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o777)  # task pods write logs as uid 50000
        self._state.mkdir(parents=True, exist_ok=True)
        self.rendered_config_path().write_text(text, encoding="utf-8")
        return self.rendered_config_path()

    def create(self) -> None:
        if self.exists():
            return
        if self.cluster_listed():
            raise ClusterError(
                f"kind cluster {self.settings.name} exists but its API does not answer: "
                f"`airkube cluster down --provider kind` and try again"
            )
        self.write_config()
        self._check(self.create_argv(), f"creating kind cluster {self.settings.name}")

    def delete(self) -> None:
        if self.settings.kind and self.cluster_listed():
            self._check(self.delete_argv(), f"deleting kind cluster {self.settings.name}")
        self.kubeconfig().unlink(missing_ok=True)

    def load_images(self, archives: list[Path]) -> None:
        for archive in archives:
            if not archive.is_file():
                raise ClusterError(f"image archive {archive} does not exist: build it first (`airkube images build`)")
            self._check(self.load_archive_argv(archive), f"loading {archive.name} into kind")

    def load_docker_images(self, images: list[str]) -> None:
        for image in images:
            self._check(self.load_docker_image_argv(image), f"loading {image} into kind")
