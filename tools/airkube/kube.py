"""Kubernetes access shared by the whole toolkit: one way to build clients, label selectors, one polling loop
(`poll_until`) with thin per-kind waits on top of it (pytest-helm-charts' ``wait_for_objects_condition`` style),
pod exec and file upload, and the securityContext of the toolkit's own pods.
"""

from __future__ import annotations

import base64
import shlex
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from .errors import ConfigError, KubeError, WaitTimeout

T = TypeVar("T")
CHUNK = 60_000  # base64 characters per exec call (well below the 128 KiB argument limit)


# ---------------------------------------------------------------------------------------------------- clients
@dataclass(frozen=True)
class Clients:
    """Typed API handles sharing one ApiClient (one kubeconfig context)."""

    api: k8s.ApiClient

    @property
    def core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.api)

    @property
    def apps(self) -> k8s.AppsV1Api:
        return k8s.AppsV1Api(self.api)

    @property
    def batch(self) -> k8s.BatchV1Api:
        return k8s.BatchV1Api(self.api)

    @property
    def version(self) -> k8s.VersionApi:
        return k8s.VersionApi(self.api)


def connect(kubeconfig: str | Path | None = None, context: str | None = None, *, in_cluster: bool = True) -> Clients:
    """Clients for ``kubeconfig`` (default: $KUBECONFIG / ~/.kube/config) and ``context`` (default: current).

    Without either and without a kubeconfig, the in-cluster service account is used when ``in_cluster``.
    Raises ConfigError naming the kubeconfig/context and what to pass instead.
    """
    try:
        return Clients(k8s_config.new_client_from_config(config_file=str(kubeconfig) if kubeconfig else None,
                                                         context=context))
    except (k8s_config.ConfigException, OSError, TypeError) as exc:
        if kubeconfig or context or not in_cluster:
            raise ConfigError(f"cannot use kubeconfig {kubeconfig or '(default)'} / context {context or '(current)'}: "
                              f"{exc}") from exc
        try:
            k8s_config.load_incluster_config()
        except k8s_config.ConfigException:
            raise ConfigError(f"no Kubernetes credentials: {exc}. Set KUBECONFIG or pass --kubeconfig / "
                              "--kube-context.") from exc
        return Clients(k8s.ApiClient())


def api_answers(kubeconfig: str | Path | None, context: str | None, timeout: float = 5.0) -> bool:
    """True when the API server of that kubeconfig context answers /version."""
    try:
        clients = connect(kubeconfig, context, in_cluster=False)
    except ConfigError:
        return False
    try:
        clients.version.get_code(_request_timeout=timeout)
        return True
    except Exception:  # noqa: BLE001 - connection refused, TLS, 401/403 all mean "not usable"
        return False
    finally:
        clients.api.close()


def get_raw(api: k8s.ApiClient, path: str, query: Mapping[str, str] | None = None, timeout: float = 30.0) -> bytes:
    """GET ``path`` of the API server (e.g. ``/metrics``, ``/api/v1/nodes/<n>/proxy/stats/summary``) as bytes,
    with the client's credentials. KubeError naming the path on an API error."""
    try:
        resp = api.call_api(path, "GET", query_params=list((query or {}).items()), auth_settings=["BearerToken"],
                            _preload_content=False, _request_timeout=timeout)
    except ApiException as exc:
        raise KubeError(f"GET {path} answered {exc.status} {exc.reason}: {str(exc.body or '')[:300]}") from exc
    raw = resp[0] if isinstance(resp, tuple) else resp  # (data, status, headers) or the urllib3 response itself
    data: bytes = raw.data
    return data


# -------------------------------------------------------------------------------------------------- selectors
def selector(labels: Mapping[str, str]) -> str:
    """``{"a": "1", "b": "2"}`` → ``"a=1,b=2"`` (a label selector string)."""
    return ",".join(f"{k}={v}" for k, v in labels.items())


def release_selector(release: str, component: str | None = None) -> str:
    """Selector of a release's objects (``app.kubernetes.io/instance``), optionally of one component."""
    labels = {"app.kubernetes.io/component": component} if component else {}
    return selector({**labels, "app.kubernetes.io/instance": release})


def matches(labels_wanted: Mapping[str, str], labels: Mapping[str, str] | None) -> bool:
    """True when every wanted label is set (an empty selector matches nothing)."""
    labels = labels or {}
    return bool(labels_wanted) and all(labels.get(k) == v for k, v in labels_wanted.items())


def is_live(obj: Any) -> bool:
    """False for an object being deleted (``metadata.deletionTimestamp`` set): waits must ignore it."""
    return getattr(obj.metadata, "deletion_timestamp", None) is None


# ---------------------------------------------------------------------------------------------------- polling
def poll_until(predicate: Callable[[], T | None], timeout: float, what: str | Callable[[], str], *,
               interval: float = 1.0, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something truthy, and return that.

    After ``timeout`` seconds raise WaitTimeout("<what> after <timeout>s"); ``what`` may be a callable, evaluated
    then, to name the last state seen. The predicate raises to fail at once (a state that will not fix itself).
    """
    deadline = clock() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if clock() >= deadline:
            text = what() if callable(what) else what
            raise WaitTimeout(f"{text} after {timeout:.0f}s")
        sleep(interval)


def wait_for_objects(read: Callable[[str], T], names: Iterable[str], condition: Callable[[T], bool],
                     timeout: float, what: str, *, missing_ok: bool = False, interval: float = 1.0) -> list[T]:
    """The one generic wait: poll ``read(name)`` for every name until ``condition`` holds for all of them.

    ``missing_ok``: a 404 counts as "not yet" instead of an error. Returns the objects as last read.
    """
    wanted = list(names)
    pending: list[str] = list(wanted)

    def check() -> list[T] | None:
        objects: list[T] = []
        pending.clear()
        for name in wanted:
            try:
                obj = read(name)
            except ApiException as exc:
                if exc.status == 404 and missing_ok:
                    pending.append(name)
                    continue
                raise
            objects.append(obj)
            if not condition(obj):
                pending.append(name)
        return None if pending else objects

    return poll_until(check, timeout, lambda: f"{what}: still waiting for {', '.join(pending)}", interval=interval)


def create_or_update(create: Callable[[], Any], update: Callable[[], Any] | None = None) -> bool:
    """``create()`` (a kubernetes ``create_*`` call); when the object exists already (409), ``update()`` it
    (a ``patch_*``/``replace_*`` call), or keep it as it is when ``update`` is None. True when it was created."""
    try:
        create()
        return True
    except ApiException as exc:
        if exc.status != 409:
            raise
    if update is not None:
        update()
    return False


def ensure_namespace(core: k8s.CoreV1Api, name: str, labels: dict[str, str] | None = None) -> bool:
    """Create the namespace unless it exists (an existing one is kept as it is). True when it was created."""
    meta = k8s.V1ObjectMeta(name=name, labels=labels or None)
    return create_or_update(lambda: core.create_namespace(k8s.V1Namespace(metadata=meta)))


def wait_gone(read: Callable[[], Any], what: str, timeout: float) -> None:
    """Poll ``read()`` (a kubernetes ``read_*`` call) until it answers 404."""

    def gone() -> bool:
        try:
            read()
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return False

    poll_until(gone, timeout, f"{what} still exists")


def _waiting_reasons(pod: k8s.V1Pod) -> str:
    status = pod.status
    if status is None:
        return "no status yet"
    reasons = [f"{s.state.waiting.reason}: {s.state.waiting.message or ''}".strip(": ")
               for s in (status.init_container_statuses or []) + (status.container_statuses or [])
               if s.state and s.state.waiting]
    conditions = [c.message for c in (status.conditions or []) if c.status == "False" and c.message]
    return "; ".join([f"phase={status.phase}", *reasons, *conditions])


def pod_running(pod: k8s.V1Pod) -> bool:
    """Condition of `wait_pod_running`: Running; KubeError for a pod that ended (it will not start again)."""
    phase = pod.status.phase if pod.status else None
    if phase in ("Failed", "Succeeded"):
        raise KubeError(f"pod {pod.metadata.namespace}/{pod.metadata.name} ended before it ran: "
                        f"{_waiting_reasons(pod)}")
    return phase == "Running"


def pod_ready(pod: k8s.V1Pod) -> bool:
    """Ready condition True (and not being deleted)."""
    conditions = (pod.status.conditions if pod.status else None) or []
    return is_live(pod) and any(c.type == "Ready" and c.status == "True" for c in conditions)


def wait_pod_running(core: k8s.CoreV1Api, namespace: str, name: str, timeout: float, hint: str = "") -> k8s.V1Pod:
    """Wait until pod ``namespace/name`` is Running. WaitTimeout names its last state (and ``hint``)."""
    last: list[k8s.V1Pod] = []

    def read(pod_name: str) -> k8s.V1Pod:
        pod = core.read_namespaced_pod(pod_name, namespace)
        last[:] = [pod]
        return pod

    try:
        return wait_for_objects(read, [name], pod_running, timeout, f"pod {namespace}/{name} is not running",
                                interval=1.0)[0]
    except WaitTimeout as exc:
        state = f" ({_waiting_reasons(last[0])})" if last else ""
        raise WaitTimeout(f"{exc}{state}{'; ' + hint if hint else ''}") from None


def wait_ready_pod(core: k8s.CoreV1Api, namespace: str, label_selector: str, timeout: float,
                   hint: str = "") -> k8s.V1Pod:
    """The first live, Ready pod matching ``label_selector`` (pods being deleted are ignored)."""
    seen: list[k8s.V1Pod] = []

    def ready() -> k8s.V1Pod | None:
        pods = [p for p in core.list_namespaced_pod(namespace, label_selector=label_selector).items if is_live(p)]
        seen[:] = pods
        return next((p for p in pods if pod_ready(p)), None)

    def what() -> str:
        state = "; ".join(_waiting_reasons(p) for p in seen) or "no pod"
        return f"no ready pod {label_selector} in {namespace} ({state}){'; ' + hint if hint else ''}"

    return poll_until(ready, timeout, what, interval=2.0)


def deployment_available(obj: k8s.V1Deployment) -> bool:
    status = obj.status
    desired = obj.spec.replicas if obj.spec.replicas is not None else 1
    return status is not None and (status.available_replicas or 0) >= desired


def job_complete(obj: k8s.V1Job) -> bool:
    conditions = {c.type: c.status for c in ((obj.status.conditions if obj.status else None) or [])}
    if conditions.get("Failed") == "True":
        raise KubeError(f"job {obj.metadata.namespace}/{obj.metadata.name} failed")
    return conditions.get("Complete") == "True"


def wait_for_deployments_available(apps: k8s.AppsV1Api, namespace: str, names: Iterable[str],
                                   timeout: float) -> list[k8s.V1Deployment]:
    return wait_for_objects(lambda n: apps.read_namespaced_deployment(n, namespace), names, deployment_available,
                            timeout, f"Deployments in {namespace} not available", missing_ok=True)


def wait_for_jobs_complete(batch: k8s.BatchV1Api, namespace: str, names: Iterable[str],
                           timeout: float) -> list[k8s.V1Job]:
    return wait_for_objects(lambda n: batch.read_namespaced_job(n, namespace), names, job_complete,
                            timeout, f"Jobs in {namespace} not complete", missing_ok=True)


# ------------------------------------------------------------------------------------------ pod exec, upload
def exec_in_pod(core: k8s.CoreV1Api, namespace: str, pod: str, command: list[str],
                container: str | None = None) -> str:
    """Run ``command`` in a pod and return its stdout+stderr; KubeError with the output when it exits non-zero."""
    from kubernetes.stream import stream

    kwargs: dict[str, Any] = {"container": container} if container else {}
    resp = stream(core.connect_get_namespaced_pod_exec, pod, namespace, command=command, stderr=True, stdin=False,
                  stdout=True, tty=False, _preload_content=False, **kwargs)
    out: list[str] = []
    while resp.is_open():
        resp.update(timeout=5)
        if resp.peek_stdout():
            out.append(resp.read_stdout())
        if resp.peek_stderr():
            out.append(resp.read_stderr())
    resp.close()
    text = "".join(out)
    code = resp.returncode
    if code not in (0, None):
        shown = " ".join(command)[:200]
        raise KubeError(f"`{shown}` in pod {namespace}/{pod} exited {code}: {text.strip()[-2000:]}")
    return text


def upload_commands(payload: bytes, dest_b64: str) -> list[list[str]]:
    """Exec commands that write ``payload`` base64-encoded to ``dest_b64`` in chunks (the first truncates)."""
    text = base64.b64encode(payload).decode()
    cmds = [["sh", "-c", f": > {shlex.quote(dest_b64)}"]]
    for i in range(0, len(text), CHUNK):
        cmds.append(["sh", "-c", f"printf %s {shlex.quote(text[i:i + CHUNK])} >> {shlex.quote(dest_b64)}"])
    return cmds


def upload_bytes(core: k8s.CoreV1Api, namespace: str, pod: str, payload: bytes, dest_b64: str,
                 container: str | None = None) -> None:
    """Write ``payload`` base64-encoded to ``dest_b64`` in the pod (exec only: no stdin, no tar in the image)."""
    for cmd in upload_commands(payload, dest_b64):
        exec_in_pod(core, namespace, pod, cmd, container)


# ------------------------------------------------------------------------------------------- the toolkit's pods
def restricted_security() -> dict[str, Any]:
    """securityContext of every container airkube starts itself: non-root, nothing to escalate, read-only root."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
