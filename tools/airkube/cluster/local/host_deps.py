"""Debian packages the local cluster needs on the host, installed with apt when missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HostDep:
    package: str
    probe: str  # a command on PATH or an absolute path that proves the package is there
    why: str


DEPS: tuple[HostDep, ...] = (
    HostDep("containerd", "containerd", "container runtime (CRI), 1.6.x from Debian"),
    HostDep("runc", "runc", "OCI runtime used by containerd"),
    HostDep("containernetworking-plugins", "/usr/lib/cni/bridge", "CNI bridge, host-local, loopback, portmap"),
    HostDep("iptables", "iptables", "kube-proxy (iptables mode) and guard rules"),
    HostDep("conntrack", "conntrack", "kube-proxy flushes stale UDP conntrack entries"),
    HostDep("ipset", "ipset", "the NetworkPolicy enforcer (kube-router) matches pod sets with ipset"),
    HostDep("iproute2", "ip", "bridge and routes"),
    HostDep("ethtool", "ethtool", "kubelet/CNI NIC checks"),
    HostDep("socat", "socat", "kubectl port-forward through the kubelet"),
    HostDep("util-linux", "nsenter", "mount/umount/nsenter"),
)

SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def present(dep: HostDep) -> bool:
    if dep.probe.startswith("/"):
        return Path(dep.probe).exists()
    return shutil.which(dep.probe, path=f"{SBIN_PATH}:{os.environ.get('PATH', '')}") is not None


def missing(deps: tuple[HostDep, ...] = DEPS) -> list[HostDep]:
    return [dep for dep in deps if not present(dep)]


def ensure(report: Callable[[str], None] = print) -> list[str]:
    """Install missing packages with apt-get (update first). Returns the packages installed."""
    absent = missing()
    if not absent:
        return []
    names = [dep.package for dep in absent]
    if os.geteuid() != 0:
        raise PermissionError(f"missing host packages {', '.join(names)}: run as root or "
                              f"`sudo apt-get install -y {' '.join(names)}`")
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"missing host packages {', '.join(names)} and no apt-get: install them by hand")
    report(f"installing host packages with apt-get: {', '.join(names)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends", *names]):
        result = subprocess.run(argv, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stderr[-2000:]}")
    still = missing()
    if still:
        raise RuntimeError(f"apt-get ran but these are still missing: {', '.join(d.package for d in still)}")
    return names
