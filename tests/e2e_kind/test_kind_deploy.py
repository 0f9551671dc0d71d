"""3-node kind on the private engine: nodes and zones, images loaded with `kind load image-archive`, the chart
installed with values/kind.yaml + values/kind-offline.yaml, the smoke DAGs, `helm test`, and placement across
nodes (executor fan-out on >= 2 nodes, the seed's KPO pod placed by its affinity rules)."""

from __future__ import annotations

import subprocess
import time

import pytest
from kubernetes import client, config
from rich.console import Console

from airkube.kube import poll_until
from kind_helpers import TIMINGS

pytestmark = pytest.mark.e2e
NAMESPACE = "kind-e2e"
NETPOL_NAMESPACE = f"{NAMESPACE}-netpol"
KPO_NAMESPACE = f"{NAMESPACE}-kpo"  # kubernetesPodOperator.namespace's default: the seed's anchor pod lives here
ZONE = "topology.kubernetes.io/zone"


@pytest.fixture(scope="module")
def core(kind_provider) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kind_provider.kubeconfig())))


def test_three_nodes_in_three_zones(kind_provider, core: client.CoreV1Api) -> None:
    name = kind_provider.settings.name
    assert sorted(kind_provider.node_names()) == [f"{name}-control-plane", f"{name}-worker", f"{name}-worker2"]
    def ready_nodes() -> list[client.V1Node] | None:
        # kind create can return before the workers' kubelets report Ready (seen on a fresh cluster): wait for it
        items = core.list_node().items
        ok = len(items) == 3 and all(
            any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []) for n in items)
        return items if ok else None

    nodes = poll_until(ready_nodes, 300, "3 Ready nodes", interval=3)
    assert len({n.metadata.labels.get(ZONE) for n in nodes}) == 3


def test_cluster_dns_and_default_storage(kind_provider, core: client.CoreV1Api) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns").items
        if pods and all(p.status.phase == "Running" and all(c.ready for c in p.status.container_statuses or [])
                        for p in pods):
            break
        time.sleep(5)
    else:
        pytest.fail("CoreDNS did not become ready on the kind cluster")
    classes = client.StorageV1Api(core.api_client).list_storage_class().items
    assert any(c.metadata.name == "standard" and
               (c.metadata.annotations or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
               for c in classes)


def test_deploy_smoke_and_helm_test(kind_provider, core: client.CoreV1Api) -> None:
    from airkube.cluster.select import Choice
    from airkube.deploy import Deployer, DeployOptions

    console = Console(stderr=True, width=200)
    options = DeployOptions(provider="kind", namespace=NAMESPACE, timeout="20m")
    deployer = Deployer(console, options, Choice(kind_provider, "kind e2e"))
    t0 = time.monotonic()
    report = deployer.run()
    TIMINGS["deploy_s"] = time.monotonic() - t0
    assert report.ok, f"deploy failed at {report.failed_step}: {[s.detail for s in report.steps]}"
    helm = subprocess.run(["helm", "test", "airflow", "-n", NAMESPACE, "--kubeconfig",
                           str(kind_provider.kubeconfig()), "--timeout", "10m"], capture_output=True, text=True)
    assert helm.returncode == 0, helm.stdout + helm.stderr

    # where the task pods ran: the scheduler's events outlive the pods
    events = core.list_namespaced_event(NAMESPACE, field_selector="reason=Scheduled").items
    placed = {}
    for e in events:
        msg = e.message or ""
        if " to " in msg:
            placed[e.involved_object.name] = msg.rsplit(" to ", 1)[1]
    workers = {n for p, n in placed.items() if "smoke-executor" in p or "smoke_executor" in p}
    print(f"\n[e2e-kind] pods scheduled: {placed}")
    print(f"[e2e-kind] smoke_executor task pods on nodes: {sorted(workers)}")
    assert len(workers) >= 2, f"executor fan-out stayed on {sorted(workers)}: {placed}"

    # the seed's KPO pod (name test-…): its required pod affinity (security=S1, zone topology) puts it in the
    # anchor pod's zone; one node per zone here, so on the anchor's node and nowhere else
    zones = {n.metadata.name: (n.metadata.labels or {}).get(ZONE) for n in core.list_node().items}
    everywhere = core.list_event_for_all_namespaces(field_selector="reason=Scheduled").items
    kpo = {e.involved_object.name: (e.message or "").rsplit(" to ", 1)[1] for e in everywhere
           if (e.involved_object.name or "").startswith("test-") and " to " in (e.message or "")}
    anchor = core.read_namespaced_pod("airkube-smoke-anchor", KPO_NAMESPACE).spec.node_name
    print(f"[e2e-kind] anchor (security=S1) on {anchor} ({zones.get(anchor)}); KPO pods placed: "
          + ", ".join(f"{p} → {n} ({zones.get(n)})" for p, n in kpo.items()))
    assert kpo, "no Scheduled event for the seed's KPO pod (test-…)"
    assert all(zones.get(n) == zones.get(anchor) for n in kpo.values()), (kpo, anchor, zones)


def test_network_policies_are_enforced_across_nodes(kind_provider, core: client.CoreV1Api) -> None:
    """The kind nodes' kube-router (default-cni.yaml) drops what a NetworkPolicy forbids: the client on another
    node than the server (routed between nodes), the stranger on the server's node (bridged on one node)."""
    from netpol_probe import delete_namespace, deny_then_allow, psa_namespace, start_pods

    name = kind_provider.settings.name
    if kind_provider.offline():  # our node image: its enforcer is the kube-router DaemonSet, on every node
        ds = client.AppsV1Api(core.api_client).read_namespaced_daemon_set("airkube-network-policy", "kube-system")
        assert ds.status.number_ready == ds.status.desired_number_scheduled == 3, ds.status
    psa_namespace(core, NETPOL_NAMESPACE)
    try:
        ips = start_pods(core, NETPOL_NAMESPACE, {"server": f"{name}-worker", "client": f"{name}-worker2",
                                                  "stranger": f"{name}-worker"})
        deny_then_allow(kind_provider.kubeconfig(), client.NetworkingV1Api(core.api_client), NETPOL_NAMESPACE, ips,
                        lambda text: print(f"[e2e-kind] {text}", flush=True))
    finally:
        delete_namespace(core, NETPOL_NAMESPACE)


def test_uninstall(kind_provider) -> None:
    proc = subprocess.run(["helm", "uninstall", "airflow", "-n", NAMESPACE, "--kubeconfig",
                           str(kind_provider.kubeconfig()), "--wait"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # the suite's namespace goes too (on a cluster the suite did not create, only what it made is removed)
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(kind_provider.kubeconfig())))
    for ns in (KPO_NAMESPACE, NAMESPACE):
        try:
            core.delete_namespace(ns)
        except client.ApiException as exc:
            if exc.status != 404:  # the chart's KPO namespace goes with the release
                raise
