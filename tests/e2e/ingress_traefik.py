"""Traefik v3 on the local cluster for the browser e2e test: ingress controller (kubernetesIngress provider) and
Gateway API implementation (kubernetesGateway provider), in a namespace of its own, with least RBAC.

- Binary: scripts/build-go.sh traefik (cached in ~/.cache/airkube/bin/traefik-<version>), image
  airkube.local/traefik:<version> (airkube.images, on demand), imported into the local cluster.
- Gateway API CRDs: the standard channel YAML shipped inside the Go module sigs.k8s.io/gateway-api, at the version
  Traefik's own go.mod requires (read from the module proxy's copy of that go.mod; nothing is downloaded from
  anywhere else). CRDs, the GatewayClass, the IngressClass and the ClusterRole(Binding) are cluster-scoped:
  `teardown()` removes those this module created (CRDs only when they were absent before).
- RBAC: a ClusterRole that only reads what Traefik's informers list cluster-wide (namespaces, nodes,
  ingressclasses, gatewayclasses) and writes gatewayclasses/status; a Role in each watched namespace for Services,
  EndpointSlices, ConfigMaps, Secrets (Traefik's TLS informers list them, `owner!=helm`), Ingresses and the
  Gateway API routes, and their status.
- No traffic leaves the machine: the version check and usage statistics are off, no ACME, no plugins; the
  browser reaches Traefik through `kubectl port-forward` on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from e2e_helpers import PSA_RESTRICTED, ROOT, wait_for

NAME = "traefik"
CLASS = "e2e-traefik"  # IngressClass and GatewayClass name
GATEWAY = "e2e-gateway"
WEB_PORT = 8000  # entry point "web"; the Gateway listener uses the same port (Traefik maps listeners by port)
PING_PORT = 9000
INGRESS_CONTROLLER = "traefik.io/ingress-controller"
GATEWAY_CONTROLLER = "traefik.io/gateway-controller"
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "airkube-e2e"}


def go_module_dir(module: str, version: str) -> Path:
    """Source dir of a Go module in the module cache (`go mod download`, from the Go module proxy)."""
    out = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], capture_output=True, text=True,
                         timeout=300, cwd="/tmp")
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or not info.get("Dir"):
        raise RuntimeError(f"go mod download {module}@{version} failed: {info.get('Error') or out.stderr}")
    return Path(info["Dir"])


def gateway_api_version(traefik_version: str) -> str:
    """The sigs.k8s.io/gateway-api version that Traefik's go.mod requires."""
    gomod = (go_module_dir("github.com/traefik/traefik/v3", traefik_version) / "go.mod").read_text()
    found = re.search(r"^\s*sigs\.k8s\.io/gateway-api (v\S+)", gomod, re.M)
    if not found:
        raise RuntimeError(f"sigs.k8s.io/gateway-api not required by Traefik {traefik_version}'s go.mod")
    return found.group(1)


def gateway_crd_files(version: str) -> list[Path]:
    """Standard-channel CRDs of the module (the ValidatingAdmissionPolicy beside them is not a CRD: left out)."""
    crd_dir = go_module_dir("sigs.k8s.io/gateway-api", version) / "config" / "crd" / "standard"
    files = sorted(p for p in crd_dir.glob("gateway.networking.k8s.io_*.yaml") if "_vap_" not in p.name)
    if not files:
        raise RuntimeError(f"no CRD YAML in {crd_dir}")
    return files


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "kubectl"), "--kubeconfig", str(kubeconfig), *args],
                            input=stdin, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _rules(with_status: bool = True) -> list[dict[str, Any]]:
    read = ["get", "list", "watch"]
    rules: list[dict[str, Any]] = [
        {"apiGroups": [""], "resources": ["services", "configmaps", "secrets"], "verbs": read},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": read},
        {"apiGroups": ["gateway.networking.k8s.io"],
         "resources": ["gateways", "httproutes", "grpcroutes", "tlsroutes", "referencegrants", "backendtlspolicies"],
         "verbs": read},
    ]
    if with_status:
        rules += [
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]},
            {"apiGroups": ["gateway.networking.k8s.io"],
             "resources": ["gateways/status", "httproutes/status", "grpcroutes/status", "tlsroutes/status"],
             "verbs": ["update"]},
        ]
    return rules


@dataclass
class Traefik:
    """Traefik in `namespace`, serving Ingresses of `watch` and Gateway API routes of `watch` + its own namespace."""

    kubeconfig: Path
    namespace: str
    watch: str  # the Airflow release namespace
    image: str
    created_crds: list[str] = field(default_factory=list)
    rbac_name: str = ""

    def __post_init__(self) -> None:
        self.rbac_name = f"{self.namespace}-{NAME}"

    # --- manifests ---------------------------------------------------------------------------------------------

    def args(self) -> list[str]:
        namespaces = f"{self.watch},{self.namespace}"
        return [
            f"--entryPoints.web.address=:{WEB_PORT}",
            f"--entryPoints.traefik.address=:{PING_PORT}",
            "--ping=true", "--ping.entryPoint=traefik",
            "--api.dashboard=false",  # the web UI assets are not in the Go module
            "--global.checkNewVersion=false", "--global.sendAnonymousUsage=false",
            "--log.level=INFO", "--accesslog=true",
            "--providers.kubernetesingress=true",
            f"--providers.kubernetesingress.namespaces={self.watch}",
            f"--providers.kubernetesingress.ingressClass={CLASS}",
            "--providers.kubernetesgateway=true",
            f"--providers.kubernetesgateway.namespaces={namespaces}",
        ]

    def manifests(self) -> list[dict[str, Any]]:
        ns, sa = self.namespace, NAME
        docs: list[dict[str, Any]] = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": PSA_RESTRICTED}},
            # the release's namespace, before the release: the Role below lives there (Release.install labels it too)
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.watch, "labels": PSA_RESTRICTED}},
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": ns}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": self.rbac_name, "labels": LABELS},
             "rules": [
                 {"apiGroups": [""], "resources": ["namespaces", "nodes"], "verbs": ["get", "list", "watch"]},
                 {"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses"],
                  "verbs": ["get", "list", "watch"]},
                 {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["gatewayclasses"],
                  "verbs": ["get", "list", "watch"]},
                 {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["gatewayclasses/status"],
                  "verbs": ["update"]},
             ]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": self.rbac_name, "labels": LABELS},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": self.rbac_name},
             "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]},
        ]
        for where in (self.watch, ns):
            docs += [
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": {"name": self.rbac_name, "namespace": where, "labels": LABELS}, "rules": _rules()},
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": self.rbac_name, "namespace": where, "labels": LABELS},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": self.rbac_name},
                 "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]},
            ]
        docs += [
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": NAME, "namespace": ns, "labels": LABELS},
             "spec": {"replicas": 1, "selector": {"matchLabels": LABELS}, "template": {
                 "metadata": {"labels": LABELS},
                 "spec": {
                     "serviceAccountName": sa, "terminationGracePeriodSeconds": 2,
                     "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                                         "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [{
                         "name": NAME, "image": self.image, "imagePullPolicy": "IfNotPresent", "args": self.args(),
                         "ports": [{"name": "web", "containerPort": WEB_PORT},
                                   {"name": "ping", "containerPort": PING_PORT}],
                         "readinessProbe": {"httpGet": {"path": "/ping", "port": "ping"}, "periodSeconds": 2},
                         "resources": {"requests": {"cpu": "20m", "memory": "64Mi"},
                                       "limits": {"memory": "256Mi", "ephemeral-storage": "64Mi"}},
                         "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                             "capabilities": {"drop": ["ALL"]}},
                         "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                     }],
                     "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}],
                 }}}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": NAME, "namespace": ns, "labels": LABELS},
             "spec": {"selector": LABELS, "ports": [{"name": "web", "port": WEB_PORT, "targetPort": "web"}]}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": CLASS, "labels": LABELS},
             "spec": {"controller": INGRESS_CONTROLLER}},
            {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
             "metadata": {"name": CLASS, "labels": LABELS}, "spec": {"controllerName": GATEWAY_CONTROLLER}},
            {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
             "metadata": {"name": GATEWAY, "namespace": ns, "labels": LABELS},
             "spec": {"gatewayClassName": CLASS, "listeners": [
                 {"name": "web", "protocol": "HTTP", "port": WEB_PORT, "allowedRoutes": {"namespaces": {
                     "from": "Selector",
                     "selector": {"matchLabels": {"kubernetes.io/metadata.name": self.watch}}}}}]}},
        ]
        return docs

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def install_crds(self, traefik_version: str) -> str:
        version = gateway_api_version(traefik_version)
        existing = set(kubectl(self.kubeconfig, "get", "crd", "-o", "name").split())
        for path in gateway_crd_files(version):
            name = yaml.safe_load(path.read_text())["metadata"]["name"]
            if f"customresourcedefinition.apiextensions.k8s.io/{name}" not in existing:
                self.created_crds.append(name)
            kubectl(self.kubeconfig, "apply", "--server-side", "-f", str(path))
        for name in self.created_crds:
            kubectl(self.kubeconfig, "wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")
        return version

    def apply(self) -> None:
        kubectl(self.kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump_all(self.manifests()))

    def wait_ready(self, core: client.CoreV1Api, timeout: float = 120) -> str:
        pod_name = ""

        def ready() -> bool:
            nonlocal pod_name
            for pod in core.list_namespaced_pod(self.namespace, label_selector="app.kubernetes.io/name=traefik").items:
                if pod.metadata.deletion_timestamp:
                    continue
                if any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []):
                    pod_name = pod.metadata.name
                    return True
            return False

        wait_for(ready, timeout, f"Traefik pod Ready in {self.namespace}")
        return pod_name

    def gateway_programmed(self, api: client.ApiClient, timeout: float = 90) -> None:
        custom = client.CustomObjectsApi(api)

        def programmed() -> bool:
            gw = custom.get_namespaced_custom_object("gateway.networking.k8s.io", "v1", self.namespace, "gateways",
                                                     GATEWAY)
            conds = (gw.get("status") or {}).get("conditions") or []
            return any(c.get("type") == "Programmed" and c.get("status") == "True" for c in conds)

        wait_for(programmed, timeout, f"Gateway {self.namespace}/{GATEWAY} Programmed by Traefik")

    def logs(self, tail: int = 50) -> str:
        try:
            return kubectl(self.kubeconfig, "-n", self.namespace, "logs", f"deploy/{NAME}", f"--tail={tail}")
        except RuntimeError as exc:
            return str(exc)

    def teardown(self) -> None:
        """Delete the namespace and the cluster-scoped objects made here (CRDs only if this run created them)."""
        for kind, name in (("clusterrolebinding", self.rbac_name), ("clusterrole", self.rbac_name),
                           ("ingressclass", CLASS)):
            subprocess.run([str(ROOT / ".venv" / "bin" / "kubectl"), "--kubeconfig", str(self.kubeconfig), "delete",
                            kind, name, "--ignore-not-found", "--wait=false"], capture_output=True, timeout=60)
        cmd = [str(ROOT / ".venv" / "bin" / "kubectl"), "--kubeconfig", str(self.kubeconfig)]
        subprocess.run([*cmd, "delete", "gatewayclass", CLASS, "--ignore-not-found", "--wait=false"],
                       capture_output=True, timeout=60)
        subprocess.run([*cmd, "delete", "namespace", self.namespace, "--ignore-not-found", "--wait=false"],
                       capture_output=True, timeout=60)
        for name in self.created_crds:
            subprocess.run([*cmd, "delete", "crd", name, "--ignore-not-found", "--wait=false"],
                           capture_output=True, timeout=60)
        self.created_crds = []
