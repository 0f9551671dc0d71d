"""Trigger a DAG through the REST API and time it, with the pods the KubernetesExecutor created for it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airkube.bench.podwatch import PodTimes, PodWatcher
from airkube.errors import WaitTimeout
from airkube.kube import poll_until
from airkube.smoke.api import AirflowClient


@dataclass
class DagTiming:
    dag_id: str
    run_id: str
    total_s: float  # trigger call -> run seen in state success (client clock)
    state: str
    task_instances: list[dict[str, Any]] = field(default_factory=list)
    pods: list[PodTimes] = field(default_factory=list)
    t0: float = 0.0  # client wall clock of the trigger call

    def breakdown(self) -> dict[str, float]:
        """Seconds per phase for a single-task run (see docs/benchmarks.md for the definitions).

        Server timestamps (TI ``queued_when``/``start_date``/``end_date``) and client timestamps (trigger call,
        pod first seen by the watch, run seen ``success``) share one clock on the local cluster. The container's
        ``startedAt`` has 1 s resolution, so it is clamped between the pod's creation and the task's start.
        """
        ti = self.task_instances[0]
        pod = self.pods[0] if self.pods else None
        queued = _ts(ti.get("queued_when"))
        start = _ts(ti.get("start_date"))
        end = _ts(ti.get("end_date"))
        seen = pod.seen_at if pod else queued
        container = pod.started.timestamp() if pod and pod.started else seen
        container = min(max(container, seen), start)
        parts = {
            "trigger→queued": queued - self.t0,
            "queued→pod created": seen - queued,
            "pod created→container started": container - seen,
            "container started→task running": start - container,
            "task running→finished": end - start,
            "finished→state recorded": self.t0 + self.total_s - end,
        }
        return {k: round(v, 3) for k, v in parts.items()}

    def completions_s(self) -> list[float]:
        """Seconds after the trigger when each task instance ended (fan-out curve)."""
        return sorted(_ts(ti.get("end_date")) - self.t0 for ti in self.task_instances if ti.get("end_date"))


def _ts(value: str | None) -> float:
    if not value:
        raise ValueError("task instance is missing a timestamp")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@contextlib.contextmanager
def airflow_api(core: Any, namespace: str, release: str, kubeconfig: str | None, kube_context: str | None,
                timeout: float = 30.0) -> Iterator[AirflowClient]:
    """A logged-in REST client of the release's api-server (through a port-forward unless the smoke options say
    otherwise), with the admin credentials of the chart's auth Secret."""
    from airkube.smoke.discovery import admin_credentials, api_endpoint
    from airkube.smoke.options import SmokeOptions

    opts = SmokeOptions(namespace=namespace, release=release, kubeconfig=kubeconfig, kube_context=kube_context)
    with api_endpoint(opts, core) as url:
        user, password = admin_credentials(core, namespace, release)
        api = AirflowClient(url, user, password, timeout=timeout)
        api.login()
        yield api


def time_dag_run(api: AirflowClient, core: Any, namespace: str, dag_id: str, timeout: float = 900.0,
                 poll: float = 0.2) -> DagTiming:
    run_id = f"bench-{int(time.time() * 1000)}"  # a valid label value: the pods carry it unchanged
    with PodWatcher(core, namespace, f"dag_id={dag_id}") as watcher:
        t0 = time.time()
        api.trigger(dag_id, run_id)
        state = ""

        def ended() -> bool:
            nonlocal state
            state = api.get_run(dag_id, run_id).get("state", "")
            return state in ("success", "failed")

        with contextlib.suppress(WaitTimeout):
            poll_until(ended, timeout, f"{dag_id} run {run_id}", interval=poll)
        total = time.time() - t0
        pods = [p for p in watcher.snapshot() if p.labels.get("run_id") == run_id]
    if state != "success":
        raise RuntimeError(f"{dag_id} run {run_id} ended in state {state or 'timeout'} after {total:.0f}s")
    tis = api.task_instances(dag_id, run_id)
    return DagTiming(dag_id, run_id, total, state, tis, pods, t0)


STARTUP_FIELDS = ("bundle_prepare_ms", "dag_file_parse_ms")


def startup_parse_ms(api: AirflowClient, dag_id: str, run_id: str, task_id: str, try_number: int = 1
                     ) -> dict[str, float]:
    """Airflow's own split of a task's start-up after RUNNING: ``bundle_prepare_ms`` (the bundle at the run's
    version made ready in the task pod: a git fetch for a GitDagBundle) and ``dag_file_parse_ms``, structured
    fields of the task runner's "Worker startup parse complete" log event. Empty when the log has no such event."""
    from urllib.parse import quote

    path = (f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
            f"{quote(task_id, safe='')}/logs/{try_number}")
    _, data = api.request("GET", path, params={"full_content": True})
    for item in (data.get("content", []) if isinstance(data, dict) else []):
        if isinstance(item, dict) and "bundle_prepare_ms" in item:
            return {k: float(item[k]) for k in STARTUP_FIELDS if k in item}
    return {}
