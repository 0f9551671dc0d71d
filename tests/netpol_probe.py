"""Is NetworkPolicy really enforced? Pods that try TCP connections to each other, for any cluster the suites reach
(the local cluster's kube-router host process in tests/e2e/test_security.py, the kind nodes' kube-router DaemonSet in
tests/e2e_kind). Every pod passes Pod Security "restricted"; the image needs python3 (ours: the airflow image)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client

from airkube.kube import create_or_update, poll_until

ROOT = Path(__file__).resolve().parents[1]
PSA = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
       "pod-security.kubernetes.io/warn": "restricted"}
IMAGE = "airkube.local/airflow:3.3.2"  # has python3 and the kubernetes client
UID = 50000

# A TCP connect from inside a pod, as JSON: {"ok": bool, "detail": str, "seconds": float}
CONNECT = """
import json, socket, sys, time
t = time.monotonic()
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
    out = {"ok": True, "detail": "connected"}
except OSError as exc:
    out = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
out["seconds"] = round(time.monotonic() - t, 2)
print(json.dumps(out))
"""


def kubectl(kubeconfig: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / ".venv" / "bin" / "kubectl"), "--kubeconfig", str(kubeconfig), *args],
                          capture_output=True, text=True, timeout=timeout)


def psa_namespace(core: client.CoreV1Api, name: str, labels: dict[str, str] | None = None) -> None:
    """Create (or relabel) a namespace that enforces Pod Security "restricted"."""
    meta = client.V1ObjectMeta(name=name, labels={**PSA, **(labels or {})})
    create_or_update(lambda: core.create_namespace(client.V1Namespace(metadata=meta)),
                     lambda: core.patch_namespace(name, {"metadata": {"labels": meta.labels}}))


def delete_namespace(core: client.CoreV1Api, name: str) -> None:
    try:
        core.delete_namespace(name, grace_period_seconds=0)
    except client.ApiException as exc:
        if exc.status != 404:
            raise


def restricted_pod(name: str, labels: dict[str, str], command: list[str], image: str = IMAGE,
                   **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
        "spec": {
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "securityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": 0,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "main", "image": image, "imagePullPolicy": "IfNotPresent", "command": command,
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"},
                              "limits": {"memory": "128Mi", "ephemeral-storage": "64Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
            **spec,
        },
    }


def run_pod(core: client.CoreV1Api, ns: str, manifest: dict[str, Any], timeout: float = 120) -> client.V1Pod:
    core.create_namespaced_pod(ns, manifest)
    name = manifest["metadata"]["name"]

    def ready() -> bool:
        pod = core.read_namespaced_pod(name, ns)
        return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])

    poll_until(ready, timeout, f"pod {ns}/{name} Ready", interval=2)
    return core.read_namespaced_pod(name, ns)


def connect(kubeconfig: Path, ns: str, pod: str, host: str, port: int, timeout: float = 3) -> dict[str, Any]:
    result = kubectl(kubeconfig, "-n", ns, "exec", pod, "--", "python3", "-c", CONNECT, host, str(port),
                     str(timeout))
    assert result.returncode == 0, f"kubectl exec {ns}/{pod} failed: {result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def eventually(check: Callable[[], dict[str, Any]], want: bool, what: str, timeout: float = 45) -> dict[str, Any]:
    """Poll check() until its "ok" equals want (policies are programmed a moment after they are created)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got["ok"] == want or time.monotonic() > deadline:
            assert got["ok"] == want, f"{what}: expected ok={want}, got {got}"
            return got
        time.sleep(2)


def start_pods(core: client.CoreV1Api, ns: str, nodes: dict[str, str] | None = None) -> dict[str, str]:
    """A server on :8080 and two clients (app=client, app=stranger), optionally pinned to nodes (name → node);
    returns name → pod IP."""
    nodes = nodes or {}
    pin = {name: {"nodeName": node} for name, node in nodes.items()}
    serve = ["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", "/tmp"]
    server = restricted_pod("server", {"app": "server"}, serve,
                            volumes=[{"name": "tmp", "emptyDir": {"sizeLimit": "1Mi"}}], **pin.get("server", {}))
    server["spec"]["containers"][0]["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}]
    server["spec"]["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
    pods = {"server": run_pod(core, ns, server)}
    for name in ("client", "stranger"):
        pods[name] = run_pod(core, ns, restricted_pod(name, {"app": name}, ["sleep", "3600"], **pin.get(name, {})))
    return {name: pod.status.pod_ip for name, pod in pods.items()}


def deny_then_allow(kubeconfig: Path, net: client.NetworkingV1Api, ns: str, ips: dict[str, str],
                    say: Callable[[str], None]) -> None:
    """No policy: client → server connects. Default-deny: refused or dropped. Allow app=client: the client gets in,
    the stranger does not. Policies deleted: the stranger gets in again."""
    server_ip = ips["server"]

    def from_(pod: str) -> Callable[[], dict[str, Any]]:
        return lambda: connect(kubeconfig, ns, pod, server_ip, 8080)

    got = eventually(from_("client"), True, "no policy yet: client -> server:8080")
    say(f"no policy:       client -> server {server_ip}:8080 {got}")
    net.create_namespaced_network_policy(ns, {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "default-deny"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    got = eventually(from_("client"), False, "default-deny: client -> server:8080")
    say(f"default-deny:    client -> server {server_ip}:8080 DENIED {got}")
    assert got["seconds"] >= 2.5 or "refused" in got["detail"].lower(), got

    net.create_namespaced_network_policy(ns, {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-client"},
        "spec": {"podSelector": {"matchLabels": {"app": "server"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                              "ports": [{"port": 8080, "protocol": "TCP"}]}]}})
    got = eventually(from_("client"), True, "allow-client: client -> server:8080")
    say(f"allow app=client: client -> server {server_ip}:8080 {got}")
    got = eventually(from_("stranger"), False, "allow-client: stranger -> server:8080")
    say(f"allow app=client: stranger -> server {server_ip}:8080 DENIED {got}")

    net.delete_namespaced_network_policy("allow-client", ns)
    net.delete_namespaced_network_policy("default-deny", ns)
    got = eventually(from_("stranger"), True, "policies deleted: stranger -> server:8080")
    say(f"policies deleted: stranger -> server {server_ip}:8080 {got}")
