"""Issue 13 item 7: once the bridge is gone, nothing routes to the cluster's subnets off this machine.

The real `network` functions run in a fresh network namespace (`unshare --net --mount`, root only) that has a default
route of its own, so the shared cluster's bridge and the machine's routes are never touched: bridge up → traffic
to 10.88.0.0/24 goes to the bridge; bridge deleted (what `cluster down` does) → "no route to host" at once, not
the default route.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from airkube.cluster.local import network
from airkube.cluster.local.layout import NetworkPlan

# Both probes start in a fresh network namespace: sh(), then a fake uplink with a default route of its own
# (TEST-NET-2 198.51.100.0/24, nothing behind it), standing in for the machine's default route.
NETNS_PRELUDE = textwrap.dedent("""
    import subprocess

    def sh(*argv):
        r = subprocess.run(argv, capture_output=True, text=True, check=False)
        return (r.stdout + r.stderr).strip()

    def fake_uplink():
        sh("ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", "fakeeth0", "type", "veth", "peer", "name", "fakepeer0")
        sh("ip", "link", "set", "fakepeer0", "up")
        sh("ip", "addr", "add", "198.51.100.200/24", "dev", "fakeeth0")
        sh("ip", "link", "set", "fakeeth0", "up")
        sh("ip", "route", "add", "default", "via", "198.51.100.1", "dev", "fakeeth0")
""")

PROBE = NETNS_PRELUDE + textwrap.dedent("""
    import json, socket, subprocess, time
    from airkube.cluster.local import network
    from airkube.cluster.local.layout import NetworkPlan

    def connect(ip):
        t0 = time.monotonic()
        try:
            socket.create_connection((ip, 6443), timeout=3).close()
            return "connected", time.monotonic() - t0
        except OSError as exc:
            return exc.strerror or str(exc), time.monotonic() - t0

    net = NetworkPlan(bridge="aktest0")
    fake_uplink()
    out = {"no_cluster": sh("ip", "route", "get", "10.88.0.1")}
    network.ensure_unreachable(net)
    network.ensure_unreachable(net)  # idempotent
    network.ensure_bridge(net)
    out["up_pod"] = sh("ip", "route", "get", "10.88.0.20")
    out["up_service"] = sh("ip", "route", "get", "10.96.0.10")
    network.delete_bridge(net)
    out["down_node"] = sh("ip", "route", "get", "10.88.0.1")
    out["down_service"] = sh("ip", "route", "get", "10.96.0.1")
    out["down_connect"] = connect("10.88.0.1")
    out["routes"] = sh("ip", "route", "show")
    print(json.dumps(out))
""")


def test_unreachable_routes_plan() -> None:
    net = NetworkPlan()
    assert network.unreachable_routes(net) == [
        ["ip", "route", "replace", "unreachable", "10.88.0.0/24", "metric", str(network.UNREACHABLE_METRIC)],
        ["ip", "route", "replace", "unreachable", "10.96.0.0/16", "metric", str(network.UNREACHABLE_METRIC)],
    ]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare(1)")
def test_after_the_bridge_is_gone_the_subnet_is_unreachable_not_routed_out() -> None:
    # a mount namespace too, with its own /sys: network.bridge_exists() reads /sys/class/net
    argv = ["unshare", "--net", "--mount", "sh", "-c", 'mount -t sysfs sysfs /sys && exec "$0" -c "$1"',
            sys.executable, PROBE]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    print(json.dumps(out, indent=1))
    # the hazard of issue 13: without our route, 10.88.0.1 goes out of the default route
    assert "via 198.51.100.1 dev fakeeth0" in out["no_cluster"]
    # while the bridge is up its own routes win over the fallback
    assert "dev aktest0" in out["up_pod"] and "dev aktest0" in out["up_service"]
    # after `down`: refused on the spot, never via fakeeth0
    for key in ("down_node", "down_service"):
        assert "No route to host" in out[key] and "fakeeth0" not in out[key], out[key]
    reason, seconds = out["down_connect"]
    assert reason == "No route to host" and seconds < 1, out["down_connect"]
    assert "unreachable 10.88.0.0/24" in out["routes"] and "unreachable 10.96.0.0/16" in out["routes"]


DOWN_PROBE = NETNS_PRELUDE + textwrap.dedent("""
    import json, os, socket, subprocess, sys, time
    from pathlib import Path

    import yaml

    tmp = Path(sys.argv[1])
    os.environ["HOME"] = str(tmp / "home")
    os.environ.pop("KUBECONFIG", None)
    os.environ.pop("AIRKUBE_NO_KUBECONFIG", None)
    from airkube.cluster import kubeconfig as kc
    from airkube.cluster.local import network
    from airkube.cluster.local import provider as prov
    from airkube.cluster.local.layout import Layout

    prov.CGROUP_ROOT = tmp / "no-cgroups"  # never the machine's kubelet cgroups

    fake_uplink()
    layout = Layout(state=tmp / "state", cache=tmp / "cache")  # the real names: airkube0, 10.88.0.0/24
    network.ensure_unreachable(layout.net)  # what `cluster up` does to the network
    network.ensure_bridge(layout.net)
    admin = tmp / "admin.kubeconfig"
    admin.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "airkube-local",
        "clusters": [{"name": "airkube-local", "cluster": {"server": layout.net.apiserver_url}}],
        "users": [{"name": "admin@airkube-local", "user": {"token": "t"}}],
        "contexts": [{"name": "airkube-local", "context": {"cluster": "airkube-local", "user": "admin@airkube-local"}}],
    }))
    kc.after_up(admin, print)
    out = {"up": sh("ip", "route", "get", "10.88.0.20"), "merged": layout.net.apiserver_url in kc.user_kubeconfig().read_text()}
    prov.LocalProvider(layout=layout).delete()  # `airkube cluster down`
    out["bridge_left"] = network.bridge_exists(layout.net)
    out["down_node"] = sh("ip", "route", "get", layout.net.node_ip)
    t0 = time.monotonic()
    try:
        socket.create_connection((layout.net.node_ip, layout.net.apiserver_port), timeout=3).close()
        out["connect"] = ["connected", 0]
    except OSError as exc:
        out["connect"] = [exc.strerror, time.monotonic() - t0]
    out["kubeconfig"] = yaml.safe_load(kc.user_kubeconfig().read_text())
    print("RESULT " + json.dumps(out))
""")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare(1)")
def test_cluster_down_leaves_the_subnet_unreachable_and_the_context_removed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """LocalProvider.delete() itself, on a state dir of its own, in its own network namespace (so the shared
    cluster is untouched): after `down` 10.88.0.1 is refused on the spot and the user's kubeconfig no longer
    names the cluster."""
    argv = ["unshare", "--net", "--mount", "sh", "-c", 'mount -t sysfs sysfs /sys && exec "$0" -c "$1" "$2"',
            sys.executable, DOWN_PROBE, str(tmp_path)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    out = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))[7:])
    print(result.stdout)
    assert "dev airkube0" in out["up"] and out["merged"]
    assert not out["bridge_left"]
    assert "No route to host" in out["down_node"] and "fakeeth0" not in out["down_node"]
    assert out["connect"][0] == "No route to host" and out["connect"][1] < 1
    assert out["kubeconfig"]["contexts"] == [] and out["kubeconfig"]["current-context"] == ""
    assert "removed context airkube-local" in result.stdout
