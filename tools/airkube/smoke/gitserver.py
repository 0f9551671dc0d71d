"""An in-cluster git server for git-sync: ``git daemon`` in a Deployment + Service, DAGs committed by exec.

``ensure_git_server`` creates (idempotently) the Deployment and Service, waits for the pod and
``push_to_git_server`` commits a folder of DAG files into the bare repository ``/srv/git/<repo>.git`` on
branch ``main``. Point ``dags.gitSync.repo`` at the returned ``git://<svc>.<ns>.svc.cluster.local/<repo>.git``.

The image needs ``git``, ``sh``, ``tar`` and ``base64``: the local images build ``airkube.local/git-sync:v4.4.2``
with git inside; any image with git works (``--git-image``). The repository lives in an emptyDir: if the
server pod restarts, run ``airkube smoke`` (or ``push_to_git_server``) again. Served read-only (no
receive-pack) on port 9418, cluster-internal only. With ``networkPolicies.enabled`` add 9418 to
``networkPolicies.egressPorts``.

``ssh=True`` adds an sshd container (port 2222, run as the image's non-root git-sync user, a host key made per pod,
public keys only): ``ssh://git-sync@<svc>.<ns>.svc.cluster.local:2222/srv/git/<repo>.git``. ``authorize_ssh_key``
adds a client key, ``ssh_known_hosts_line`` reads the server's host key as a known_hosts line.
"""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airkube.dags import build_tar, collect_files
from airkube.errors import WaitTimeout
from airkube.kube import create_or_update, exec_in_pod, restricted_security, upload_bytes, wait_ready_pod

from ..errors import GitServerError

DEFAULT_GIT_IMAGE = "airkube.local/git-sync:v4.4.2"
DEFAULT_NAME = "airkube-git"
GIT_PORT = 9418
SSH_PORT = 2222
SSH_USER = "git-sync"  # the image's user 65533: a non-root sshd only logs in the user it runs as
SSH_DIR = "/tmp/ssh"
LABELS = {"app.kubernetes.io/name": "airkube-git", "app.kubernetes.io/managed-by": "airkube"}


@dataclass(frozen=True)
class GitServer:
    name: str
    namespace: str
    repo: str = "dags"

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    @property
    def url(self) -> str:
        return f"git://{self.host}:{GIT_PORT}/{self.repo}.git"

    @property
    def ssh_url(self) -> str:
        return f"ssh://{SSH_USER}@{self.host}:{SSH_PORT}/srv/git/{self.repo}.git"


# sshd as the image's non-root user: its own host key per pod, public keys only, nothing but git fetches
SSHD_SCRIPT = f"""set -eu
umask 077
mkdir -p {SSH_DIR}
ssh-keygen -q -t ed25519 -N '' -f {SSH_DIR}/host_ed25519
: > {SSH_DIR}/authorized_keys
cat > {SSH_DIR}/sshd_config <<EOF
Port {SSH_PORT}
HostKey {SSH_DIR}/host_ed25519
PidFile {SSH_DIR}/sshd.pid
AuthorizedKeysFile {SSH_DIR}/authorized_keys
AllowUsers {SSH_USER}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
EOF
exec /usr/sbin/sshd -D -e -f {SSH_DIR}/sshd_config
"""


def _sshd_container(image: str) -> dict[str, Any]:
    return {
        "name": "sshd",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", SSHD_SCRIPT],
        "ports": [{"name": "ssh", "containerPort": SSH_PORT, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": SSH_PORT}, "periodSeconds": 2},
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
        "securityContext": restricted_security(),
        "volumeMounts": [{"name": "repos", "mountPath": "/srv/git"}, {"name": "ssh-tmp", "mountPath": "/tmp"}],
    }


def deployment_manifest(name: str, namespace: str, image: str, ssh: bool = False) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(LABELS)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "airkube-git", "airkube/git-server": name}},
            "template": {
                "metadata": {"labels": {**LABELS, "airkube/git-server": name}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 2,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65533,
                        "runAsGroup": 65533,
                        "fsGroup": 65533,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "git",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["git"],
                            "args": [
                                "daemon",
                                "--export-all",
                                "--base-path=/srv/git",
                                "--reuseaddr",
                                "--informative-errors",
                                f"--port={GIT_PORT}",
                                "/srv/git",
                            ],
                            "env": [{"name": "HOME", "value": "/tmp"}],
                            "ports": [{"name": "git", "containerPort": GIT_PORT, "protocol": "TCP"}],
                            "readinessProbe": {"tcpSocket": {"port": GIT_PORT}, "periodSeconds": 2},
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "16Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                            "securityContext": restricted_security(),
                            "volumeMounts": [
                                {"name": "repos", "mountPath": "/srv/git"},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                        }
                    ],
                    "volumes": [{"name": "repos", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }
    if ssh:
        pod = manifest["spec"]["template"]["spec"]
        pod["containers"].append(_sshd_container(image))
        pod["volumes"].append({"name": "ssh-tmp", "emptyDir": {}})
    return manifest


def service_manifest(name: str, namespace: str, ssh: bool = False) -> dict[str, Any]:
    ports = [{"name": "git", "port": GIT_PORT, "targetPort": "git", "protocol": "TCP"}]
    if ssh:
        ports.append({"name": "ssh", "port": SSH_PORT, "targetPort": "ssh", "protocol": "TCP"})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(LABELS)},
        "spec": {
            "selector": {"app.kubernetes.io/name": "airkube-git", "airkube/git-server": name},
            "ports": ports,
        },
    }


def commit_script(repo: str, b64: str, message: str, base: str = "/srv/git", tmp: str = "/tmp") -> str:
    """Unpack the payload into a fresh work tree and commit it to ``main`` of the bare repo; print the sha."""
    r, b = shlex.quote(f"{base}/{repo}.git"), shlex.quote(b64)
    m = shlex.quote(message)
    work = shlex.quote(f"{tmp}/airkube-work-" + uuid.uuid4().hex[:8])
    return (
        "set -eu; "
        f"if [ ! -d {r} ]; then git init -q --bare {r}; git --git-dir={r} symbolic-ref HEAD refs/heads/main; fi; "
        f"rm -rf {work}; mkdir -p {work}; "
        f"base64 -d {b} | tar -xzf - -C {work}; "
        f"g() {{ git --git-dir={r} --work-tree={work} -c user.name=airkube -c user.email=airkube@localhost \"$@\"; }}; "
        "g add -A; "
        f"if g rev-parse -q --verify refs/heads/main >/dev/null && g diff --cached --quiet refs/heads/main; "
        "then :; "
        f"else g commit -q -m {m}; fi; "
        f"rm -rf {work} {b}; "
        f"git --git-dir={r} rev-parse refs/heads/main"
    )


def ensure_git_server(
    *,
    namespace: str,
    image: str = DEFAULT_GIT_IMAGE,
    name: str = DEFAULT_NAME,
    repo: str = "dags",
    core: Any = None,
    apps: Any = None,
    timeout: float = 180.0,
    ssh: bool = False,
) -> tuple[GitServer, str]:
    """Create the Deployment and Service if missing (``ssh``: with the sshd container, see the module doc);
    return the server and its running pod's name."""
    from kubernetes import client

    core = core or client.CoreV1Api()
    apps = apps or client.AppsV1Api()
    dep = deployment_manifest(name, namespace, image, ssh)
    svc = service_manifest(name, namespace, ssh)
    create_or_update(lambda: apps.create_namespaced_deployment(namespace, dep),
                     lambda: apps.patch_namespaced_deployment(name, namespace, dep))
    create_or_update(lambda: core.create_namespaced_service(namespace, svc),
                     lambda: core.patch_namespaced_service(name, namespace, svc))
    pod = wait_git_pod(core, namespace, name, timeout)
    return GitServer(name=name, namespace=namespace, repo=repo), pod


def wait_git_pod(core: Any, namespace: str, name: str, timeout: float) -> str:
    """Name of the git server's ready pod (GitServerError when it does not come up)."""
    try:
        pod = wait_ready_pod(core, namespace, f"airkube/git-server={name}", timeout,
                             hint="is the git image loaded into the cluster? (--git-image)")
    except WaitTimeout as exc:
        raise GitServerError(f"git server {namespace}/{name} not ready: {exc}") from exc
    return str(pod.metadata.name)


def push_to_git_server(
    src: Path,
    server: GitServer,
    pod: str,
    *,
    core: Any = None,
    message: str = "airkube smoke DAGs",
) -> str:
    """Commit the files of ``src`` to ``main``; return the commit sha (unchanged files: the current one)."""
    from kubernetes import client

    core = core or client.CoreV1Api()
    files = collect_files(Path(src))
    if not files:
        raise GitServerError(f"no files to push in {src}")
    b64 = f"/tmp/airkube-payload-{uuid.uuid4().hex[:8]}.b64"
    upload_bytes(core, server.namespace, pod, build_tar(Path(src), files), b64, container="git")
    out = exec_in_pod(core, server.namespace, pod, ["sh", "-c", commit_script(server.repo, b64, message)], "git")
    sha = out.strip().splitlines()[-1].strip() if out.strip() else ""
    if len(sha) != 40:
        raise GitServerError(f"commit in {server.namespace}/{pod} printed no sha: {out[-500:]}")
    return sha


def authorize_ssh_key(core: Any, server: GitServer, pod: str, public_key: str) -> None:
    """Let the holder of ``public_key`` (one OpenSSH ``ssh-ed25519 AAAA…`` line) fetch over ssh."""
    line = public_key.strip()
    if "\n" in line or not line.startswith("ssh-"):
        raise GitServerError(f"not one OpenSSH public key line: {line[:40]!r}")
    exec_in_pod(core, server.namespace, pod,
                ["sh", "-c", f"printf '%s\\n' {shlex.quote(line)} >> {SSH_DIR}/authorized_keys"], "sshd")


def ssh_known_hosts_line(core: Any, server: GitServer, pod: str) -> str:
    """The server's host key as a known_hosts line for its Service name and port: ``[host]:2222 ssh-ed25519 …``."""
    out = exec_in_pod(core, server.namespace, pod, ["cat", f"{SSH_DIR}/host_ed25519.pub"], "sshd").split()
    if len(out) < 2 or not out[0].startswith("ssh-"):
        raise GitServerError(f"git server {server.namespace}/{pod} has no ssh host key: {' '.join(out)[:200]}")
    return f"[{server.host}]:{SSH_PORT} {out[0]} {out[1]}"
