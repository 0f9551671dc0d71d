"""Bare pods on the same image: the physical limit a KubernetesExecutor task is measured against."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from airkube.bench.podwatch import PodTimes, PodWatcher

BARE_COMMAND = ["python", "-c", "import airflow.sdk"]


@dataclass(frozen=True)
class BareRun:
    makespan_s: float  # first create call -> last pod seen Succeeded
    completions_s: list[float]  # per pod: seconds after the first create call when it was seen Succeeded
    latencies_s: list[float]  # per pod: its own create call -> Succeeded
    started_s: list[float]  # per pod: its own create call -> container startedAt (1 s resolution, clamped)


def bare_pod(name: str, image: str, run_label: str, command: list[str]) -> client.V1Pod:
    security = client.V1SecurityContext(
        allow_privilege_escalation=False, run_as_non_root=True, run_as_user=50000, run_as_group=0,
        capabilities=client.V1Capabilities(drop=["ALL"]), seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"airkube-bench": run_label}),
        spec=client.V1PodSpec(
            restart_policy="Never",
            automount_service_account_token=False,
            containers=[client.V1Container(name="base", image=image, image_pull_policy="IfNotPresent",
                                           command=command, security_context=security,
                                           env=[client.V1EnvVar(name="CONNECTION_CHECK_MAX_COUNT", value="0")])],
        ),
    )


def run_bare_pods(core: Any, namespace: str, image: str, count: int, timeout: float = 600.0,
                  command: list[str] | None = None) -> BareRun:
    """Create ``count`` pods at once and wait until all Succeeded; the pods are deleted afterwards."""
    run_label = uuid.uuid4().hex[:8]
    names = [f"airkube-bench-{run_label}-{i}" for i in range(count)]
    created: dict[str, float] = {}
    with PodWatcher(core, namespace, f"airkube-bench={run_label}") as watcher:
        t0 = time.time()
        try:
            for name in names:
                created[name] = time.time()
                core.create_namespaced_pod(namespace, bare_pod(name, image, run_label, command or BARE_COMMAND))
            if not watcher.wait_done(set(names), timeout):
                raise TimeoutError(f"bare pods not done after {timeout:.0f}s")
            pods = {p.name: p for p in watcher.snapshot()}
        finally:
            core.delete_collection_namespaced_pod(namespace, label_selector=f"airkube-bench={run_label}",
                                                  grace_period_seconds=0)
    failed = [n for n in names if pods[n].phase != "Succeeded"]
    if failed:
        raise RuntimeError(f"bare pods failed: {failed[:5]} (image {image}, command {command or BARE_COMMAND})")
    done = [pods[n].done_at or 0.0 for n in names]
    return BareRun(
        makespan_s=max(done) - t0,
        completions_s=sorted(d - t0 for d in done),
        latencies_s=[d - created[n] for d, n in zip(done, names)],
        started_s=[_started(pods[n], created[n]) for n in names],
    )


def _started(pod: PodTimes, created: float) -> float:
    if pod.started is None or pod.done_at is None:
        return 0.0
    return min(max(pod.started.timestamp() - created, 0.0), pod.done_at - created)
