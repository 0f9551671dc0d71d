"""Certificates, keys and kubeconfigs of the local cluster, generated with `cryptography`.

Idempotent: an existing CA is reused, and leaf certificates are only (re)issued when missing, signed by
another CA, or when their subject/SANs no longer match the plan.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .layout import Layout

CA_DAYS = 3650
LEAF_DAYS = 825


@dataclass(frozen=True)
class CertSpec:
    """One leaf certificate: file stem, subject, usage, SANs."""

    name: str
    common_name: str
    organizations: tuple[str, ...] = ()
    server: bool = False
    client: bool = True
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class KubeconfigSpec:
    """A kubeconfig for one identity (cert stem) pointing at `server`."""

    identity: str
    cert: str
    server: str
    path: Path


@dataclass(frozen=True)
class PkiPlan:
    certs: tuple[CertSpec, ...]
    kubeconfigs: tuple[KubeconfigSpec, ...] = field(default_factory=tuple)


def plan(layout: Layout) -> PkiPlan:
    """Everything the cluster needs, derived from the layout only (pure; unit-tested)."""
    net = layout.net
    node = layout.node_name
    apiserver_dns = (
        "kubernetes", "kubernetes.default", "kubernetes.default.svc",
        f"kubernetes.default.svc.{net.cluster_domain}", "localhost", node,
    )
    certs = (
        CertSpec("apiserver", "kube-apiserver", server=True, client=False, dns_names=apiserver_dns,
                 ip_addresses=(net.kubernetes_service_ip, net.node_ip, "127.0.0.1")),
        CertSpec("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",)),
        CertSpec("admin", "airkube-admin", ("system:masters",)),
        CertSpec("kubelet-client", f"system:node:{node}", ("system:nodes",)),
        CertSpec("kubelet-serving", f"system:node:{node}", ("system:nodes",), server=True, client=False,
                 dns_names=(node, "localhost"), ip_addresses=(net.node_ip, "127.0.0.1")),
        CertSpec("controller-manager", "system:kube-controller-manager"),
        CertSpec("scheduler", "system:kube-scheduler"),
        CertSpec("proxy", "system:kube-proxy"),
        CertSpec("provisioner", "airkube:hostpath-provisioner", ("system:masters",)),
        CertSpec("netpol", "airkube:network-policy-controller"),  # read-only ClusterRole (addons.py)
    )
    server = net.apiserver_url
    kubeconfigs = (
        KubeconfigSpec("admin", "admin", server, layout.admin_kubeconfig),
        KubeconfigSpec("kubelet", "kubelet-client", server, layout.kubeconfig_for("kubelet")),
        KubeconfigSpec("controller-manager", "controller-manager", server, layout.kubeconfig_for("controller-manager")),
        KubeconfigSpec("scheduler", "scheduler", server, layout.kubeconfig_for("scheduler")),
        KubeconfigSpec("proxy", "proxy", server, layout.kubeconfig_for("proxy")),
        KubeconfigSpec("provisioner", "provisioner", server, layout.kubeconfig_for("provisioner")),
        KubeconfigSpec("netpol", "netpol", server, layout.kubeconfig_for("netpol")),
    )
    return PkiPlan(certs, kubeconfigs)


# --- low-level helpers ------------------------------------------------------------------------------

def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _sans(spec: CertSpec) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in spec.dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
    return names


@dataclass(frozen=True)
class CertificateAuthority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def ensure_ca(pki_dir: Path) -> CertificateAuthority:
    crt, key_path = pki_dir / "ca.crt", pki_dir / "ca.key"
    if crt.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return CertificateAuthority(x509.load_pem_x509_certificate(crt.read_bytes()), key)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name("airkube-local-ca", ("airkube",))
    now = _now()
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CertificateAuthority(cert, key)


def issue(ca: CertificateAuthority, spec: CertSpec) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    usages = []
    if spec.server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if spec.client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        x509.CertificateBuilder().subject_name(_name(spec.common_name, spec.organizations))
        .issuer_name(ca.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, key_cert_sign=False,
                                     content_commitment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
    )
    sans = _sans(spec)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca.key, hashes.SHA256()), key


def matches(cert: x509.Certificate, ca: CertificateAuthority, spec: CertSpec) -> bool:
    """True when an existing certificate still fits the plan (same CA, subject, SANs, not near expiry)."""
    if cert.issuer != ca.cert.subject or cert.subject != _name(spec.common_name, spec.organizations):
        return False
    try:
        ca.key.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except Exception:
        return False
    if cert.not_valid_after_utc - _now() < dt.timedelta(days=30):
        return False
    try:
        present = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        present = set()
    return present == set(_sans(spec))


def ensure_cert(pki_dir: Path, ca: CertificateAuthority, spec: CertSpec) -> None:
    crt, key_path = pki_dir / f"{spec.name}.crt", pki_dir / f"{spec.name}.key"
    if crt.exists() and key_path.exists():
        if matches(x509.load_pem_x509_certificate(crt.read_bytes()), ca, spec):
            return
    cert, key = issue(ca, spec)
    _write_private(key_path, _key_pem(key))
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_service_account_keys(pki_dir: Path) -> None:
    """RSA pair: the apiserver signs service-account tokens with sa.key and verifies them with sa.pub."""
    key_path, pub_path = pki_dir / "sa.key", pki_dir / "sa.pub"
    if key_path.exists() and pub_path.exists():
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_private(key_path, key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.TraditionalOpenSSL,
                                               serialization.NoEncryption()))
    pub_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo))


def render_kubeconfig(spec: KubeconfigSpec, pki_dir: Path, cluster_name: str = "airkube-local") -> dict:
    """Kubeconfig referencing cert files by absolute path (pure; unit-tested)."""
    user = f"{spec.identity}@{cluster_name}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {
            "server": spec.server, "certificate-authority": str(pki_dir / "ca.crt")}}],
        "users": [{"name": user, "user": {
            "client-certificate": str(pki_dir / f"{spec.cert}.crt"),
            "client-key": str(pki_dir / f"{spec.cert}.key")}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": user}}],
        "current-context": cluster_name,
        "preferences": {},
    }


def render_admin_kubeconfig(spec: KubeconfigSpec, pki_dir: Path, cluster_name: str = "airkube-local") -> dict:
    """Admin kubeconfig with embedded data, so it can be copied elsewhere and still work."""
    import base64

    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    config = render_kubeconfig(spec, pki_dir, cluster_name)
    config["clusters"][0]["cluster"] = {"server": spec.server,
                                        "certificate-authority-data": b64(pki_dir / "ca.crt")}
    config["users"][0]["user"] = {"client-certificate-data": b64(pki_dir / f"{spec.cert}.crt"),
                                  "client-key-data": b64(pki_dir / f"{spec.cert}.key")}
    return config


def ensure_all(layout: Layout) -> PkiPlan:
    """Create/refresh the CA, every leaf cert, the SA key pair and all kubeconfigs."""
    the_plan = plan(layout)
    layout.pki.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.pki, 0o700)
    ca = ensure_ca(layout.pki)
    for spec in the_plan.certs:
        ensure_cert(layout.pki, ca, spec)
    ensure_service_account_keys(layout.pki)
    for kc in the_plan.kubeconfigs:
        render = render_admin_kubeconfig if kc.identity == "admin" else render_kubeconfig
        _write_private(kc.path, yaml.safe_dump(render(kc, layout.pki), sort_keys=False).encode())
    return the_plan
