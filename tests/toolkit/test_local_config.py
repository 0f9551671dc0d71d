"""Rendered configs of the local provider: containerd, CNI, kubelet, kube-proxy, CoreDNS, argv."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from airkube.cluster.local import Layout, addons, config


@pytest.fixture()
def layout(tmp_path: Path) -> Layout:
    return Layout(state=tmp_path / "state", cache=tmp_path / "cache")


def test_containerd_is_private_and_uses_our_sandbox(layout: Layout) -> None:
    doc = tomllib.loads(config.containerd_toml(layout))
    assert doc["grpc"]["address"] == str(layout.containerd_socket)
    assert doc["root"].startswith(str(layout.state)) and doc["state"].startswith(str(layout.state))
    assert "/run/containerd/containerd.sock" not in config.containerd_toml(layout)
    cri = doc["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == "airkube.local/pause:3.10"
    assert cri["containerd"]["snapshotter"] == "overlayfs"
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["options"]["SystemdCgroup"] is False
    assert cri["cni"] == {"bin_dir": "/usr/lib/cni", "conf_dir": str(layout.cni_conf_dir), "max_conf_num": 1}
    assert cri["netns_mounts_under_state_dir"] is True


def test_cni_bridge_never_masquerades(layout: Layout) -> None:
    conf = config.cni_conflist(layout)
    bridge = conf["plugins"][0]
    assert bridge["type"] == "bridge" and bridge["bridge"] == "airkube0"
    assert bridge["isGateway"] and bridge["hairpinMode"] and bridge["ipMasq"] is False
    ipam = bridge["ipam"]
    assert ipam["type"] == "host-local" and ipam["dataDir"].startswith(str(layout.state))
    assert ipam["ranges"][0][0]["gateway"] == "10.88.0.1"
    assert [p["type"] for p in conf["plugins"]] == ["bridge", "portmap"]


def test_kubelet_config(layout: Layout) -> None:
    kubelet = config.kubelet_config(layout)
    assert kubelet["cgroupDriver"] == "cgroupfs" and kubelet["failCgroupV1"] is False
    assert kubelet["failSwapOn"] is False
    assert kubelet["clusterDNS"] == ["10.96.0.10"] and kubelet["clusterDomain"] == "cluster.local"
    assert kubelet["resolvConf"] == str(layout.resolv_conf)
    assert kubelet["containerRuntimeEndpoint"] == f"unix://{layout.containerd_socket}"
    assert kubelet["authentication"]["webhook"]["enabled"] and kubelet["authentication"]["anonymous"]["enabled"] is False
    assert kubelet["authorization"]["mode"] == "Webhook"
    assert kubelet["address"] == "10.88.0.1"


def test_resolv_conf_has_no_nameserver(layout: Layout) -> None:
    config.write_all(layout)
    assert "nameserver" not in layout.resolv_conf.read_text()


def test_kube_proxy_config(layout: Layout) -> None:
    proxy = config.kube_proxy_config(layout)
    assert proxy["mode"] == "iptables" and proxy["clusterCIDR"] == "10.88.0.0/24"
    assert proxy["nodePortAddresses"] == ["10.88.0.0/24"]


def test_corefile_has_no_upstream(layout: Layout) -> None:
    corefile = config.corefile(layout)
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa" in corefile
    directives = [line.split()[0] for line in corefile.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert "forward" not in directives and "proxy" not in directives
    assert "health" in directives and "ready" in directives


def test_apiserver_argv(layout: Layout) -> None:
    argv = next(c.argv for c in config.components(layout) if c.name == "kube-apiserver")
    flags = dict(a.split("=", 1) for a in argv[2:])
    assert flags["--authorization-mode"] == "Node,RBAC"
    assert flags["--service-cluster-ip-range"] == "10.96.0.0/16"
    assert flags["--bind-address"] == flags["--advertise-address"] == "10.88.0.1"
    assert flags["--service-account-signing-key-file"].endswith("sa.key")
    assert flags["--etcd-servers"] == "http://127.0.0.1:2379"


def test_component_order(layout: Layout) -> None:
    names = [c.name for c in config.components(layout)]
    assert names == ["containerd", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                     "kubelet", "kube-proxy", "provisioner", "kube-router"]


def test_addons(layout: Layout) -> None:
    by_kind = {m["kind"]: m for m in addons.all_manifests(layout)}
    assert by_kind["Service"]["spec"]["clusterIP"] == "10.96.0.10"
    assert by_kind["Service"]["metadata"]["name"] == "kube-dns"
    container = by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "airkube.local/coredns:1.14.7"
    assert container["imagePullPolicy"] in ("IfNotPresent", "Never")
    sc = by_kind["StorageClass"]
    assert sc["provisioner"] == "airkube.local/hostpath" and sc["reclaimPolicy"] == "Delete"
    assert sc["volumeBindingMode"] == "Immediate"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"


def test_boolean_flags_use_equals_form(layout: Layout) -> None:
    argv = next(c.argv for c in config.components(layout) if c.name == "kube-apiserver")
    assert "--allow-privileged=true" in argv and "true" not in argv


def test_no_negative_oom_scores(layout: Layout) -> None:
    """Negative oom_score_adj is forbidden in unprivileged VMs: runc would fail every pod sandbox."""
    doc = tomllib.loads(config.containerd_toml(layout))
    assert doc["plugins"]["io.containerd.grpc.v1.cri"]["restrict_oom_score_adj"] is True
    assert "oom_score" not in doc
    assert config.kubelet_config(layout)["oomScoreAdj"] == 0
    assert config.kube_proxy_config(layout)["oomScoreAdj"] == 0


def test_registry_pulls_stay_on_loopback(layout: Layout) -> None:
    doc = tomllib.loads(config.containerd_toml(layout))
    hosts_dir = Path(doc["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"])
    config.write_all(layout)
    hosts = tomllib.loads((hosts_dir / "_default" / "hosts.toml").read_text())
    assert hosts["server"] == "http://127.0.0.1:1"
    assert list(hosts["host"]) == ["http://127.0.0.1:1"]  # a [host] table is required, or the file is ignored
