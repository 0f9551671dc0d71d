"""P3: `helm upgrade --install --wait` of a fresh release to healthy (images present), then an unchanged upgrade."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airkube.helm import Helm, Target
from airkube.kube import wait_gone
from airkube.values.inputs import ValuesInput


@dataclass(frozen=True)
class InstallTiming:
    install_s: float
    upgrade_s: float
    # per pod of the fresh install: seconds after the first pod's creation when its containers started / it was
    # Ready (the migration Job's pod: when it finished) — where the install time goes
    timeline: dict[str, dict[str, float]] = field(default_factory=dict)


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


async def _install_wait(helm: Helm, values: dict, timeout: str) -> float:
    chart = await helm.chart()  # dependencies built before the clock starts
    t0 = time.monotonic()
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
                 namespace: str = "airkube-bench", release: str = "bench", timeout: str = "10m") -> InstallTiming:
    """Install into a namespace of its own (deleted before and after: a fresh database each time), upgrade it
    unchanged, then remove it again."""
    target = Target(release=release, namespace=namespace, kubeconfig=kubeconfig, kube_context=kube_context,
                    timeout=timeout)
    helm = Helm(target)
    values = ValuesInput(files=tuple(values_files)).merged()
    delete_namespace(core, namespace)
    try:
        install_s = asyncio.run(_install_wait(helm, values, timeout))
        timeline = install_timeline(core, namespace)
        upgrade_s = asyncio.run(_install_wait(helm, values, timeout))
    finally:
        try:
            asyncio.run(helm.uninstall(wait=True))
        finally:
            delete_namespace(core, namespace)
    return InstallTiming(install_s, upgrade_s, timeline)
