"""The private Docker engine's pieces that run without it: the runc wrapper that trims capabilities to the
host's bounding set, the engine selection for kind, and the offline node image's recipe key."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from airkube.cluster import docker as engine
from airkube.cluster.kind import KindProvider, KindSettings

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = ROOT / "scripts" / "docker" / "airkube-runc"


def host_caps() -> set[str]:
    names = ("CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE "
             "NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT "
             "SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE "
             "AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ "
             "PERFMON BPF CHECKPOINT_RESTORE").split()
    mask = int(next(line for line in Path("/proc/self/status").read_text().splitlines()
                    if line.startswith("CapBnd:")).split()[1], 16)
    return {f"CAP_{n}" for bit, n in enumerate(names) if mask >> bit & 1}


@pytest.fixture
def fake_runc(tmp_path: Path) -> Path:
    """Stands in for runc: records its argv, so the test sees exactly what the wrapper passes on."""
    script = tmp_path / "runc"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {tmp_path}/argv\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_wrapper_drops_caps_outside_the_bounding_set(tmp_path: Path, fake_runc: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    every = sorted(host_caps() | {"CAP_SYS_RESOURCE", "CAP_BPF"})
    spec = {"ociVersion": "1.0.2", "process": {"capabilities": {k: every for k in
                                                               ("bounding", "effective", "permitted")}}}
    (bundle / "config.json").write_text(json.dumps(spec))
    argv = ["--root", "/x", "create", "--bundle", str(bundle), "--pid-file", "/x/pid", "cid"]
    proc = subprocess.run([str(WRAPPER), *argv], env={**os.environ, "AIRKUBE_REAL_RUNC": str(fake_runc)})
    assert proc.returncode == 0
    assert (tmp_path / "argv").read_text().split("\n")[:-1] == argv  # runc gets the arguments unchanged
    caps = json.loads((bundle / "config.json").read_text())["process"]["capabilities"]
    for names in caps.values():
        assert set(names) == host_caps() & set(every)  # what the host can grant, nothing more
    if "CAP_SYS_RESOURCE" not in host_caps():
        assert all("CAP_SYS_RESOURCE" not in names for names in caps.values())


def test_wrapper_leaves_other_commands_alone(tmp_path: Path, fake_runc: Path) -> None:
    bundle = tmp_path / "b"
    bundle.mkdir()
    original = json.dumps({"process": {"capabilities": {"bounding": ["CAP_NOT_A_CAP"]}}})
    (bundle / "config.json").write_text(original)
    proc = subprocess.run([str(WRAPPER), "state", "cid"], cwd=bundle,
                          env={**os.environ, "AIRKUBE_REAL_RUNC": str(fake_runc)})
    assert proc.returncode == 0 and (bundle / "config.json").read_text() == original


def test_engine_env_names_the_private_socket_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/elsewhere.sock")
    env = engine.engine_env()
    assert env["DOCKER_HOST"] == "unix:///var/run/elsewhere.sock" and "KIND_EXPERIMENTAL_DOCKER_NETWORK" not in env
    monkeypatch.setenv("DOCKER_HOST", engine.PRIVATE_HOST)
    env = engine.engine_env()
    assert env["KIND_EXPERIMENTAL_DOCKER_NETWORK"] == engine.NETWORK


def test_user_docker_keeps_kinds_default_image(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A user's own Docker (DOCKER_HOST elsewhere): no --image, so kind uses its default kindest/node."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/elsewhere.sock")
    provider = KindProvider(KindSettings(state_dir=tmp_path, kind="/bin/kind"))
    assert provider.node_image() is None and not provider.offline() and provider.extra_value_files() == []
    assert "--image" not in provider.create_argv(provider.node_image())
    given = KindProvider(KindSettings(state_dir=tmp_path, kind="/bin/kind", image="kindest/node:v1.34.0"))
    assert given.node_image() == "kindest/node:v1.34.0"


def test_private_engine_means_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", engine.PRIVATE_HOST)
    provider = KindProvider(KindSettings(state_dir=tmp_path, kind="/bin/kind"))
    assert provider.offline()
    assert provider.extra_value_files() == [ROOT / "values" / "kind-offline.yaml"]


def test_node_image_key_follows_its_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    from airkube.cluster import kind_node_image as node

    before = node.node_key()
    assert node.node_image_ref() == f"{node.NODE_REPO}:{node.KUBE_VERSION}-{before}"
    monkeypatch.setattr(node, "NODE_PACKAGES", node.NODE_PACKAGES + ("less",))
    assert node.node_key() != before


def test_wrapper_trims_docker_exec_process_files(tmp_path: Path, fake_runc: Path) -> None:
    """`docker exec` into a privileged node: runc exec --process <file> carries the capabilities too."""
    process = tmp_path / "process.json"
    every = sorted(host_caps() | {"CAP_SYS_RESOURCE"})
    process.write_text(json.dumps({"args": ["sh"], "capabilities": {"bounding": every, "effective": every}}))
    argv = ["--root", "/x", "exec", "--process", str(process), "--detach", "cid"]
    proc = subprocess.run([str(WRAPPER), *argv], env={**os.environ, "AIRKUBE_REAL_RUNC": str(fake_runc)})
    assert proc.returncode == 0
    caps = json.loads(process.read_text())["capabilities"]
    assert all(set(names) == host_caps() & set(every) for names in caps.values())


def test_kind_nodes_enforce_network_policies_like_the_local_cluster(tmp_path: Path) -> None:
    """default-cni.yaml's kube-router DaemonSet: valid objects, our shipped image, the local cluster's firewall-only
    flags (no router, no proxy, no open ports), read-only RBAC."""
    import yaml

    from airkube.cluster import kind_node_image as node
    from airkube.cluster.local.config import ENFORCER, components
    from airkube.cluster.local.layout import Layout
    from conftest import kube_validate

    docs = list(yaml.safe_load_all((ROOT / "scripts/kind-node/files/kind/manifests/default-cni.yaml").read_text()))
    for doc in docs:
        kube_validate(doc, "1.34.0")
    ds = next(d for d in docs if d["kind"] == "DaemonSet" and d["metadata"]["name"] == "airkube-network-policy")
    container = ds["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == node.KUBE_ROUTER_REF and container["imagePullPolicy"] == "Never"
    assert "ipset" in node.TOOLS_PACKAGES and "iptables" in node.TOOLS_PACKAGES
    local = next(c for c in components(Layout(tmp_path / "state", tmp_path / "cache")) if c.name == ENFORCER)
    flags = {a for a in local.argv if a.startswith("--run-") or a.startswith("--enable-")}
    assert flags and flags <= set(container["command"]), flags - set(container["command"])
    for port in ("--health-port=0", "--metrics-port=0"):
        assert port in container["command"]
    role = next(d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "airkube-network-policy")
    assert {v for r in role["rules"] for v in r["verbs"]} == {"get", "list", "watch"}
