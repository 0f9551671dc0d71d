"""PKI of the local provider: subjects, SANs, usages, idempotence, kubeconfigs."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from airkube.cluster.local import Layout, pki


@pytest.fixture()
def layout(tmp_path: Path) -> Layout:
    return Layout(state=tmp_path / "state", cache=tmp_path / "cache")


def _load(layout: Layout, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((layout.pki / f"{name}.crt").read_bytes())


def _sans(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(ext.get_values_for_type(x509.DNSName)), {str(i) for i in ext.get_values_for_type(x509.IPAddress)}


def test_apiserver_cert_covers_every_address_clients_use(layout: Layout) -> None:
    pki.ensure_all(layout)
    dns, ips = _sans(_load(layout, "apiserver"))
    assert {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local"} <= dns
    assert {"10.96.0.1", layout.net.node_ip, "127.0.0.1"} <= ips
    usages = _load(layout, "apiserver").extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages


@pytest.mark.parametrize(("name", "cn", "orgs"), [
    ("admin", "airkube-admin", ["system:masters"]),
    ("kubelet-client", "system:node:airkube-local", ["system:nodes"]),
    ("controller-manager", "system:kube-controller-manager", []),
    ("scheduler", "system:kube-scheduler", []),
    ("proxy", "system:kube-proxy", []),
])
def test_client_identities(layout: Layout, name: str, cn: str, orgs: list[str]) -> None:
    pki.ensure_all(layout)
    cert = _load(layout, name)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == orgs
    assert ExtendedKeyUsageOID.CLIENT_AUTH in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value


def test_certs_chain_to_the_ca(layout: Layout) -> None:
    pki.ensure_all(layout)
    ca = pki.ensure_ca(layout.pki)
    for spec in pki.plan(layout).certs:
        assert pki.matches(_load(layout, spec.name), ca, spec), spec.name


def test_second_run_keeps_ca_and_certs(layout: Layout) -> None:
    pki.ensure_all(layout)
    before = {p.name: p.read_bytes() for p in layout.pki.iterdir()}
    pki.ensure_all(layout)
    after = {p.name: p.read_bytes() for p in layout.pki.iterdir()}
    assert before == after


def test_cert_reissued_when_sans_change(tmp_path: Path) -> None:
    from airkube.cluster.local import NetworkPlan

    first = Layout(state=tmp_path, cache=tmp_path)
    pki.ensure_all(first)
    old = _load(first, "apiserver")
    moved = Layout(state=tmp_path, cache=tmp_path, net=NetworkPlan(node_cidr=ipaddress.IPv4Interface("10.77.0.1/24")))
    pki.ensure_all(moved)
    new = _load(moved, "apiserver")
    assert new.serial_number != old.serial_number
    assert "10.77.0.1" in _sans(new)[1]
    assert _load(moved, "admin").serial_number == _load(first, "admin").serial_number


def test_private_keys_are_not_world_readable(layout: Layout) -> None:
    pki.ensure_all(layout)
    for key in layout.pki.glob("*.key"):
        assert key.stat().st_mode & 0o077 == 0, key


def test_kubeconfigs(layout: Layout) -> None:
    pki.ensure_all(layout)
    admin = yaml.safe_load(layout.admin_kubeconfig.read_text())
    assert admin["clusters"][0]["cluster"]["server"] == f"https://{layout.net.node_ip}:6443"
    assert "certificate-authority-data" in admin["clusters"][0]["cluster"]
    assert admin["current-context"] == "airkube-local"
    kubelet = yaml.safe_load(layout.kubeconfig_for("kubelet").read_text())
    assert kubelet["users"][0]["user"]["client-certificate"] == str(layout.pki / "kubelet-client.crt")


def test_service_account_keys(layout: Layout) -> None:
    pki.ensure_all(layout)
    assert (layout.pki / "sa.key").read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert (layout.pki / "sa.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
