"""Real bring-up of the `local` provider: control plane, node, CoreDNS, kube-proxy, SA auth, storage, teardown.

Run as root: `.venv/bin/python -m pytest tests/e2e/test_cluster.py -v -s` (prints timings and memory).
Tests run in file order and share one cluster; the last test tears it down and checks nothing is left (and that
10.88.0.0/24 is then unreachable, not routed off the machine). The module runs only when the suite owns the cluster:
with a local cluster already running (the user's `make deploy`) it skips and says why.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e]

if os.geteuid() != 0:  # pragma: no cover
    pytest.skip("the local provider needs root", allow_module_level=True)

from kubernetes import client  # noqa: E402

from airkube.cluster.local import LocalProvider, network, processes  # noqa: E402
from airkube.cluster.local.mounts import mounts_under  # noqa: E402
from airkube.kube import create_or_update  # noqa: E402

NS = "e2e-cluster"
BASH_IMAGE = "airkube.local/bash:5.2"
RESULTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def provider(e2e_session) -> LocalProvider:  # type: ignore[no-untyped-def]
    """This module purges, restarts and tears down the cluster: it runs only on a cluster the suite owns, i.e.
    when no local cluster was running as the session started (never on the user's `make deploy` cluster)."""
    if e2e_session.found_running is None:
        pytest.skip("AIRKUBE_E2E_KUBECONFIG names an existing cluster: test_cluster.py purges and restarts the local "
                    "cluster, so it runs only when the suite brings up its own")
    if e2e_session.found_running:
        pytest.skip(f"{e2e_session.reason}. test_cluster.py purges and restarts the cluster, so it runs only when "
                    "the suite brings up its own: `airkube cluster down --provider local` first to run it")
    provider = LocalProvider(merge_kubeconfig=False)
    if provider.exists():  # came up during the session, not the suite's: same rule
        pytest.skip("a local cluster came up during the session (not the suite's): test_cluster.py leaves it alone")
    return provider


@pytest.fixture(scope="module")
def core(provider: LocalProvider) -> client.CoreV1Api:
    return client.CoreV1Api(provider.api_client())


def _kubectl_binary() -> Path:
    import sys

    found = shutil.which("kubectl") or shutil.which("kubectl", path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip("kubectl not found (make setup installs it): needed inside the probe pod")
    return Path(found).resolve()


def test_bring_up_cold_then_warm(provider: LocalProvider) -> None:
    """Cold = empty state dir (binaries cached); warm = down then up with state kept; then a no-op `up`."""
    cold_binaries = not provider.layout.kube_bin.exists() or not provider.layout.etcd_bin.exists()
    provider.delete(purge=True)
    started = time.monotonic()
    provider.create()
    RESULTS["up_cold_s" if not cold_binaries else "up_first_build_s"] = time.monotonic() - started
    provider.delete()
    started = time.monotonic()
    provider.create()
    RESULTS["up_warm_s"] = time.monotonic() - started
    started = time.monotonic()
    provider.create()
    RESULTS["up_again_noop_s"] = time.monotonic() - started
    assert provider.exists()
    print(f"\nbring-up: {RESULTS}")


def test_node_ready_and_components_healthy(provider: LocalProvider, core: client.CoreV1Api) -> None:
    node = core.read_node(provider.layout.node_name)
    ready = {c.type: c.status for c in node.status.conditions}
    assert ready["Ready"] == "True"
    assert {a.address for a in node.status.addresses if a.type == "InternalIP"} == {provider.layout.net.node_ip}
    assert node.status.node_info.kubelet_version == "v1.34.4"
    unhealthy = [r for r in provider.report() if not (r.alive and r.healthy)]
    assert not unhealthy, unhealthy


def test_coredns_available(provider: LocalProvider) -> None:
    apps = client.AppsV1Api(provider.api_client())
    deployment = apps.read_namespaced_deployment("coredns", "kube-system")
    assert (deployment.status.available_replicas or 0) >= 1
    svc = client.CoreV1Api(provider.api_client()).read_namespaced_service("kube-dns", "kube-system")
    assert svc.spec.cluster_ip == "10.96.0.10"


def _ensure_bash_image(provider: LocalProvider) -> None:
    try:
        from airkube.images import build_images
    except ModuleNotFoundError:
        pytest.skip("airkube.images not available: cannot build the bash image")
    archives = build_images(["bash"])
    provider.load_images([archives["bash"]])


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def test_pod_dns_service_account_kube_proxy_and_storage(provider: LocalProvider, core: client.CoreV1Api) -> None:
    _ensure_bash_image(provider)
    kubectl = _kubectl_binary()
    create_or_update(lambda: core.create_namespace({"metadata": {"name": NS}}))
    # 1. a PVC on the default class (no storageClassName given) binds through the provisioner
    core.create_namespaced_persistent_volume_claim(NS, {
        "metadata": {"name": "probe-data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}},
    })
    pvc = _wait_for(lambda: (c := core.read_namespaced_persistent_volume_claim("probe-data", NS)).status.phase == "Bound"
                    and c, 60, "PVC probe-data Bound")
    assert pvc.spec.storage_class_name == "airkube-hostpath"
    pv = core.read_persistent_volume(pvc.spec.volume_name)
    host_dir = Path(pv.spec.host_path.path)
    assert host_dir.is_dir() and host_dir.parent == provider.layout.volumes
    # 2. a pod as uid 50000: DNS through CoreDNS, apiserver through the `kubernetes` ClusterIP with its SA token
    script = (
        "set -eu\n"
        "grep nameserver /etc/resolv.conf\n"
        "echo dns=$(getent hosts kubernetes.default.svc.cluster.local | cut -d' ' -f1)\n"
        "echo whoami=$(/opt/kubectl/kubectl auth whoami -o jsonpath='{.status.userInfo.username}')\n"
        "echo version=$(/opt/kubectl/kubectl get --raw /version | tr -d ' \\n')\n"
        "echo written-by-$(id -u) > /data/probe.txt\n"
        "echo write=ok\n"
    )
    core.create_namespaced_pod(NS, {
        "metadata": {"name": "probe"},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsUser": 50000, "runAsGroup": 0},
            "containers": [{
                "name": "probe", "image": BASH_IMAGE, "imagePullPolicy": "Never",
                "command": ["bash", "-c", script],
                "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                 {"name": "kubectl", "mountPath": "/opt/kubectl/kubectl", "readOnly": True}],
            }],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "probe-data"}},
                        {"name": "kubectl", "hostPath": {"path": str(kubectl), "type": "File"}}],
        },
    })
    started = time.monotonic()
    phase = _wait_for(lambda: (p := core.read_namespaced_pod("probe", NS).status.phase) in ("Succeeded", "Failed")
                      and p, 120, "probe pod to finish")
    RESULTS["probe_pod_s"] = time.monotonic() - started
    # _preload_content=False: client 36 returns str(bytes) for logs otherwise
    logs = core.read_namespaced_pod_log("probe", NS, _preload_content=False).data.decode()
    print(f"\nprobe pod ({phase}, {RESULTS['probe_pod_s']:.1f}s):\n{logs}")
    assert phase == "Succeeded", logs
    lines = dict(line.split("=", 1) for line in logs.splitlines() if "=" in line and not line.startswith("nameserver"))
    assert "nameserver 10.96.0.10" in logs
    assert lines["dns"] == "10.96.0.1"
    assert lines["whoami"] == f"system:serviceaccount:{NS}:default"
    assert '"gitVersion":"v1.34.4"' in lines["version"]
    assert lines["write"] == "ok"
    written = host_dir / "probe.txt"
    assert written.read_text().strip() == "written-by-50000" and written.stat().st_uid == 50000
    # 3. deleting the claim deletes PV and directory
    core.delete_namespaced_pod("probe", NS, grace_period_seconds=0)
    _wait_for(lambda: not any(p.metadata.name == "probe" for p in core.list_namespaced_pod(NS).items), 60, "pod gone")
    core.delete_namespaced_persistent_volume_claim("probe-data", NS)
    _wait_for(lambda: not host_dir.exists() and pv.metadata.name not in
              {v.metadata.name for v in core.list_persistent_volume().items}, 60, "PV and directory deleted")
    core.delete_namespace(NS)


def test_network_rule_guards_in_place(provider: LocalProvider, core: client.CoreV1Api) -> None:
    """Pods stay on the bridge (guard chains), CoreDNS has no upstream, nothing is masqueraded outwards."""
    import subprocess

    saved = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    assert "-A FORWARD -j AIRKUBE-FORWARD" in saved and "-A INPUT -j AIRKUBE-INPUT" in saved
    assert "-A AIRKUBE-FORWARD -i airkube0 ! -o airkube0" in saved
    masquerades = [line for line in saved.splitlines() if "MASQUERADE" in line]
    assert all(line.startswith("-A KUBE-POSTROUTING") for line in masquerades), masquerades
    corefile = core.read_namespaced_config_map("coredns", "kube-system").data["Corefile"]
    assert not [line for line in corefile.splitlines() if line.strip().startswith(("forward", "proxy"))]
    assert "nameserver" not in provider.layout.resolv_conf.read_text()


def test_up_after_crash_cleans_leftovers(provider: LocalProvider) -> None:
    """kill -9 of every component (containers keep running): `up` cleans up and comes back."""
    import signal

    layout = provider.layout
    kubelet_only = processes.alive(layout.pid_file("kubelet"))
    os.kill(kubelet_only, signal.SIGKILL)
    _wait_for(lambda: not processes.alive(layout.pid_file("kubelet")), 10, "kubelet gone")
    started = time.monotonic()
    provider.create()  # partial crash: only the kubelet is restarted
    RESULTS["up_after_kubelet_crash_s"] = time.monotonic() - started
    for component in provider._components():
        pid = processes.alive(layout.pid_file(component.name))
        if pid:
            os.kill(pid, signal.SIGKILL)
    _wait_for(lambda: not any(processes.alive(layout.pid_file(c.name)) for c in provider._components()), 10,
              "components gone")
    assert processes.find_by_argument("-address", str(layout.containerd_socket)), "shims should outlive containerd"
    started = time.monotonic()
    provider.create()
    RESULTS["up_after_full_crash_s"] = time.monotonic() - started
    assert provider.exists()


def test_memory_of_cluster_processes(provider: LocalProvider) -> None:
    for label, measure in (("rss", processes.rss_bytes), ("pss", processes.pss_bytes)):
        usage = provider.memory(measure)
        total = sum(usage.values())
        RESULTS[f"{label}_total_mib"] = total / 2**20
        print(f"\n{label.upper()} MiB: " + ", ".join(f"{k}={v / 2**20:.0f}" for k, v in usage.items())
              + f"; total={total / 2**20:.0f}")
        assert total > 0


def test_down_leaves_nothing(provider: LocalProvider) -> None:
    started = time.monotonic()
    provider.delete()
    RESULTS["down_s"] = time.monotonic() - started
    layout = provider.layout
    assert not [c.name for c in provider._components() if processes.alive(layout.pid_file(c.name))]
    assert not processes.find_by_argument("-address", str(layout.containerd_socket)), "containerd shims left"
    assert not network.bridge_exists(layout.net)
    assert network.leftover_chains() == []
    assert mounts_under(layout.state) == []
    assert not list(Path("/sys/fs/cgroup").glob("*/kubepods"))
    assert layout.kube_bin.exists(), "the binary cache must survive `down`"
    # issue 13 item 7: with the bridge gone nothing routes to the cluster's subnets off the machine
    import subprocess

    for ip in (layout.net.node_ip, "10.88.0.42", layout.net.kubernetes_service_ip):
        got = subprocess.run(["ip", "route", "get", ip], capture_output=True, text=True, check=False)
        assert got.returncode != 0 and "No route to host" in got.stderr, (ip, got.stdout, got.stderr)
    routes = subprocess.run(["ip", "route", "show"], capture_output=True, text=True, check=True).stdout
    assert f"unreachable {layout.net.pod_cidr}" in routes and f"unreachable {layout.net.service_cidr}" in routes
    # and no context of the user's kubeconfig points at it any more
    from airkube.cluster.kubeconfig import user_kubeconfig

    user_file = user_kubeconfig()
    if user_file.exists():
        assert layout.net.apiserver_url not in user_file.read_text(), f"{user_file} still names the cluster"
    print(f"\nresults: {RESULTS}")
