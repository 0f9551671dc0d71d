"""Rendered configuration of every component: files (containerd, CNI, kubelet, kube-proxy, CoreDNS) and argv.

Everything here is pure: functions take the layout and return text/dicts/argv; `write_all` is the only writer.
"""

from __future__ import annotations

import json
import os
import string
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from .layout import Layout

SANDBOX_IMAGE = "airkube.local/pause:3.10"
COREDNS_IMAGE = "airkube.local/coredns:1.14.7"
ENFORCER = "kube-router"  # the NetworkPolicy enforcer's component name


def templates_dir() -> Path:
    """scripts/local of the repo (override: AIRKUBE_LOCAL_TEMPLATES)."""
    override = os.environ.get("AIRKUBE_LOCAL_TEMPLATES")
    if override:
        return Path(override)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "scripts" / "local"
        if (candidate / "containerd.toml").exists():
            return candidate
    raise FileNotFoundError(
        "scripts/local/containerd.toml not found: run airkube from a checkout of the repo "
        "(pip install -e .) or set AIRKUBE_LOCAL_TEMPLATES to the scripts/local directory")


def _template(name: str, **values: str) -> str:
    return string.Template((templates_dir() / name).read_text()).substitute(values)


# --- files ---------------------------------------------------------------------------------------------

def containerd_toml(layout: Layout) -> str:
    return _template(
        "containerd.toml",
        root=str(layout.containerd_root), state=str(layout.containerd_state), socket=str(layout.containerd_socket),
        opt=str(layout.state / "containerd" / "opt"), sandbox_image=SANDBOX_IMAGE,
        registry_dir=str(layout.config / "registry"),
        runc_root=str(layout.runc_root), cni_bin_dir=str(layout.cni_bin_dir), cni_conf_dir=str(layout.cni_conf_dir),
    )


def cni_conflist(layout: Layout) -> dict:
    net = layout.net
    return {
        "cniVersion": "1.0.0",
        "name": net.cni_network,
        "plugins": [
            {
                "type": "bridge",
                "bridge": net.bridge,
                "isGateway": True,
                "ipMasq": False,  # nothing is masqueraded to the outside world
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(layout.cni_ipam_dir),
                    "ranges": [[{
                        "subnet": str(net.pod_cidr),
                        "rangeStart": net.pod_range_start,
                        "rangeEnd": net.pod_range_end,
                        "gateway": net.node_ip,
                    }]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": False},
        ],
    }


def kubelet_config(layout: Layout) -> dict:
    pki = layout.pki
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": layout.net.node_ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True, "cacheTTL": "2m0s"},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "clusterDNS": [layout.net.dns_service_ip],
        "clusterDomain": layout.net.cluster_domain,
        "resolvConf": str(layout.resolv_conf),
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "imageServiceEndpoint": f"unix://{layout.containerd_socket}",
        "podLogsDir": str(layout.pod_logs),
        "volumePluginDir": str(layout.kubelet_root / "volume-plugins"),
        "registerNode": True,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "staticPodPath": "",
        "maxPods": 110,
        "serializeImagePulls": False,
        # images cannot be pulled again here (no registry): never garbage-collect them
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%",
                         "nodefs.inodesFree": "1%", "imagefs.available": "1%"},
        "evictionPressureTransitionPeriod": "30s",
        "nodeStatusReportFrequency": "1m0s",
        "nodeStatusUpdateFrequency": "10s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "20s",
        "shutdownGracePeriod": "0s",
        "containerLogMaxSize": "10Mi",
        "containerLogMaxFiles": 3,
        "protectKernelDefaults": False,
        "oomScoreAdj": 0,  # negative scores are forbidden in this VM (see containerd.toml)
        "makeIPTablesUtilChains": True,
        "logging": {"format": "text"},
    }


def kube_proxy_config(layout: Layout) -> dict:
    net = layout.net
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(layout.kubeconfig_for("proxy"))},
        "hostnameOverride": layout.node_name,
        "bindAddress": net.node_ip,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "clusterCIDR": str(net.pod_cidr),
        "detectLocalMode": "ClusterCIDR",
        # NodePorts only on the bridge, never on eth0
        "nodePortAddresses": [str(net.pod_cidr)],
        # leave kernel conntrack tables as they are (the VM may not allow resizing them)
        "conntrack": {"maxPerCore": 0, "min": 0},
        "oomScoreAdj": 0,
        "iptables": {"masqueradeAll": False, "syncPeriod": "30s", "minSyncPeriod": "1s"},
    }


def corefile(layout: Layout) -> str:
    return _template("Corefile", cluster_domain=layout.net.cluster_domain)


# Registry hosts config (containerd hosts.toml): everything goes to a closed port on loopback.
# A [host] table is required: without one containerd ignores the file and falls back to the real registry.
REGISTRY_HOSTS_TOML = """# airkube: no registry is reachable (images are imported); pulls fail on loopback.
server = "http://127.0.0.1:1"

[host."http://127.0.0.1:1"]
  capabilities = ["pull", "resolve"]
"""

RESOLV_CONF = "# airkube: no upstream DNS on purpose (pods resolve cluster names through CoreDNS only)\n"


def write_all(layout: Layout) -> None:
    """Write every rendered file under <state>/config and the CNI conf dir."""
    layout.config.mkdir(parents=True, exist_ok=True)
    layout.cni_conf_dir.mkdir(parents=True, exist_ok=True)
    (layout.config / "containerd.toml").write_text(containerd_toml(layout))
    (layout.config / "kubelet.yaml").write_text(yaml.safe_dump(kubelet_config(layout), sort_keys=False))
    (layout.config / "kube-proxy.yaml").write_text(yaml.safe_dump(kube_proxy_config(layout), sort_keys=False))
    (layout.cni_conf_dir / "10-airkube.conflist").write_text(json.dumps(cni_conflist(layout), indent=2) + "\n")
    layout.resolv_conf.write_text(RESOLV_CONF)
    registry = layout.config / "registry" / "_default"
    registry.mkdir(parents=True, exist_ok=True)
    (registry / "hosts.toml").write_text(REGISTRY_HOSTS_TOML)


# --- processes -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Health:
    """How to tell that a component is ready: an HTTP(S) URL answering 200, or only `alive`."""

    url: str | None = None
    ca_file: Path | None = None  # verify TLS with this CA; None + https = no verification (loopback only)


def joined(argv: tuple[str, ...]) -> tuple[str, ...]:
    """`--flag value` pairs as `--flag=value` (pflag booleans only take the `=` form)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--") and "=" not in arg and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
        else:
            out.append(arg)
            i += 1
    return tuple(out)


@dataclass(frozen=True)
class Component:
    name: str
    argv: tuple[str, ...]
    health: Health
    timeout: float = 90.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "argv", joined(self.argv))


def delegated_auth(kubeconfig: Path) -> tuple[str, ...]:
    """A control-plane component that talks to the API server and delegates its own authn/authz to it."""
    return ("--kubeconfig", str(kubeconfig), "--authentication-kubeconfig", str(kubeconfig),
            "--authorization-kubeconfig", str(kubeconfig))


def components(layout: Layout, python: str = sys.executable) -> list[Component]:
    """Start order. Stop order is the reverse."""
    net, pki, kube = layout.net, layout.pki, str(layout.kube_bin)
    kc = layout.kubeconfig_for
    return [
        Component("containerd", ("containerd", "--config", str(layout.config / "containerd.toml")), Health()),
        Component("etcd", (
            str(layout.etcd_bin), "--name", "airkube", "--data-dir", str(layout.etcd_data),
            "--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
            "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--initial-cluster", "airkube=http://127.0.0.1:2380", "--initial-cluster-state", "new",
            "--listen-metrics-urls", "http://127.0.0.1:2381", "--quota-backend-bytes", str(2 * 1024**3),
            "--snapshot-count", "10000", "--log-level", "warn",
        ), Health("http://127.0.0.1:2381/health")),
        Component("kube-apiserver", (
            kube, "apiserver",
            "--etcd-servers", "http://127.0.0.1:2379",
            "--bind-address", net.node_ip, "--advertise-address", net.node_ip,
            "--secure-port", str(net.apiserver_port),
            "--tls-cert-file", str(pki / "apiserver.crt"), "--tls-private-key-file", str(pki / "apiserver.key"),
            "--client-ca-file", str(pki / "ca.crt"),
            "--kubelet-client-certificate", str(pki / "apiserver-kubelet-client.crt"),
            "--kubelet-client-key", str(pki / "apiserver-kubelet-client.key"),
            "--kubelet-certificate-authority", str(pki / "ca.crt"),
            "--kubelet-preferred-address-types", "InternalIP,Hostname",
            "--service-account-issuer", f"https://kubernetes.default.svc.{net.cluster_domain}",
            "--service-account-key-file", str(pki / "sa.pub"),
            "--service-account-signing-key-file", str(pki / "sa.key"),
            "--service-cluster-ip-range", str(net.service_cidr),
            "--authorization-mode", "Node,RBAC",
            "--enable-admission-plugins", "NodeRestriction",
            "--allow-privileged", "true",
            "--endpoint-reconciler-type", "lease",
            "--profiling", "false",
            "--event-ttl", "1h",
        ), Health(f"{net.apiserver_url}/readyz", pki / "ca.crt"), timeout=120),
        Component("kube-controller-manager", (
            kube, "controller-manager",
            *delegated_auth(kc("controller-manager")),
            "--bind-address", "127.0.0.1", "--secure-port", "10257",
            "--leader-elect", "false",
            "--use-service-account-credentials", "true",
            "--service-account-private-key-file", str(pki / "sa.key"),
            "--root-ca-file", str(pki / "ca.crt"),
            "--cluster-signing-cert-file", str(pki / "ca.crt"),
            "--cluster-signing-key-file", str(pki / "ca.key"),
            "--service-cluster-ip-range", str(net.service_cidr),
            "--cluster-cidr", str(net.pod_cidr), "--allocate-node-cidrs", "false",
            "--controllers", "*,-cloud-node-lifecycle-controller,-node-ipam-controller",
            "--profiling", "false",
        ), Health("https://127.0.0.1:10257/healthz")),
        Component("kube-scheduler", (
            kube, "scheduler",
            *delegated_auth(kc("scheduler")),
            "--bind-address", "127.0.0.1", "--secure-port", "10259",
            "--leader-elect", "false", "--profiling", "false",
        ), Health("https://127.0.0.1:10259/healthz")),
        Component("kubelet", (
            kube, "kubelet",
            "--config", str(layout.config / "kubelet.yaml"),
            "--kubeconfig", str(kc("kubelet")),
            "--root-dir", str(layout.kubelet_root),
            "--cert-dir", str(layout.kubelet_root / "pki"),
            "--hostname-override", layout.node_name,
            "--node-ip", net.node_ip,
        ), Health("http://127.0.0.1:10248/healthz"), timeout=120),
        Component("kube-proxy", (
            kube, "proxy", "--config", str(layout.config / "kube-proxy.yaml"),
        ), Health("http://127.0.0.1:10256/livez")),
        Component("provisioner", (
            python, "-m", "airkube.cluster.provisioner",
            "--kubeconfig", str(kc("provisioner")), "--root", str(layout.volumes),
        ), Health()),
        # NetworkPolicy enforcer: kube-router's firewall (iptables + ipset) only; no BGP router, no service
        # proxy, no health/metrics port. Started once the node is registered (provider.py).
        Component(ENFORCER, (
            str(layout.kube_router_bin), "--run-firewall=true", "--run-router=false", "--run-service-proxy=false",
            "--run-loadbalancer=false", "--enable-ipv6=false", "--enable-pprof=false",
            "--health-port", "0", "--metrics-port", "0",
            "--kubeconfig", str(kc("netpol")), "--hostname-override", layout.node_name,
            "--service-cluster-ip-range", str(net.service_cidr),
            "--iptables-sync-period", "1m0s", "--v", "1",
        ), Health(), timeout=60),
    ]
