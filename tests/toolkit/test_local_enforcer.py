"""The local cluster's NetworkPolicy enforcer (kube-router's firewall only): argv, RBAC, guard placement, cleanup.

The live proof that it drops packets is tests/e2e/test_security.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airkube.cluster.local import Layout, addons, config, network, pki
from airkube.cluster.local.layout import KUBE_ROUTER_VERSION, NetworkPlan


@pytest.fixture()
def layout(tmp_path: Path) -> Layout:
    return Layout(state=tmp_path / "state", cache=tmp_path / "cache")


def _enforcer(layout: Layout) -> config.Component:
    return next(c for c in config.components(layout) if c.name == config.ENFORCER)


def test_enforcer_runs_only_the_firewall_pinned(layout: Layout) -> None:
    argv = _enforcer(layout).argv
    assert argv[0].endswith(f"kube-router-{KUBE_ROUTER_VERSION}") and KUBE_ROUTER_VERSION == "v2.1.0"
    flags = dict(a.split("=", 1) for a in argv[1:])
    # GHSA-v5mh-h5hx-7v92: the BGP router's unauthenticated gRPC server; never started here
    assert flags["--run-router"] == "false" and flags["--run-service-proxy"] == "false"
    assert flags["--run-firewall"] == "true" and flags["--run-loadbalancer"] == "false"
    # no listening port at all: health and metrics off (readiness = its iptables chain exists)
    assert flags["--health-port"] == "0" and flags["--metrics-port"] == "0" and flags["--enable-pprof"] == "false"
    assert flags["--service-cluster-ip-range"] == "10.96.0.0/16"
    assert flags["--kubeconfig"].endswith("netpol.kubeconfig")


def test_enforcer_identity_is_read_only(layout: Layout) -> None:
    plan = pki.plan(layout)
    cert = next(c for c in plan.certs if c.name == "netpol")
    assert cert.common_name == addons.ENFORCER_USER and "system:masters" not in cert.organizations
    role, binding = addons.enforcer_rbac_manifests()
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                                    "name": addons.ENFORCER_USER}]
    assert any(r["resources"] == ["networkpolicies"] for r in role["rules"])


def test_guard_runs_before_the_enforcer() -> None:
    """kube-router ACCEPTs policy-compliant pod traffic from position 1 of filter FORWARD: the no-egress guard
    must also sit in mangle, which every packet traverses first."""
    assert network.GUARD_TABLES[0] == "mangle" and "filter" in network.GUARD_TABLES
    assert set(network.guard_rules(NetworkPlan())) == set(network.GUARD_HOOKS)


def test_ipset_cleanup_takes_only_the_enforcers_sets() -> None:
    names = ["KUBE-SRC-ABCDEF", "KUBE-DST-123", "inet6:KUBE-SRC-X", "docker-set", "f2b-sshd", "kube-router-x"]
    assert network.ipsets_to_destroy(names) == ["KUBE-SRC-ABCDEF", "KUBE-DST-123", "inet6:KUBE-SRC-X",
                                                "kube-router-x"]
