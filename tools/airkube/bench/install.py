"""P3: `helm upgrade --install --wait` of a fresh release to healthy (images present), the first smoke task green
after it, then an unchanged upgrade."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airkube.helm import Helm, Target
from airkube.kube import wait_gone
from airkube.values.inputs import ValuesInput

# The first smoke task: smoke_executor's first task instance. Its DAG file is pushed into the release's dags claim
# once `--wait` returns, as `make deploy` does (`airkube dags push`): "helm install → first green task" includes
# delivering the DAG.
FIRST_TASK_DAG = Path(__file__).resolve().parents[1] / "smoke" / "dags" / "smoke_executor.py"
FIRST_TASK_DAG_ID = "smoke_executor"
FIRST_TASK_ID = "start"


@dataclass(frozen=True)
class InstallTiming:
    install_s: float
    upgrade_s: float
    # per pod of the fresh install: seconds after the first pod's creation when its containers started / it was
    # Ready (the migration Job's pod: when it finished) — where the install time goes
    timeline: dict[str, dict[str, float]] = field(default_factory=dict)
    # seconds after the start of `helm install`: the smoke DAG known to the API / its first task instance `success`
    first_task: dict[str, float] = field(default_factory=dict)


def time_first_task(core: Any, target: Target, started: float, timeout: float = 600.0) -> dict[str, float]:
    """After the install: push the smoke DAG into the dags claim, wait for it in the API, unpause and trigger it,
    wait for its first task instance's ``success``. Seconds after ``started`` (time.monotonic() at the start of
    `helm install`)."""
    from airkube.bench.airflow_runs import airflow_api
    from airkube.dags import push_dags
    from airkube.errors import BenchError
    from airkube.kube import poll_until
    from airkube.smoke.runner import wait_parsed

    out: dict[str, float] = {}
    push_dags(FIRST_TASK_DAG, namespace=target.namespace, release=target.release, core=core)
    out["dag_pushed_s"] = round(time.monotonic() - started, 1)
    with airflow_api(core, target.namespace, target.release, str(target.kubeconfig) if target.kubeconfig else None,
                     target.kube_context) as api:
        wait_parsed(api, [FIRST_TASK_DAG_ID], timeout)
        out["dag_parsed_s"] = round(time.monotonic() - started, 1)
        api.set_paused(FIRST_TASK_DAG_ID, False)
        run_id = f"p3-{int(time.time() * 1000)}"
        api.trigger(FIRST_TASK_DAG_ID, run_id)
        out["triggered_s"] = round(time.monotonic() - started, 1)

        def first_done() -> str | None:
            for ti in api.task_instances(FIRST_TASK_DAG_ID, run_id):
                if ti.get("task_id") == FIRST_TASK_ID and ti.get("state") in ("success", "failed", "upstream_failed"):
                    return str(ti["state"])
            return None

        state = poll_until(first_done, timeout, f"{FIRST_TASK_DAG_ID}.{FIRST_TASK_ID} of run {run_id}", interval=0.2)
        if state != "success":
            raise BenchError(f"P3: {FIRST_TASK_DAG_ID}.{FIRST_TASK_ID} ended {state} in run {run_id}")
        out["first_task_success_s"] = round(time.monotonic() - started, 1)
    return out


def install_timeline(core: Any, namespace: str) -> dict[str, dict[str, float]]:
    pods = core.list_namespaced_pod(namespace).items
    if not pods:
        return {}
    t0 = min(p.metadata.creation_timestamp.timestamp() for p in pods)
    out: dict[str, dict[str, float]] = {}
    for pod in pods:
        labels = pod.metadata.labels or {}
        name = labels.get("app.kubernetes.io/component") or pod.metadata.name
        row: dict[str, float] = {"created": pod.metadata.creation_timestamp.timestamp() - t0}
        for cs in pod.status.init_container_statuses or []:
            term = cs.state.terminated if cs.state else None
            if term and term.finished_at:
                row[f"init {cs.name} done"] = term.finished_at.timestamp() - t0
        for cs in pod.status.container_statuses or []:
            state = cs.state
            started = (state.running and state.running.started_at) or (state.terminated and state.terminated.started_at)
            if started:
                row["started"] = started.timestamp() - t0
            if state.terminated and state.terminated.finished_at:
                row["finished"] = state.terminated.finished_at.timestamp() - t0
        for cond in pod.status.conditions or []:
            if cond.type == "Ready" and cond.status == "True" and cond.last_transition_time:
                row["ready"] = cond.last_transition_time.timestamp() - t0
        out[name] = {k: round(v, 1) for k, v in row.items()}
    return out


async def _install_wait(helm: Helm, values: dict, timeout: str, clock: list[float] | None = None) -> float:
    chart = await helm.chart()  # dependencies built before the clock starts
    t0 = time.monotonic()
    if clock is not None:
        clock.append(t0)
    # pyhelm3 passes --wait --wait-for-jobs: every Deployment/StatefulSet ready and the migration Job complete
    await helm.client.install_or_upgrade_release(
        helm.target.release, chart, values, namespace=helm.target.namespace, create_namespace=True,
        wait=True, timeout=timeout,
    )
    return time.monotonic() - t0


def delete_namespace(core: Any, namespace: str, timeout: float = 300.0) -> None:
    """Delete the bench's own namespace (PVCs of the StatefulSet included) and wait until it is gone."""
    from kubernetes.client.exceptions import ApiException

    try:
        core.delete_namespace(namespace)
    except ApiException as exc:
        if exc.status == 404:
            return
        raise
    wait_gone(lambda: core.read_namespace(namespace), f"namespace {namespace}", timeout)


def time_install(core: Any, kubeconfig: Path | None, kube_context: str | None, values_files: list[Path],
                 namespace: str = "airkube-bench", release: str = "bench", timeout: str = "10m",
                 first_task: bool = True) -> InstallTiming:
    """Install into a namespace of its own (deleted before and after: a fresh database each time), run the first
    smoke task (``first_task``: the values must keep DAGs on the chart's dags claim, as values/local.yaml does),
    upgrade it unchanged, then remove it again."""
    target = Target(release=release, namespace=namespace, kubeconfig=kubeconfig, kube_context=kube_context,
                    timeout=timeout)
    helm = Helm(target)
    values = ValuesInput(files=tuple(values_files)).merged()
    delete_namespace(core, namespace)
    try:
        started: list[float] = []
        install_s = asyncio.run(_install_wait(helm, values, timeout, started))
        timeline = install_timeline(core, namespace)
        first = time_first_task(core, target, started[0]) if first_task else {}
        upgrade_s = asyncio.run(_install_wait(helm, values, timeout))
    finally:
        try:
            asyncio.run(helm.uninstall(wait=True))
        finally:
            delete_namespace(core, namespace)
    return InstallTiming(install_s, upgrade_s, timeline, first)
