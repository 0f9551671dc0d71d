"""Wait for a release with the Kubernetes client: Deployments/StatefulSets ready, Jobs succeeded.

The readiness rules are pure functions of kubernetes model objects (unit-tested without a cluster); the
watcher polls the API, reports every change, and on failure or timeout collects the failing pods' events
and the last lines of each container's log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

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

    @property
    def label(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


def _conditions(status: Any) -> dict[str, Any]:
    return {c.type: c for c in (getattr(status, "conditions", None) or [])}


def deployment_state(obj: k8s.V1Deployment) -> WorkloadState:
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
                         dict(spec.selector.match_labels or {}))


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
    return WorkloadState("StatefulSet", obj.metadata.name, ready, desired, done, None,
                         dict(spec.selector.match_labels or {}))


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
    return WorkloadState("Job", obj.metadata.name, succeeded, desired, bool(done) and not failed, failed, selector)


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


def matches(selector: dict[str, str], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


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
        return [p for p in self.pods if matches(workload.selector, p.metadata.labels)]

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


@dataclass(frozen=True)
class Cluster:
    """Typed API handles for one kubeconfig context."""

    core: k8s.CoreV1Api
    apps: k8s.AppsV1Api
    batch: k8s.BatchV1Api

    @classmethod
    def connect(cls, kubeconfig: Path | None = None, context: str | None = None) -> "Cluster":
        api_client = k8s_config.new_client_from_config(
            config_file=str(kubeconfig) if kubeconfig else None, context=context
        )
        return cls(k8s.CoreV1Api(api_client), k8s.AppsV1Api(api_client), k8s.BatchV1Api(api_client))


def release_selector(release: str) -> str:
    return f"app.kubernetes.io/instance={release}"


def take_snapshot(cluster: Cluster, namespace: str, release: str) -> Snapshot:
    selector = release_selector(release)
    workloads: list[WorkloadState] = []
    workloads += [deployment_state(d) for d in cluster.apps.list_namespaced_deployment(namespace, label_selector=selector).items]
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


def diagnose(cluster: Cluster, namespace: str, pods: list[k8s.V1Pod], lines: int = LOG_LINES) -> list[PodDiagnosis]:
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
    cluster: Cluster,
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
    snapshot = Snapshot([], [])
    while True:
        try:
            snapshot = take_snapshot(cluster, namespace, release)
        except ApiException as exc:
            return WaitResult(False, clock() - start, snapshot, f"the Kubernetes API refused: {exc.status} {exc.reason}")
        on_update(snapshot)
        if snapshot.done:
            return WaitResult(True, clock() - start, snapshot)
        failures = snapshot.failures()
        elapsed = clock() - start
        if failures or elapsed >= timeout:
            if failures:
                reason = "; ".join(failures)
            elif not snapshot.workloads:
                reason = (f"no Deployment, StatefulSet or Job labelled {release_selector(release)} in namespace "
                          f"{namespace} after {timeout:.0f}s: is the release installed there?")
            else:
                pending = ", ".join(f"{w.label} {w.ready}/{w.desired}" for w in snapshot.workloads if not w.done)
                reason = f"timed out after {timeout:.0f}s waiting for {pending}"
            return WaitResult(False, elapsed, snapshot, reason,
                              diagnose(cluster, namespace, snapshot.unready_pods()))
        sleep(poll)
