"""``airkube dags push``: copy DAG files into the dags PersistentVolumeClaim through a short-lived pod.

The pod mounts the claim, runs as the Airflow user (uid 50000, gid 0, non-root) and receives a tar archive
in base64 chunks over ``exec`` (no stdin half-close needed, works with every API server). Files are unpacked
into a staging directory on the same volume and then renamed into place one by one, so the dag-processor
never parses a half-written file. The pod is deleted afterwards, also on errors.

With a ReadWriteOnce claim that is already mounted (dag-processor), the pod is pinned to that pod's node.
"""

from __future__ import annotations

import io
import shlex
import tarfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airkube.kube import exec_in_pod, restricted_security, upload_bytes, wait_pod_running

from .errors import DagsPushError

DEFAULT_AIRFLOW_IMAGE = "apache/airflow:3.3.2"
SMOKE_DAGS_DIR = Path(__file__).parent / "smoke" / "dags"
GIT_ONLY_DAGS = frozenset({"smoke_git_sync.py"})


@dataclass
class PushResult:
    namespace: str
    claim: str
    files: list[str] = field(default_factory=list)
    pod: str = ""
    node: str | None = None


def collect_files(src: Path, exclude: Iterable[str] = ()) -> list[Path]:
    """DAG folder files to ship (relative), skipping caches and hidden files, sorted."""
    src = Path(src)
    excluded = set(exclude)
    if src.is_file():
        return [Path(src.name)] if src.name not in excluded else []
    out = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
            continue
        if path.suffix in (".pyc", ".pyo") or rel.name in excluded or str(rel) in excluded:
            continue
        out.append(rel)
    return out


def build_tar(src: Path, files: list[Path]) -> bytes:
    """A gzip'ed tar of ``files`` (relative to ``src``), owner 50000:0, readable by group and others."""
    base = Path(src) if Path(src).is_dir() else Path(src).parent
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for rel in files:
            info = tar.gettarinfo(str(base / rel), arcname=str(rel))
            info.uid, info.gid, info.uname, info.gname = 50000, 0, "", ""
            info.mode = 0o664
            with open(base / rel, "rb") as fh:
                tar.addfile(info, fh)
    return buf.getvalue()


def install_script(dest: str, b64: str, staging: str) -> str:
    """Unpack into ``staging`` (same volume), rename every file into ``dest``, clean up. Prints the files."""
    d, b, s = shlex.quote(dest), shlex.quote(b64), shlex.quote(staging)
    return (
        "set -eu; "
        f"mkdir -p {d} {s}; "
        f"base64 -d {b} | tar -xzf - -C {s} --no-same-owner; "
        f"cd {s}; "
        "find . -type f | while IFS= read -r f; do "
        f'mkdir -p "{dest}/$(dirname "$f")"; chmod 664 "$f"; mv -f "$f" "{dest}/$f"; echo "pushed $f"; '
        "done; "
        f"cd /; rm -rf {s} {b}"
    )


def push_pod_manifest(
    name: str, namespace: str, claim: str, image: str, node: str | None = None, sub_path: str = ""
) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": "dags", "mountPath": "/dags"}
    if sub_path:
        mount["subPath"] = sub_path
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "activeDeadlineSeconds": 900,
        "terminationGracePeriodSeconds": 1,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 50000,
            "runAsGroup": 0,
            "fsGroup": 0,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "push",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", "900"],
                "volumeMounts": [mount],
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "256Mi"}},
                "securityContext": restricted_security(),
            }
        ],
        "volumes": [{"name": "dags", "persistentVolumeClaim": {"claimName": claim}}],
    }
    if node:
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
                    ]
                }
            }
        }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "airkube", "app.kubernetes.io/component": "dags-push"},
        },
        "spec": spec,
    }


# --- cluster side ----------------------------------------------------------------------------------------
def find_dags_claim(core: Any, namespace: str, release: str | None = None) -> str:
    """The claim of the release's DAGs: a PVC whose name ends in ``-dags`` (release label preferred)."""
    claims = core.list_namespaced_persistent_volume_claim(namespace).items
    names = [c.metadata.name for c in claims if c.metadata.name.endswith("-dags")]
    if release:
        preferred = [n for n in names if n.startswith(release)]
        names = preferred or names
    if len(names) == 1:
        return names[0]
    raise DagsPushError(
        f"cannot tell the dags claim in namespace {namespace} (found {names or 'none'}): pass --claim NAME"
    )


def node_of_claim_user(core: Any, namespace: str, claim: str) -> str | None:
    """Node of a running pod that mounts ``claim`` (ReadWriteOnce volumes are bound to one node)."""
    for pod in core.list_namespaced_pod(namespace, field_selector="status.phase=Running").items:
        for vol in pod.spec.volumes or []:
            if vol.persistent_volume_claim and vol.persistent_volume_claim.claim_name == claim:
                return pod.spec.node_name
    return None


def release_airflow_image(core: Any, namespace: str, release: str | None = None) -> str | None:
    """Image of the release's scheduler (or any Airflow component) pod."""
    selectors = ["app.kubernetes.io/component=scheduler", "app.kubernetes.io/component=dag-processor"]
    for sel in selectors:
        if release:
            sel += f",app.kubernetes.io/instance={release}"
        for pod in core.list_namespaced_pod(namespace, label_selector=sel).items:
            for container in pod.spec.containers:
                if "airflow" in container.image:
                    return container.image
    return None


def push_dags(
    src: Path,
    *,
    namespace: str,
    claim: str | None = None,
    release: str | None = None,
    image: str | None = None,
    sub_path: str = "",
    dest: str = "",
    exclude: Iterable[str] = (),
    core: Any = None,
    timeout: float = 180.0,
) -> PushResult:
    """Copy ``src`` (a folder or one file) into the dags claim. Returns the files written."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = core or client.CoreV1Api()
    src = Path(src)
    if not src.exists():
        raise DagsPushError(f"{src} does not exist")
    files = collect_files(src, exclude)
    if not files:
        raise DagsPushError(f"no files to push in {src}")
    claim = claim or find_dags_claim(core, namespace, release)
    image = image or release_airflow_image(core, namespace, release) or DEFAULT_AIRFLOW_IMAGE
    node = node_of_claim_user(core, namespace, claim)
    name = f"airkube-dags-push-{uuid.uuid4().hex[:8]}"
    result = PushResult(namespace=namespace, claim=claim, pod=name, node=node)
    core.create_namespaced_pod(namespace, push_pod_manifest(name, namespace, claim, image, node, sub_path))
    try:
        wait_pod_running(core, namespace, name, timeout,
                         hint="is the claim bound and the image present on the node?")
        token = uuid.uuid4().hex[:8]
        b64 = f"/dags/.airkube-push-{token}.b64"
        upload_bytes(core, namespace, name, build_tar(src, files), b64)
        target = "/dags/" + dest.strip("/") if dest.strip("/") else "/dags"
        out = exec_in_pod(core, namespace, name, ["sh", "-c", install_script(target, b64, f"/dags/.airkube-staging-{token}")])
        result.files = [line.split(" ", 1)[1].removeprefix("./") for line in out.splitlines() if line.startswith("pushed ")]
    finally:
        try:
            core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        except ApiException:
            pass
    return result
