"""Where everything of the local cluster lives, and the addresses it uses. Pure data, no side effects."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv4Network, ip_address
from pathlib import Path

DEFAULT_STATE = Path("/var/lib/airkube/local")
STATE_ENV = "AIRKUBE_LOCAL_STATE"
CACHE_ENV = "AIRKUBE_CACHE"

KUBE_VERSION = "v1.34.4"
ETCD_VERSION = "v3.6.16"
COREDNS_VERSION = "v1.14.7"
# NetworkPolicy enforcer of our test clusters only (never installed by the chart): see enforcer.py
KUBE_ROUTER_VERSION = "v2.1.0"


@dataclass(frozen=True)
class NetworkPlan:
    """Addresses of the one-node cluster. The node lives on a bridge the project creates, never on eth0."""

    bridge: str = "airkube0"
    node_cidr: IPv4Interface = IPv4Interface("10.88.0.1/24")  # bridge address = node IP, pods share the /24
    service_cidr: IPv4Network = IPv4Network("10.96.0.0/16")
    cluster_domain: str = "cluster.local"
    cni_network: str = "airkube"
    apiserver_port: int = 6443

    @property
    def node_ip(self) -> str:
        return str(self.node_cidr.ip)

    @property
    def pod_cidr(self) -> IPv4Network:
        return self.node_cidr.network

    @property
    def pod_range_start(self) -> str:
        return str(self.pod_cidr.network_address + 10)

    @property
    def pod_range_end(self) -> str:
        return str(self.pod_cidr.broadcast_address - 1)

    @property
    def kubernetes_service_ip(self) -> str:
        return str(self.service_cidr.network_address + 1)

    @property
    def dns_service_ip(self) -> str:
        return str(self.service_cidr.network_address + 10)

    @property
    def apiserver_url(self) -> str:
        return f"https://{self.node_ip}:{self.apiserver_port}"

    def __post_init__(self) -> None:
        if ip_address(self.node_ip).is_loopback:
            raise ValueError("the node IP must be a bridge address, not loopback")


@dataclass(frozen=True)
class Layout:
    """Every path of the cluster under one state directory; binaries are cached outside it."""

    state: Path
    cache: Path
    node_name: str = "airkube-local"
    net: NetworkPlan = field(default_factory=NetworkPlan)

    @classmethod
    def from_env(cls) -> Layout:
        state = Path(os.environ.get(STATE_ENV) or DEFAULT_STATE)
        cache = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "airkube")
        return cls(state=state.resolve(), cache=cache)

    # --- top level -------------------------------------------------------------------------------
    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def kubeconfigs(self) -> Path:
        return self.state / "kubeconfigs"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def config(self) -> Path:
        return self.state / "config"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def volumes(self) -> Path:
        return self.state / "volumes"

    @property
    def etcd_data(self) -> Path:
        return self.state / "etcd"

    # --- containerd ------------------------------------------------------------------------------
    @property
    def containerd_root(self) -> Path:
        return self.state / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.state / "containerd" / "state"

    @property
    def containerd_socket(self) -> Path:
        return self.state / "containerd" / "containerd.sock"

    @property
    def runc_root(self) -> Path:
        return self.state / "containerd" / "runc"

    @property
    def cni_conf_dir(self) -> Path:
        return self.state / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.state / "cni" / "ipam"

    @property
    def cni_bin_dir(self) -> Path:
        return Path("/usr/lib/cni")

    # --- kubelet ---------------------------------------------------------------------------------
    @property
    def kubelet_root(self) -> Path:
        return self.state / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.logs / "pods"

    @property
    def resolv_conf(self) -> Path:
        return self.config / "resolv.conf"

    # --- binaries --------------------------------------------------------------------------------
    @property
    def bin_cache(self) -> Path:
        return self.cache / "bin"

    @property
    def kube_bin(self) -> Path:
        return self.bin_cache / f"kube-{KUBE_VERSION}"

    @property
    def etcd_bin(self) -> Path:
        return self.bin_cache / f"etcd-{ETCD_VERSION}"

    @property
    def coredns_bin(self) -> Path:
        return self.bin_cache / f"coredns-{COREDNS_VERSION}"

    @property
    def kube_router_bin(self) -> Path:
        return self.bin_cache / f"kube-router-{KUBE_ROUTER_VERSION}"

    def pid_file(self, component: str) -> Path:
        return self.run / f"{component}.pid"

    def log_file(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def kubeconfig_for(self, identity: str) -> Path:
        return self.kubeconfigs / f"{identity}.kubeconfig"

    def dirs(self) -> list[Path]:
        """Directories created at bring-up."""
        return [
            self.state, self.pki, self.kubeconfigs, self.config, self.logs, self.run, self.volumes,
            self.etcd_data, self.containerd_root, self.containerd_state, self.runc_root,
            self.cni_conf_dir, self.cni_ipam_dir, self.kubelet_root, self.pod_logs,
        ]
