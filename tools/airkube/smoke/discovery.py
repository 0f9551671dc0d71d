"""What a smoke run finds out about the release before it starts: the api-server Service (and a port-forward
to it), the admin credentials, how DAG files reach the release (PVC, git-sync, image) and the delivery itself.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import SmokeError
from ..kube import release_selector
from .options import ALL_DAGS, DEFAULT_BASH_IMAGE, LOCAL_REGISTRY, SMOKE_DAGS_DIR, SmokeOptions
from .report import SmokeResult


def find_api_service(core: Any, namespace: str, release: str, name: str | None = None) -> tuple[str, int]:
    """Name and port of the api-server Service (labels ``component=api-server``, ``instance=<release>``)."""
    if name:
        svc = core.read_namespaced_service(name, namespace)
        return name, _service_port(svc)
    items = core.list_namespaced_service(namespace, label_selector=release_selector(release, "api-server")).items
    if not items:
        items = [
            s
            for s in core.list_namespaced_service(namespace, label_selector=release_selector(release)).items
            if "api-server" in s.metadata.name or "apiserver" in s.metadata.name
        ]
    if not items:
        raise SmokeError(
            f"no api-server Service of release {release!r} in namespace {namespace!r} "
            "(labels app.kubernetes.io/component=api-server, app.kubernetes.io/instance=<release>); "
            "is the release installed? Pass --api-service NAME to name it."
        )
    svc = sorted(items, key=lambda s: len(s.metadata.name))[0]
    return svc.metadata.name, _service_port(svc)


def _service_port(svc: Any) -> int:
    ports = svc.spec.ports or []
    for p in ports:
        if p.name in ("http", "api", "api-server"):
            return int(p.port)
    if not ports:
        raise SmokeError(f"Service {svc.metadata.name} has no ports")
    return int(ports[0].port)


def admin_credentials(
    core: Any, namespace: str, release: str, secret: str | None = None, username: str | None = None
) -> tuple[str, str]:
    """Username and password from the chart's auth Secret (``<fullname>-auth``: ``passwords.json`` or ``password``)."""
    if secret:
        candidates = [core.read_namespaced_secret(secret, namespace)]
    else:
        listed = core.list_namespaced_secret(namespace, label_selector=release_selector(release)).items
        candidates = [s for s in listed if s.metadata.name.endswith("-auth")]
    for sec in candidates:
        data = {k: base64.b64decode(v).decode() for k, v in (sec.data or {}).items()}
        found = credentials_from_secret_data(data, username)
        if found:
            return found
    raise SmokeError(
        f"no admin credentials found for release {release!r} in {namespace!r} (looked for a Secret named "
        "`*-auth` with `passwords.json` or `password`). Pass --auth-secret NAME, or --username/--password."
    )


def credentials_from_secret_data(data: dict[str, str], username: str | None = None) -> tuple[str, str] | None:
    """SimpleAuthManager passwords file ``{"user": "password"}`` (admin preferred) or a lone ``password`` key."""
    for key in ("passwords.json", "simple_auth_manager_passwords.json.generated"):
        if key in data:
            try:
                users = json.loads(data[key])
            except ValueError:
                continue
            if isinstance(users, dict) and users:
                user = username if username and username in users else (
                    "admin" if "admin" in users else next(iter(users)))
                return str(user), str(users[user])
    if "password" in data:
        return str(username or data.get("username", "admin")), data["password"]
    return None


DeliveryMode = Literal["pvc", "git", "bundle", "image"]
_MODES: dict[str, DeliveryMode] = {"pvc": "pvc", "git": "git", "bundle": "bundle", "image": "image", "none": "image"}


@dataclass
class DeliveryInfo:
    mode: DeliveryMode
    claim: str | None = None
    sub_path: str = ""
    git_repo: str | None = None


def detect_delivery(apps: Any, namespace: str, release: str) -> DeliveryInfo:
    """How the release's dag-processor gets DAGs: git bundles (dags.bundles: the bundle storage volume and
    checksum/bundles), git-sync container, a PVC at the dags mount, or the image."""
    deps = apps.list_namespaced_deployment(namespace, label_selector=release_selector(release, "dag-processor")).items
    if not deps:
        deps = [
            d
            for d in apps.list_namespaced_deployment(namespace, label_selector=release_selector(release)).items
            if "dag-processor" in d.metadata.name
        ]
    if not deps:
        raise SmokeError(f"no dag-processor Deployment of release {release!r} in {namespace!r}")
    spec = deps[0].spec.template.spec
    if "checksum/bundles" in (deps[0].spec.template.metadata.annotations or {}):
        return DeliveryInfo(mode="bundle")
    containers = list(spec.containers or []) + list(spec.init_containers or [])
    for c in containers:
        if "git-sync" in (c.name or "") or "git-sync" in (c.image or ""):
            repo = next((e.value for e in (c.env or []) if e.name in ("GITSYNC_REPO", "GIT_SYNC_REPO")), None)
            return DeliveryInfo(mode="git", git_repo=repo)
    claims = {v.name: v.persistent_volume_claim.claim_name for v in (spec.volumes or []) if v.persistent_volume_claim}
    for c in spec.containers or []:
        for m in c.volume_mounts or []:
            if m.name in claims and "dags" in m.mount_path:
                return DeliveryInfo(mode="pvc", claim=claims[m.name], sub_path=m.sub_path or "")
    return DeliveryInfo(mode="image")


def delivery_info(opts: SmokeOptions, apps: Any) -> DeliveryInfo:
    """The delivery mode asked for (``--delivery``), or the one detected on the release (``auto``)."""
    if opts.delivery == "auto":
        return detect_delivery(apps, opts.namespace, opts.release)
    return DeliveryInfo(mode=_MODES[opts.delivery], claim=opts.dags_claim)


def pod_names(core: Any, namespace: str, selector: str) -> list[str]:
    return [p.metadata.name for p in core.list_namespaced_pod(namespace, label_selector=selector).items]


def run_pods(core: Any, namespace: str, dag_id: str, run_id: str) -> list[Any]:
    """Live executor/KPO pods of one run (label ``dag_id``; run id from label or annotation)."""
    pods = core.list_namespaced_pod(namespace, label_selector=f"dag_id={dag_id}").items
    out = []
    for p in pods:
        ann = p.metadata.annotations or {}
        labels = p.metadata.labels or {}
        if ann.get("run_id") == run_id or labels.get("run_id") == run_id:
            out.append(p)
    return out


def default_bash_image(airflow_image: str | None) -> str:
    """The local images build ``airkube.local/bash:5.2`` next to ``airkube.local/airflow``; else Docker Hub's."""
    if airflow_image and airflow_image.startswith(LOCAL_REGISTRY + "/"):
        return f"{LOCAL_REGISTRY}/bash:5.2"
    return DEFAULT_BASH_IMAGE


@contextmanager
def api_endpoint(opts: SmokeOptions, core: Any) -> Iterator[str]:
    if opts.api_url:
        yield opts.api_url
        return
    from airkube.portforward import PortForward

    svc, port = find_api_service(core, opts.namespace, opts.release, opts.api_service)
    with PortForward(
        f"svc/{svc}", port, namespace=opts.namespace, kube_context=opts.kube_context, kubeconfig=opts.kubeconfig
    ) as pf:
        yield pf.url


def deliver(
    opts: SmokeOptions, info: DeliveryInfo, dag_ids: list[str], core: Any, apps: Any, console: Any, result: SmokeResult
) -> str | None:
    """Put the smoke DAG files where the release reads DAGs from. Returns the git commit for git delivery."""
    if opts.delivery == "none":
        result.notes.append("DAG delivery skipped (--delivery none): the DAG files must already be in place")
        return None
    if info.mode == "image":
        result.notes.append(
            "DAGs are baked into the image (no PVC, no git-sync): delivery skipped; the smoke DAGs of "
            "airkube/smoke/dags must be in the image's dags folder"
        )
        return None
    if info.mode == "pvc":
        from airkube.dags import push_dags

        exclude = [f"{d}.py" for d in ALL_DAGS if d not in dag_ids]
        pushed = push_dags(
            SMOKE_DAGS_DIR, namespace=opts.namespace, claim=info.claim or opts.dags_claim, release=opts.release,
            image=opts.push_image, sub_path=info.sub_path, exclude=exclude, core=core,
        )
        console.print(f"[bold]dags[/bold]: pushed {', '.join(pushed.files)} into PVC {pushed.claim}")
        return None
    # git (git-sync or git bundles: both follow the in-cluster git server's main)
    from airkube.smoke.gitserver import ensure_git_server, push_to_git_server

    server, pod = ensure_git_server(namespace=opts.namespace, image=opts.git_image, core=core, apps=apps)
    if info.git_repo and info.git_repo.rstrip("/") != server.url.rstrip("/"):
        result.notes.append(
            f"git-sync follows {info.git_repo}, not the in-cluster server {server.url}: the smoke DAGs must be in "
            "that repository (pushed nothing)"
        )
        return None
    sha = push_to_git_server(SMOKE_DAGS_DIR, server, pod, core=core)
    console.print(f"[bold]dags[/bold]: committed the smoke DAGs to {server.url} ({sha[:12]})")
    return sha
