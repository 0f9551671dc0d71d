"""Wait for a release: Deployments/StatefulSets ready, Jobs succeeded (polling with `airkube.kube.poll_until`).

The readiness rules are pure functions of kubernetes model objects (unit-tested without a cluster); the
watcher polls the API, reports every change, and on failure or timeout collects the failing pods' events
and the last lines of each container's log.

Only pods of the current rollout count: a pod being deleted (deletionTimestamp set), a pod of an older
ReplicaSet / StatefulSet revision, or a pod owned by an earlier object of the same name (a release uninstalled
a moment ago) can neither fail nor satisfy the wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from .errors import WaitTimeout
from .kube import Clients, is_live, matches, poll_until, release_selector

# container states that will not fix themselves: fail at once instead of waiting for the timeout
FATAL_WAITING_REASONS = frozenset({
    "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
})
CRASHLOOP_RESTARTS = 5  # CrashLoopBackOff with at least this many restarts is a failure
LOG_LINES = 30


@dataclass(frozen=True)
class WorkloadState:
    kind: str  # Deployment | StatefulSet | Job
    name: str
    ready: int
    desired: int
    done: bool
    failed: str | None = None  # why it can no longer become ready
    selector: dict[str, str] = field(default_factory=dict, compare=False)
    # uids a pod of the current rollout is owned by (None: no owner check, e.g. objects without uid)
    owners: frozenset[str] | None = field(default=None, compare=False)
    revision: dict[str, str] = field(default_factory=dict, compare=False)  # extra labels of current pods

    def owns(self, pod: k8s.V1Pod) -> bool:
        """True for a live pod of this workload's current rollout."""
        if not is_live(pod) or not matches(self.selector, pod.metadata.labels):
            return False
        if self.revision and not all((pod.metadata.labels or {}).get(k) == v for k, v in self.revision.items()):
            return False
        if self.owners is None:
            return True
        return any(ref.uid in self.owners for ref in pod.metadata.owner_references or [])

    @property
    def label(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


def _conditions(status: Any) -> dict[str, Any]:
    return {c.type: c for c in (getattr(status, "conditions", None) or [])}


REVISION = "deployment.kubernetes.io/revision"


def current_replicaset_uids(obj: k8s.V1Deployment, replicasets: list[k8s.V1ReplicaSet]) -> frozenset[str] | None:
    """The uid of the Deployment's current ReplicaSet (same revision annotation; else the newest revision).

    None when the Deployment has no uid (an object built by hand); empty when no ReplicaSet exists yet.
    """
    uid = obj.metadata.uid
    if not uid:
        return None
    owned = [rs for rs in replicasets if any(ref.uid == uid for ref in rs.metadata.owner_references or [])]
    if not owned:
        return frozenset()
    wanted = (obj.metadata.annotations or {}).get(REVISION)
    current = [rs for rs in owned if (rs.metadata.annotations or {}).get(REVISION) == wanted] if wanted else []
    if not current:
        newest = max(int((rs.metadata.annotations or {}).get(REVISION, "0") or 0) for rs in owned)
        current = [rs for rs in owned if int((rs.metadata.annotations or {}).get(REVISION, "0") or 0) == newest]
    return frozenset(rs.metadata.uid for rs in current)


def deployment_state(obj: k8s.V1Deployment, replicasets: list[k8s.V1ReplicaSet] | None = None) -> WorkloadState:
    spec, status = obj.spec, obj.status or k8s.V1DeploymentStatus()
    desired = spec.replicas if spec.replicas is not None else 1
    ready = status.ready_replicas or 0
    observed = (status.observed_generation or 0) >= (obj.metadata.generation or 0)
    done = (
        observed
        and (status.updated_replicas or 0) >= desired
        and (status.available_replicas or 0) >= desired
        and ready >= desired
        and (status.replicas or 0) <= desired  # no pods of the old ReplicaSet left
    )
    progressing = _conditions(status).get("Progressing")
    failed = None
    if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        failed = f"rollout exceeded its progress deadline: {progressing.message}"
    return WorkloadState("Deployment", obj.metadata.name, ready, desired, done and not failed, failed,
                         dict(spec.selector.match_labels or {}),
                         current_replicaset_uids(obj, replicasets) if replicasets is not None else None)


def statefulset_state(obj: k8s.V1StatefulSet) -> WorkloadState:
    spec, status = obj.spec, obj.status or k8s.V1StatefulSetStatus(replicas=0)
    desired = spec.replicas if spec.replicas is not None else 1
    ready = status.ready_replicas or 0
    observed = (status.observed_generation or 0) >= (obj.metadata.generation or 0)
    strategy = getattr(spec.update_strategy, "type", None) or "RollingUpdate"
    updated = strategy == "OnDelete" or (
        (status.updated_replicas or 0) >= desired
        and (not status.update_revision or status.current_revision == status.update_revision or desired == 0)
    )
    done = observed and ready >= desired and updated
    revision = {"controller-revision-hash": status.update_revision} if status.update_revision else {}
    return WorkloadState("StatefulSet", obj.metadata.name, ready, desired, done, None,
                         dict(spec.selector.match_labels or {}),
                         frozenset({obj.metadata.uid}) if obj.metadata.uid else None, revision)


def job_state(obj: k8s.V1Job) -> WorkloadState:
    spec, status = obj.spec, obj.status or k8s.V1JobStatus()
    desired = spec.completions if spec.completions is not None else 1
    succeeded = status.succeeded or 0
    conditions = _conditions(status)
    failed = None
    if (c := conditions.get("Failed")) is not None and c.status == "True":
        failed = f"job failed: {c.reason or ''} {c.message or ''}".strip()
    done = (c := conditions.get("Complete")) is not None and c.status == "True" or succeeded >= desired
    selector = dict(spec.selector.match_labels or {}) if spec.selector else {}
    if not selector and obj.metadata.uid:
        selector = {"batch.kubernetes.io/controller-uid": obj.metadata.uid}
    return WorkloadState("Job", obj.metadata.name, succeeded, desired, bool(done) and not failed, failed, selector,
                         frozenset({obj.metadata.uid}) if obj.metadata.uid else None)


def pod_problem(pod: k8s.V1Pod) -> str | None:
    """Why this pod cannot become ready by itself (None: still fine or still starting)."""
    status = pod.status
    if status is None:
        return None
    if status.phase == "Failed" and (pod.spec.restart_policy or "Always") != "Never":
        return f"pod {pod.metadata.name} failed: {status.reason or ''} {status.message or ''}".strip()
    for cs in (status.init_container_statuses or []) + (status.container_statuses or []):
        waiting = cs.state.waiting if cs.state else None
        if waiting is None:
            continue
        if waiting.reason in FATAL_WAITING_REASONS:
            return f"pod {pod.metadata.name} container {cs.name}: {waiting.reason}: {waiting.message or ''}".strip()
        if waiting.reason == "CrashLoopBackOff" and (cs.restart_count or 0) >= CRASHLOOP_RESTARTS:
            return f"pod {pod.metadata.name} container {cs.name} keeps crashing ({cs.restart_count} restarts)"
    return None


def pod_is_ready(pod: k8s.V1Pod) -> bool:
    if pod.status is None:
        return False
    if pod.status.phase == "Succeeded":
        return True
    ready = _conditions(pod.status).get("Ready")
    return ready is not None and ready.status == "True"


@dataclass
class Snapshot:
    workloads: list[WorkloadState]
    pods: list[k8s.V1Pod]

    @property
    def done(self) -> bool:
        return bool(self.workloads) and all(w.done for w in self.workloads)

    def failures(self) -> list[str]:
        reasons = [f"{w.label}: {w.failed}" for w in self.workloads if w.failed]
        for w in self.workloads:
            if w.done:
                continue
            for pod in self.pods_of(w):
                if w.kind == "Job" and pod.status is not None and pod.status.phase == "Failed":
                    continue  # the Job's backoffLimit decides; Job.failed reports it
                if (reason := pod_problem(pod)) is not None:
                    reasons.append(f"{w.label}: {reason}")
        return reasons

    def pods_of(self, workload: WorkloadState) -> list[k8s.V1Pod]:
        """Live pods of the workload's current rollout (terminating and older pods are left out)."""
        return [p for p in self.pods if workload.owns(p)]

    def unready_pods(self) -> list[k8s.V1Pod]:
        """Pods of workloads that are not done and that are themselves not ready: what to diagnose."""
        seen: dict[str, k8s.V1Pod] = {}
        for w in self.workloads:
            if w.done:
                continue
            for pod in self.pods_of(w):
                if not pod_is_ready(pod):
                    seen[pod.metadata.name] = pod
        return list(seen.values())


# ---------------------------------------------------------------------------------------------- API access


def take_snapshot(cluster: Clients, namespace: str, release: str) -> Snapshot:
    selector = release_selector(release)
    workloads: list[WorkloadState] = []
    replicasets = cluster.apps.list_namespaced_replica_set(namespace, label_selector=selector).items
    workloads += [deployment_state(d, replicasets)
                  for d in cluster.apps.list_namespaced_deployment(namespace, label_selector=selector).items]
    workloads += [statefulset_state(s) for s in cluster.apps.list_namespaced_stateful_set(namespace, label_selector=selector).items]
    for job in cluster.batch.list_namespaced_job(namespace, label_selector=selector).items:
        if any(ref.kind == "CronJob" for ref in job.metadata.owner_references or []):
            continue
        workloads.append(job_state(job))
    pods = cluster.core.list_namespaced_pod(namespace).items
    return Snapshot(sorted(workloads, key=lambda w: (w.kind, w.name)), pods)


@dataclass(frozen=True)
class PodDiagnosis:
    pod: str
    phase: str
    events: list[str]
    logs: dict[str, list[str]]  # container -> last lines


def diagnose(cluster: Clients, namespace: str, pods: list[k8s.V1Pod], lines: int = LOG_LINES) -> list[PodDiagnosis]:
    result = []
    for pod in pods:
        name = pod.metadata.name
        try:
            events = cluster.core.list_namespaced_event(
                namespace, field_selector=f"involvedObject.name={name},involvedObject.kind=Pod"
            ).items
        except ApiException:
            events = []
        event_lines = [
            f"{e.type or ''} {e.reason or ''}: {e.message or ''}".strip()
            for e in sorted(events, key=lambda e: str(e.last_timestamp or e.event_time or ""))
        ]
        logs: dict[str, list[str]] = {}
        containers = [c.name for c in (pod.spec.init_containers or [])] + [c.name for c in pod.spec.containers]
        for container in containers:
            try:
                text = cluster.core.read_namespaced_pod_log(name, namespace, container=container, tail_lines=lines)
            except ApiException as exc:
                text = f"(no log: {exc.reason})"
            logs[container] = (text or "").splitlines()[-lines:]
        phase = pod.status.phase if pod.status else "Unknown"
        result.append(PodDiagnosis(name, phase or "Unknown", event_lines, logs))
    return result


@dataclass
class WaitResult:
    ok: bool
    seconds: float
    snapshot: Snapshot
    reason: str = ""
    diagnoses: list[PodDiagnosis] = field(default_factory=list)


def wait_for_release(
    cluster: Clients,
    namespace: str,
    release: str,
    timeout: float,
    on_update: Callable[[Snapshot], None] = lambda s: None,
    poll: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Poll until every workload of the release is done, one fails, or `timeout` seconds pass."""
    start = clock()
    last = Snapshot([], [])

    def settled() -> WaitResult | None:
        nonlocal last
        try:
            last = take_snapshot(cluster, namespace, release)
        except ApiException as exc:
            return WaitResult(False, clock() - start, last, f"the Kubernetes API refused: {exc.status} {exc.reason}")
        on_update(last)
        if last.done:
            return WaitResult(True, clock() - start, last)
        if failures := last.failures():
            return WaitResult(False, clock() - start, last, "; ".join(failures),
                              diagnose(cluster, namespace, last.unready_pods()))
        return None

    try:
        return poll_until(settled, timeout, "release not ready", interval=poll, clock=clock, sleep=sleep)
    except WaitTimeout:
        if not last.workloads:
            reason = (f"no Deployment, StatefulSet or Job labelled {release_selector(release)} in namespace "
                      f"{namespace} after {timeout:.0f}s: is the release installed there?")
        else:
            pending = ", ".join(f"{w.label} {w.ready}/{w.desired}" for w in last.workloads if not w.done)
            reason = f"timed out after {timeout:.0f}s waiting for {pending}"
        return WaitResult(False, clock() - start, last, reason, diagnose(cluster, namespace, last.unready_pods()))
