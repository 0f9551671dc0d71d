"""A real release with DAGs and logs on PVCs: smoke DAGs, helm test, faults (R1, R2), upgrades (R3), uninstall.

Tests run in file order against one release (installing Airflow costs minutes on 2 cores).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from e2e_helpers import ROOT, TIMINGS, Release, wait_for

NS = "e2e-airflow"  # never the user's `airflow` namespace of `make deploy`
RELEASE = "airflow"
SELECTOR = f"app.kubernetes.io/instance={RELEASE}"
AUTH_ERRORS = ("Signature verification failed", "Invalid auth token")


@pytest.fixture(scope="module")
def release(kubeconfig: Path) -> Release:
    rel = Release(RELEASE, NS, kubeconfig, [ROOT / "values" / "local.yaml"])
    TIMINGS["install_pvc_s"] = rel.install()
    return rel


def _secrets(core: client.CoreV1Api) -> dict[str, dict[str, str]]:
    found = core.list_namespaced_secret(NS, label_selector=SELECTOR).items
    return {s.metadata.name: dict(s.data or {}) for s in found if s.type != "helm.sh/release.v1"}


def _assert_smoke_ok(result: Any) -> None:
    from airkube.smoke.report import render

    render(result)
    assert result.ok, result.to_dict()


def _component_pods(core: client.CoreV1Api, component: str) -> list[client.V1Pod]:
    return core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/component={component},{SELECTOR}").items


def _logs_of(core: client.CoreV1Api, component: str) -> str:
    text = []
    for pod in _component_pods(core, component):
        for c in pod.spec.containers:
            try:
                text.append(core.read_namespaced_pod_log(pod.metadata.name, NS, container=c.name, tail_lines=2000))
            except client.ApiException:
                pass
    return "\n".join(text)


def _task_pods(core: client.CoreV1Api, dag_id: str | None = None) -> list[client.V1Pod]:
    selector = "kubernetes_executor=True" + (f",dag_id={dag_id}" if dag_id else "")
    return core.list_namespaced_pod(NS, label_selector=selector).items


def test_smoke_dags_pass(release: Release) -> None:
    """Every smoke DAG succeeds with its evidence; the log marker is read back after the worker pod is gone."""
    t0 = time.monotonic()
    result = release.smoke()
    TIMINGS["smoke_pvc_s"] = time.monotonic() - t0
    _assert_smoke_ok(result)
    by_id = {d.dag_id: d for d in result.dags}
    assert {"smoke_kpo_seed", "smoke_executor", "smoke_logs"} <= set(by_id), by_id.keys()


def test_each_task_pod_is_deleted_once(release: Release, core: client.CoreV1Api) -> None:
    """`kubernetesExecutor.skipRepeatedPodDeletes` (default): the watcher reports each finished pod several times
    (Succeeded, its deletion mark, DELETED) and the scheduler still sends one DELETE per pod."""
    logs = _logs_of(core, "scheduler")
    deletes = Counter(re.findall(r"Deleting pod (\S+) in namespace", logs))
    # the client's log text escapes quotes (pod_name=\'...\'): either form
    reports = Counter(re.findall(r"Changing state of KubernetesResults\(.*?pod_name=\\?'([^'\\]+)", logs))
    print(f"\n{len(deletes)} task pods deleted; DELETEs per pod {sorted(set(deletes.values()))}; "
          f"results per pod {sorted(set(reports.values()))}")
    assert len(deletes) >= 3, logs[-3000:]
    assert set(deletes.values()) == {1}, deletes
    assert reports and max(reports.values()) > 1, reports  # the repeats happened and were skipped


def test_helm_test_passes(release: Release, kubeconfig: Path) -> None:
    proc = subprocess.run([str(ROOT / ".venv/bin/helm"), "test", RELEASE, "-n", NS, "--kubeconfig", str(kubeconfig),
                           "--timeout", "5m"], capture_output=True, text=True, check=False)
    print(proc.stdout[-2000:], proc.stderr[-2000:])
    assert proc.returncode == 0, proc.stderr


def test_r1_scheduler_killed_mid_run(release: Release, core: client.CoreV1Api) -> None:
    """R1: 20 running mapped tasks (45 s each, so that all 20 overlap on 2 cores); delete the scheduler pod; all 20 succeed, no task pod left."""
    from e2e_api import api_session

    with api_session(release) as api:
        run_id = api.trigger_and_wait_running("smoke_sleep", conf={"count": 20, "seconds": 45}, running=20,
                                              timeout=600)
        sched = _component_pods(core, "scheduler")
        assert sched, "no scheduler pod"
        t0 = time.monotonic()
        for pod in sched:
            core.delete_namespaced_pod(pod.metadata.name, NS, grace_period_seconds=0)
        state = api.wait_run("smoke_sleep", run_id, timeout=900)
        took = time.monotonic() - t0
        tis = api.task_instances("smoke_sleep", run_id)
    print(f"\n[R1] scheduler killed with 20 tasks running; run {state} {took:.0f}s later")
    TIMINGS["r1_after_kill_s"] = took
    assert state == "success", tis
    assert sum(1 for ti in tis if ti["state"] == "success") == len(tis) >= 20
    wait_for(lambda: not _task_pods(core, "smoke_sleep"), 300, "smoke_sleep task pods to be deleted")


def test_r2_database_pod_deleted_mid_run(release: Release, core: client.CoreV1Api) -> None:
    """R2: delete the postgres pod mid-run; metadata survives on its PVC, components recover, the run completes."""
    from e2e_api import api_session

    with api_session(release) as api:
        before = api.dag_runs("smoke_executor")
        run_id = api.trigger_and_wait_running("smoke_sleep", conf={"count": 4, "seconds": 40}, running=4, timeout=600)
        pg = core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/name=postgres,{SELECTOR}").items
        assert pg, "no postgres pod"
        core.delete_namespaced_pod(pg[0].metadata.name, NS, grace_period_seconds=0)
        recovery = wait_for(lambda: api.healthy(), 600, "api-server health (metadatabase healthy) after the DB restart")
        state = api.wait_run("smoke_sleep", run_id, timeout=900)
        after = api.dag_runs("smoke_executor")
    print(f"\n[R2] postgres pod deleted; API healthy again after {recovery:.0f}s; run ended {state}")
    TIMINGS["r2_recovery_s"] = recovery
    assert state == "success"
    assert {r["dag_run_id"] for r in before} <= {r["dag_run_id"] for r in after}, "dag runs lost with the DB pod"


def test_r3_three_upgrades_keep_secrets_and_runs(release: Release, core: client.CoreV1Api) -> None:
    """R3 (and "upgrade twice unchanged"): secrets identical, api-server rolled once, DAGs still run, no JWT errors."""
    secrets_before = _secrets(core)
    assert secrets_before, "no Secrets of the release found"
    api_uid_before = {p.metadata.uid for p in _component_pods(core, "api-server")}
    durations = [release.install(), release.install()]  # unchanged values, twice
    unchanged_uids = {p.metadata.uid for p in _component_pods(core, "api-server")}
    assert unchanged_uids == api_uid_before, "an unchanged upgrade restarted the api-server"
    durations.append(release.install(extra_sets=["apiServer.podAnnotations.airkube/rolled=r3"]))

    def rolled() -> bool:  # the old pod may still be terminating right after the rollout
        uids = {p.metadata.uid for p in _component_pods(core, "api-server") if not p.metadata.deletion_timestamp}
        return bool(uids) and not (uids & api_uid_before)

    wait_for(rolled, 180, "the api-server to roll after a changed value")
    print(f"\n[R3] three upgrades took {', '.join(f'{d:.0f}s' for d in durations)}")
    TIMINGS["upgrade_unchanged_s"] = durations[0]
    assert _secrets(core) == secrets_before, "a Secret of the release changed across upgrades"
    result = release.smoke(dags=("smoke_executor", "smoke_logs"), fixtures=False)
    _assert_smoke_ok(result)
    for component in ("scheduler", "api-server"):
        logs = _logs_of(core, component)
        for needle in AUTH_ERRORS:
            assert needle not in logs, f"{component} logs contain {needle!r} after upgrades"


def test_uninstall_leaves_no_pods(release: Release, core: client.CoreV1Api) -> None:
    release.uninstall()
    wait_for(lambda: not core.list_namespaced_pod(NS, label_selector=SELECTOR).items, 300,
             "release pods to go away after uninstall")
    wait_for(lambda: not _task_pods(core), 120, "task pods to go away after uninstall")
    leftovers = [p.metadata.name for p in core.list_namespaced_pod(NS).items
                 if (p.metadata.labels or {}).get("app.kubernetes.io/instance") == RELEASE]
    assert not leftovers
