"""The `kind` provider: a multi-node kind cluster from scripts/kind-cluster.yaml, driven through the kind CLI.

Which engine and node image: with a normal Docker (DOCKER_HOST unset or pointing elsewhere) kind uses its
default kindest/node image unless `--image` is given. With airkube's private engine (`airkube docker up`,
scripts/docker-engine.sh: no registry reachable) the node image is built here, offline
(airkube.cluster.kind_node_image), and kind runs on the engine's network `airkube-kind`.
"""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ..values.chart import repo_root
from ..values.yamlio import dump
from .base import ClusterError, ClusterProvider
from .existing import api_answers

Runner = Callable[[list[str]], subprocess.CompletedProcess]


def run(argv: list[str]) -> subprocess.CompletedProcess:
    from .docker import engine_env

    return subprocess.run(argv, capture_output=True, text=True, env=engine_env())


def kind_executable() -> str | None:
    """The kind binary if one is there (never builds it: `KindProvider` builds it on first use)."""
    from .docker import kind_binary

    found = kind_binary(build=False)
    return str(found) if found else None


BUILD_IMAGE = "airkube"  # --image airkube: build the offline node image here (the default on the private engine)
ZONE_LABEL = "topology.kubernetes.io/zone"


@dataclass(frozen=True)
class KindSettings:
    name: str = "airkube"
    config: Path | None = None  # default: <repo>/scripts/kind-cluster.yaml
    state_dir: Path | None = None  # default: <repo>/.state/kind (rendered config, kubeconfig, host dirs)
    kind: str | None = None  # kind binary; default: .venv/bin/kind, PATH, or the cached Go build
    wait: str = "300s"
    nodes: int | None = None  # total nodes (1 control plane + N-1 workers); default: as in the config
    image: str | None = None  # node image; None: kind's default, or the offline build on the private engine
    mount_base: Path | None = None  # relative extraMounts hostPaths resolve here; default: the checkout
    publish_ports: bool = True  # False drops extraPortMappings (a second cluster beside `make deploy-kind`)

    def resolved(self) -> KindSettings:
        root = repo_root() if self.config is None or self.state_dir is None else None
        return KindSettings(
            name=self.name,
            config=self.config or root / "scripts" / "kind-cluster.yaml",  # type: ignore[operator]
            state_dir=self.state_dir or root / ".state" / "kind",  # type: ignore[operator]
            kind=self.kind or kind_executable(),
            wait=self.wait,
            nodes=self.nodes if self.nodes is not None else _env_int("AIRKUBE_KIND_NODES"),
            image=self.image or os.environ.get("AIRKUBE_KIND_IMAGE") or None,
            mount_base=self.mount_base,
            publish_ports=self.publish_ports,
        )


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ClusterError(f"{name}={raw!r} is not a whole number of nodes") from None


def zone_name(index: int) -> str:
    """airkube-zone-a, -b, ... for node `index` (0 = control plane)."""
    return f"airkube-zone-{chr(ord('a') + index % 26)}"


def render_config(static: Path, base: Path, nodes: int | None = None,
                  publish_ports: bool = True) -> tuple[str, list[Path]]:
    """The static config with every relative extraMounts hostPath made absolute (relative to `base`) and, when
    `nodes` is given, resized: the control plane plus `nodes - 1` copies of the first worker, each in its own
    zone. Returns the YAML text and the host directories to create."""
    yaml = YAML(typ="rt")
    data: Any = yaml.load(static.read_text(encoding="utf-8"))
    entries = list(data.get("nodes") or [])
    if nodes is not None:
        if nodes < 1:
            raise ClusterError(f"--nodes must be at least 1 (got {nodes}): one control plane plus workers")
        planes = [n for n in entries if n.get("role") == "control-plane"]
        workers = [n for n in entries if n.get("role") == "worker"]
        if len(planes) != 1 or (nodes > 1 and not workers):
            raise ClusterError(f"{static}: --nodes needs exactly one control-plane entry and a worker entry "
                               "to copy under `nodes:`")
        resized = [planes[0]]
        for i in range(1, nodes):
            worker = copy.deepcopy(workers[min(i - 1, len(workers) - 1)])
            worker.setdefault("labels", {})[ZONE_LABEL] = zone_name(i)
            resized.append(worker)
        data["nodes"] = resized
    host_dirs: list[Path] = []
    for node in data.get("nodes") or []:
        if not publish_ports:
            node.pop("extraPortMappings", None)
        for mount in node.get("extraMounts") or []:
            host = Path(str(mount["hostPath"]))
            if not host.is_absolute():
                host = (base / host).resolve()
                mount["hostPath"] = str(host)
            if host not in host_dirs:
                host_dirs.append(host)
    return dump(data), host_dirs


class KindProvider(ClusterProvider):
    name = "kind"

    def __init__(self, settings: KindSettings | None = None, runner: Runner = run):
        self.settings = (settings or KindSettings()).resolved()
        self._kind_path: str | None = None
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
        """The kind binary: as configured or found, else built once from the Go module proxy (cached by version)."""
        if not self._kind_path:
            from .docker import kind_binary

            self._kind_path = self.settings.kind or str(kind_binary())
        return self._kind_path

    def create_argv(self, image: str | None = None) -> list[str]:
        return [self._kind(), "create", "cluster", "--name", self.settings.name,
                "--config", str(self.rendered_config_path()), "--kubeconfig", str(self.kubeconfig()),
                *(["--image", image] if image else []), "--wait", self.settings.wait, *(["--retain"] if os.environ.get("AIRKUBE_KIND_RETAIN") == "1" else [])]

    def get_nodes_argv(self) -> list[str]:
        return [self._kind(), "get", "nodes", "--name", self.settings.name]

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
        if not self.settings.kind and not self._kind_path and kind_executable() is None:
            return False  # no kind binary here, so no kind cluster of ours: nothing to build just to look
        proc = self._run(self.list_argv())
        return proc.returncode == 0 and self.settings.name in (proc.stdout or "").split()

    def exists(self) -> bool:
        if not self.cluster_listed():
            return False
        if not self.kubeconfig().is_file():
            self._check(self.export_kubeconfig_argv(), "writing the kind kubeconfig")
        return api_answers(self.kubeconfig(), self.kube_context())

    def write_config(self) -> Path:
        text, host_dirs = render_config(self.settings.config, self.settings.mount_base or repo_root(),  # type: ignore[arg-type]
                                        self.settings.nodes, self.settings.publish_ports)
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
        self._check(self.create_argv(self.node_image()), f"creating kind cluster {self.settings.name}")

    def node_image(self) -> str | None:
        """The --image for `kind create`: as given; built here for `airkube` or on the private engine; else
        None (kind's default kindest/node, pulled by the user's Docker)."""
        from .docker import uses_private_engine

        image = self.settings.image
        if image == BUILD_IMAGE or (image is None and uses_private_engine()):
            from .kind_node_image import build_node_image

            return build_node_image()
        return image

    def offline(self) -> bool:
        """True when this cluster runs the node image built here: no registry, so the chart's images are
        built locally and loaded with `kind load image-archive` (deploy's images step)."""
        from .docker import uses_private_engine

        image = self.settings.image
        return image == BUILD_IMAGE or (image or "").startswith("airkube.local/") or (
            image is None and uses_private_engine())

    def extra_value_files(self) -> list[Path]:
        return [repo_root() / "values" / "kind-offline.yaml"] if self.offline() else []

    def node_names(self) -> list[str]:
        return (self._check(self.get_nodes_argv(), "listing kind nodes").stdout or "").split()

    def delete(self, purge: bool = False) -> None:
        if self.cluster_listed():
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
