"""kind provider: the config checked by kind's own v1alpha4 types, the exact command plan, and a real cluster
when a Docker engine answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from airkube.cluster.base import ClusterError
from airkube.cluster.docker import KIND_VERSION
from airkube.cluster.kind import KindProvider, KindSettings, render_config
from airkube.cluster.select import docker_answers

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "scripts" / "kind-cluster.yaml"
CHECKER_SRC = Path(__file__).parent / "kind_config_check"


@pytest.fixture(scope="session")
def kind_checker() -> Path:
    """kind's config types compiled into a strict checker (cached in ~/.cache/airkube/bin)."""
    cache = Path(os.environ.get("AIRKUBE_CACHE", Path.home() / ".cache" / "airkube")) / "bin"
    binary = cache / f"kind-config-check-{KIND_VERSION}"
    if not binary.exists():
        if not shutil.which("go"):
            pytest.skip("go is not installed: cannot build the kind config checker")
        cache.mkdir(parents=True, exist_ok=True)
        build = subprocess.run(["go", "build", "-o", str(binary), "."], cwd=CHECKER_SRC, capture_output=True,
                               text=True, env={**os.environ, "CGO_ENABLED": "0"}, timeout=900)
        assert build.returncode == 0, build.stderr
    return binary


def test_checker_pins_the_kind_we_build() -> None:
    assert f"sigs.k8s.io/kind {KIND_VERSION}" in (CHECKER_SRC / "go.mod").read_text()


def check(checker: Path, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(checker), str(path)], capture_output=True, text=True)


def test_static_config_decodes_strictly_into_kind_types(kind_checker: Path) -> None:
    result = check(kind_checker, STATIC)
    assert result.returncode == 0, result.stderr
    assert "role: control-plane" in result.stdout


def test_rendered_config_decodes_and_is_local_only(kind_checker: Path, tmp_path: Path) -> None:
    text, dirs = render_config(STATIC, tmp_path)
    rendered = tmp_path / "kind.yaml"
    rendered.write_text(text)
    result = check(kind_checker, rendered)
    assert result.returncode == 0, result.stderr
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(text)
    assert [n["role"] for n in data["nodes"]] == ["control-plane", "worker", "worker"]
    zones = [n["labels"]["topology.kubernetes.io/zone"] for n in data["nodes"]]
    assert len(set(zones)) == 3, zones
    for node in data["nodes"]:  # every node mounts the same host dirs: the hostPath volumes are shared
        mounts = {m["containerPath"]: m["hostPath"] for m in node["extraMounts"]}
        assert mounts == {"/airkube/dags": str(tmp_path / ".state/kind/dags"),
                          "/airkube/logs": str(tmp_path / ".state/kind/logs")}
    assert dirs == [tmp_path / ".state/kind/dags", tmp_path / ".state/kind/logs"]
    (plane,) = [n for n in data["nodes"] if "extraPortMappings" in n]
    assert plane["role"] == "control-plane"
    assert all(p["listenAddress"] == "127.0.0.1" for p in plane["extraPortMappings"])


@pytest.mark.parametrize("nodes", [1, 2, 5])
def test_resized_config_decodes_with_one_zone_per_node(kind_checker: Path, tmp_path: Path, nodes: int) -> None:
    text, _ = render_config(STATIC, tmp_path, nodes=nodes, publish_ports=False)
    rendered = tmp_path / "kind.yaml"
    rendered.write_text(text)
    result = check(kind_checker, rendered)
    assert result.returncode == 0, result.stderr
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(text)
    assert [n["role"] for n in data["nodes"]] == ["control-plane"] + ["worker"] * (nodes - 1)
    zones = [n["labels"]["topology.kubernetes.io/zone"] for n in data["nodes"]]
    assert len(set(zones)) == nodes
    assert not any("extraPortMappings" in n for n in data["nodes"])


def test_resize_refuses_zero_nodes(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="--nodes must be at least 1"):
        render_config(STATIC, tmp_path, nodes=0)


def test_checker_rejects_unknown_fields(kind_checker: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n  extraMount: []\n")
    assert check(kind_checker, bad).returncode == 1


def test_generated_values_point_at_the_mounted_dirs() -> None:
    from airkube.values.generate import NODE_DAGS_DIR, NODE_LOGS_DIR

    text = STATIC.read_text()
    assert f"containerPath: {NODE_DAGS_DIR}" in text and f"containerPath: {NODE_LOGS_DIR}" in text


class Recorder:
    def __init__(self, clusters: str = ""):
        self.calls: list[list[str]] = []
        self.clusters = clusters

    def __call__(self, argv: list[str]) -> subprocess.CompletedProcess:
        self.calls.append(argv)
        out = self.clusters if argv[1:3] == ["get", "clusters"] else ""
        return subprocess.CompletedProcess(argv, 0, out, "")


NODE_IMAGE = "kindest/node:v1.34.0"


def _provider(tmp_path: Path, runner: Recorder) -> KindProvider:
    return KindProvider(KindSettings(name="airkube", config=STATIC, state_dir=tmp_path / "state", kind="/bin/kind",
                                     image=NODE_IMAGE), runner)


def test_command_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRKUBE_ROOT", str(tmp_path))
    runner = Recorder(clusters="")
    provider = _provider(tmp_path, runner)
    provider.create()
    state = tmp_path / "state"
    assert runner.calls == [
        ["/bin/kind", "get", "clusters"],
        ["/bin/kind", "get", "clusters"],
        ["/bin/kind", "create", "cluster", "--name", "airkube", "--config", str(state / "kind-cluster.yaml"),
         "--kubeconfig", str(state / "kubeconfig"), "--image", NODE_IMAGE, "--wait", "300s"],
    ]
    assert (state / "kind-cluster.yaml").is_file() and (tmp_path / ".state/kind/dags").is_dir()
    assert provider.kube_context() == "kind-airkube" and provider.kubeconfig() == state / "kubeconfig"

    runner.calls.clear()
    archive = tmp_path / "airflow.tar"
    archive.write_bytes(b"x")
    provider.load_images([archive])
    provider.load_docker_images(["apache/airflow:3.3.2"])
    assert runner.calls == [["/bin/kind", "load", "image-archive", str(archive), "--name", "airkube"],
                            ["/bin/kind", "load", "docker-image", "apache/airflow:3.3.2", "--name", "airkube"]]

    runner.calls.clear()
    runner.clusters = "airkube\n"
    provider.delete()
    assert runner.calls == [["/bin/kind", "get", "clusters"],
                            ["/bin/kind", "delete", "cluster", "--name", "airkube", "--kubeconfig", str(state / "kubeconfig")]]


def test_missing_archive_and_missing_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = _provider(tmp_path, Recorder())
    with pytest.raises(ClusterError, match="does not exist"):
        provider.load_images([tmp_path / "nope.tar"])
    # no kind beside the interpreter, on PATH or in the cache, and no Go to build it
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("AIRKUBE_CACHE", str(tmp_path / "cache"))
    recorder = Recorder()
    no_kind = KindProvider(KindSettings(config=STATIC, state_dir=tmp_path, kind=None), recorder)
    assert not no_kind.exists()  # looking builds nothing and runs nothing
    assert recorder.calls == []
    with pytest.raises(ClusterError, match="Go is missing to build it"):
        no_kind.create_argv()


def test_cached_kind_build_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("AIRKUBE_CACHE", str(tmp_path / "cache"))
    built = tmp_path / "cache" / "bin" / f"kind-{KIND_VERSION}.d" / "kind"
    built.parent.mkdir(parents=True)
    built.write_text("#!/bin/sh\n")
    built.chmod(0o755)
    provider = KindProvider(KindSettings(config=STATIC, state_dir=tmp_path, kind=None), Recorder())
    assert provider.list_argv() == [str(built), "get", "clusters"]


@pytest.mark.skipif(not docker_answers(), reason="no Docker engine answers `docker info` on this machine: "
                                                  "the real kind cluster test needs one")
def test_real_kind_cluster(tmp_path: Path) -> None:  # pragma: no cover - needs Docker
    provider = KindProvider(KindSettings(name="airkube-test", state_dir=tmp_path))
    try:
        provider.create()
        assert provider.exists()
    finally:
        provider.delete()
    assert not provider.exists()
