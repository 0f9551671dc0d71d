"""Issue 10 on the live cluster: one release (namespace e2e-production, NetworkPolicies on, PSA restricted) with
the production keys switched on, reused by every check below (installing Airflow costs minutes on 2 cores).

- PodDisruptionBudget: 2 scheduler replicas, minAvailable 1: the Eviction API evicts the first pod and refuses
  the second with HTTP 429;
- HPA (autoscaling/v2) on the api-server: accepted, its scale target resolved (AbleToScale/SucceededGetScale).
  No metrics-server runs on the local cluster, so ScalingActive stays False (FailedGetResourceMetric): printed,
  not hidden;
- airflowLocalSettings: a pod_mutation_hook label on a real task pod; workers.podTemplate: the chart's own
  default template plus a label and an env value replaces the default, seen on the same task pod (which
  succeeded);
- extraContainers: a sidecar running next to each scheduler;
- cleanup: `kubectl create job --from=cronjob/...` for the database (a DAG run and audit-log rows made older
  than the cutoff are gone, newer ones stay) and for the log files on the logs PVC (old files and their empty
  directories gone, new files and the real task log stay).
"""

from __future__ import annotations

import copy
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, watch

from airkube.kube import exec_in_pod, pod_ready, poll_until, wait_for_jobs_complete
from e2e_helpers import ROOT, TIMINGS, Release, wait_for

NS = "e2e-production"
RELEASE = "airflow"
SELECTOR = f"app.kubernetes.io/instance={RELEASE}"
HOOK_LABEL = ("airkube.io/mutated", "pod-mutation-hook")
TEMPLATE_LABEL = ("airkube.io/template", "override")
TEMPLATE_ENV = ("AIRKUBE_TEMPLATE", "override")
LOCAL_SETTINGS = f'''
def pod_mutation_hook(pod):
    """Applied by the scheduler to every task pod it builds."""
    pod.metadata.labels = {{**(pod.metadata.labels or {{}}), "{HOOK_LABEL[0]}": "{HOOK_LABEL[1]}"}}
'''
SIDECAR = {
    "name": "sidecar", "image": "airkube.local/bash:5.2", "imagePullPolicy": "Never",
    "command": ["bash", "-c", "trap 'exit 0' TERM; while :; do sleep 5 & wait $!; done"],
    "resources": {"requests": {"cpu": "1m", "memory": "8Mi", "ephemeral-storage": "1Mi"},
                  "limits": {"cpu": "20m", "memory": "16Mi", "ephemeral-storage": "8Mi"}},
    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
}
PRODUCTION: dict[str, Any] = {
    "scheduler": {"replicas": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
                  "extraContainers": [SIDECAR]},
    "apiServer": {"autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 2,
                                  "targetCPUUtilizationPercentage": 80}},
    "airflowLocalSettings": LOCAL_SETTINGS,
    "cleanup": {"database": {"enabled": True, "retentionDays": 30, "schedule": "@yearly"},
                "logs": {"enabled": True, "retentionDays": 7, "schedule": "@yearly"},
                # the shared 2-core node is fully requested when several releases run: a 50m Job stayed Pending
                "resources": {"requests": {"cpu": "20m", "memory": "256Mi", "ephemeral-storage": "16Mi"},
                              "limits": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "256Mi"}}},
    "networkPolicies": {"enabled": True},  # enforced here: the database cleanup must be admitted by postgres
    "kubernetesPodOperator": {"enabled": False},  # not exercised here: no KPO namespace
}


def say(text: str) -> None:
    print(f"[production] {text}", flush=True)


def helm_bin() -> str:
    return str(ROOT / ".venv" / "bin" / "helm")


def kubectl(kubeconfig: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / ".venv" / "bin" / "kubectl"), "--kubeconfig", str(kubeconfig), "-n", NS,
                           *args], capture_output=True, text=True, timeout=timeout)


def default_pod_template(values_file: Path) -> dict[str, Any]:
    """The chart's own worker pod template for these values (rendered by helm, as the release would get it)."""
    out = subprocess.run([helm_bin(), "template", RELEASE, str(ROOT / "charts" / "airflow"), "-n", NS,
                          "-f", str(ROOT / "values" / "local.yaml"), "-f", str(values_file)],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    for doc in yaml.safe_load_all(out):
        if doc and doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == f"{RELEASE}-pod-template":
            return yaml.safe_load(doc["data"]["pod_template_file.yaml"])
    raise AssertionError("no pod-template ConfigMap rendered")


@pytest.fixture(scope="module")
def release(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    t_module = time.monotonic()
    tmp = tmp_path_factory.mktemp("production")
    base = tmp / "production-base.yaml"
    base.write_text(yaml.safe_dump(PRODUCTION))
    template = copy.deepcopy(default_pod_template(base))
    template["metadata"].setdefault("labels", {})[TEMPLATE_LABEL[0]] = TEMPLATE_LABEL[1]
    main = next(c for c in template["spec"]["containers"] if c["name"] == "base")
    main.setdefault("env", []).append({"name": TEMPLATE_ENV[0], "value": TEMPLATE_ENV[1]})
    values = tmp / "production.yaml"
    values.write_text(yaml.safe_dump({**PRODUCTION, "workers": {"podTemplate": template}}))
    rel = Release(RELEASE, NS, kubeconfig, [ROOT / "values" / "local.yaml", values])
    TIMINGS["install_production_s"] = rel.install()
    yield rel
    t0 = time.monotonic()
    rel.uninstall()
    TIMINGS["uninstall_production_s"] = time.monotonic() - t0
    TIMINGS["production_file_s"] = time.monotonic() - t_module
    say(f"the whole file took {TIMINGS['production_file_s']:.0f}s (install {TIMINGS['install_production_s']:.0f}s)")


def scheduler_pods(core: client.CoreV1Api) -> list[client.V1Pod]:
    pods = core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/component=scheduler,{SELECTOR}").items
    return [p for p in pods if p.metadata.deletion_timestamp is None]


def evict(core: client.CoreV1Api, name: str) -> int:
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=NS))
    try:
        core.create_namespaced_pod_eviction(name, NS, body)
    except client.ApiException as exc:
        say(f"eviction of {name}: HTTP {exc.status} {exc.reason}: {(exc.body or '')[:300]}")
        return int(exc.status)
    say(f"eviction of {name}: accepted")
    return 201


def test_pdb_evicts_one_scheduler_and_refuses_the_second(release: Release, api_client: client.ApiClient,
                                                         core: client.CoreV1Api) -> None:
    policy = client.PolicyV1Api(api_client)

    def budget_allows_one() -> bool:
        pdb = policy.read_namespaced_pod_disruption_budget(f"{RELEASE}-scheduler", NS)
        ready = [p for p in scheduler_pods(core) if pod_ready(p)]
        return len(ready) == 2 and pdb.status is not None and pdb.status.disruptions_allowed == 1

    wait_for(budget_allows_one, 300, "2 Ready schedulers and the PDB allowing 1 disruption")
    first, second = sorted(p.metadata.name for p in scheduler_pods(core))
    assert evict(core, first) == 201
    assert evict(core, second) == 429, "the PodDisruptionBudget (minAvailable 1) must refuse the second eviction"
    pdb = policy.read_namespaced_pod_disruption_budget(f"{RELEASE}-scheduler", NS)
    say(f"PDB after: minAvailable={pdb.spec.min_available} currentHealthy={pdb.status.current_healthy} "
        f"disruptionsAllowed={pdb.status.disruptions_allowed}")
    assert second in {p.metadata.name for p in scheduler_pods(core)}


def test_hpa_accepted_and_its_target_resolved(release: Release, api_client: client.ApiClient) -> None:
    autoscaling = client.AutoscalingV2Api(api_client)
    name = f"{RELEASE}-api-server"

    def able_to_scale() -> client.V2HorizontalPodAutoscaler | None:
        hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler(name, NS)
        conditions = {c.type: c for c in (hpa.status.conditions or [])}
        able = conditions.get("AbleToScale")
        return hpa if able is not None and able.status == "True" else None

    hpa = poll_until(able_to_scale, 180, f"HPA {NS}/{name} AbleToScale", interval=3)
    conditions = {c.type: c for c in hpa.status.conditions}
    for c in hpa.status.conditions:
        say(f"HPA condition {c.type}={c.status} ({c.reason}): {c.message}")
    assert conditions["AbleToScale"].reason in ("SucceededGetScale", "ReadyForNewScale"), conditions["AbleToScale"]
    assert hpa.spec.scale_target_ref.kind == "Deployment" and hpa.spec.scale_target_ref.name == name
    assert hpa.status.current_replicas == 1 and (hpa.spec.min_replicas, hpa.spec.max_replicas) == (1, 2)
    # no metrics-server on the local cluster: the controller says so instead of scaling on made-up numbers
    active = conditions.get("ScalingActive")
    assert active is not None and (active.status == "True" or active.reason.startswith("FailedGet")), active


class PodWatch(threading.Thread):
    """Every task pod of the namespace as the API server announced it (ADDED carries the spec as created)."""

    def __init__(self, core: client.CoreV1Api, selector: str) -> None:
        super().__init__(daemon=True)
        self.core, self.selector = core, selector
        self.first: dict[str, client.V1Pod] = {}
        self.phases: dict[str, set[str]] = {}
        self._watch = watch.Watch()

    def run(self) -> None:
        for event in self._watch.stream(self.core.list_namespaced_pod, NS, label_selector=self.selector,
                                        timeout_seconds=1200):
            pod = event["object"]
            self.first.setdefault(pod.metadata.name, pod)
            self.phases.setdefault(pod.metadata.name, set()).add(pod.status.phase if pod.status else "")

    def stop(self) -> None:
        self._watch.stop()


RUNS: dict[str, str] = {}  # old/new run ids of smoke_logs, for the database cleanup


def test_task_pod_has_the_hook_label_and_the_template_override(release: Release, core: client.CoreV1Api) -> None:
    watcher = PodWatch(core, "kubernetes_executor=True,dag_id=smoke_logs")
    watcher.start()
    t0 = time.monotonic()
    result = release.smoke(dags=("smoke_logs",), fixtures=False)
    TIMINGS["smoke_production_s"] = time.monotonic() - t0
    assert result.ok, result.to_dict()
    wait_for(lambda: any("Succeeded" in p for p in watcher.phases.values()), 60, "a Succeeded smoke_logs task pod")
    watcher.stop()
    (name, pod), *_ = [(n, p) for n, p in watcher.first.items() if "Succeeded" in watcher.phases[n]]
    labels = pod.metadata.labels or {}
    say(f"task pod {name}: labels {dict(sorted(labels.items()))}")
    assert labels.get(HOOK_LABEL[0]) == HOOK_LABEL[1], "pod_mutation_hook (airflowLocalSettings) did not run"
    assert labels.get(TEMPLATE_LABEL[0]) == TEMPLATE_LABEL[1], "workers.podTemplate's label is missing"
    base = next(c for c in pod.spec.containers if c.name == "base")
    env = {e.name: e.value for e in base.env or []}
    assert env.get(TEMPLATE_ENV[0]) == TEMPLATE_ENV[1], "workers.podTemplate's env value is missing"
    assert "execute_workload" in " ".join(base.args or base.command or []), base.args  # the executor's command
    RUNS["old"] = result.dags[0].run_id


def test_sidecar_runs_next_to_each_scheduler(release: Release, core: client.CoreV1Api) -> None:
    def both_with_sidecar() -> bool:
        pods = [p for p in scheduler_pods(core) if pod_ready(p)]
        running = [p for p in pods for s in (p.status.container_statuses or [])
                   if s.name == "sidecar" and s.ready and s.state.running]
        return len(pods) == 2 and len(running) == 2

    wait_for(both_with_sidecar, 300, "2 Ready schedulers (the evicted one replaced), each with its sidecar running")
    for pod in scheduler_pods(core):
        assert [c.name for c in pod.spec.containers] == ["scheduler", "sidecar"]
    say("sidecar running next to both schedulers")


def psql(core: client.CoreV1Api, sql: str) -> str:
    (pg,) = [p for p in core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/name=postgres,{SELECTOR}").items
             if pod_ready(p)]
    return exec_in_pod(core, NS, pg.metadata.name,
                       ["psql", "-U", "airflow", "-d", "airflow", "-v", "ON_ERROR_STOP=1", "-tAc", sql]).strip()


def run_cronjob(kubeconfig: Path, api_client: client.ApiClient, core: client.CoreV1Api, cronjob: str) -> str:
    """`kubectl create job --from=cronjob/<cronjob>`, wait until it completes; returns its pod's log."""
    job = f"{cronjob}-e2e-{int(time.time())}"
    created = kubectl(kubeconfig, "create", "job", f"--from=cronjob/{RELEASE}-{cronjob}", job)
    assert created.returncode == 0, created.stderr
    t0 = time.monotonic()
    try:
        wait_for_jobs_complete(client.BatchV1Api(api_client), NS, [job], timeout=600)
    finally:
        pods = core.list_namespaced_pod(NS, label_selector=f"job-name={job}").items
        log = "\n".join(core.read_namespaced_pod_log(p.metadata.name, NS) for p in pods if p.status.phase
                        in ("Succeeded", "Failed", "Running"))
        print(log[-3000:])
    TIMINGS[f"{cronjob}_job_s"] = time.monotonic() - t0
    return log


def test_database_cleanup_removes_rows_older_than_the_cutoff(release: Release, kubeconfig: Path,
                                                             api_client: client.ApiClient,
                                                             core: client.CoreV1Api) -> None:
    from e2e_api import api_session

    with api_session(release) as api:
        # the run of the task pod test (or, re-running this test alone on the release, the oldest one)
        old = RUNS.get("old") or min(api.dag_runs("smoke_logs"), key=lambda r: r["run_after"])["dag_run_id"]
        new = f"e2e_cleanup_new_{int(time.time())}"
        api.trigger("smoke_logs", new)
        # started is enough: the newer row must stay (db clean keys dag_run on start_date)
        poll_until(lambda: api.get_run("smoke_logs", new).get("start_date"), 300, f"run {new} to start", interval=3)
    # the first run becomes 40 days old (retentionDays is 30); two audit-log rows, 40 days and 1 day old
    psql(core, f"UPDATE dag_run SET start_date = now() - interval '40 days' WHERE run_id = '{old}'")
    tag = f"e2e-{int(time.time())}"  # this attempt's rows only
    psql(core, "INSERT INTO log (dttm, dag_id, event, owner) VALUES "
               f"(now() - interval '40 days', 'e2e_cleanup', '{tag}-old', 'e2e'), "
               f"(now() - interval '1 day', 'e2e_cleanup', '{tag}-new', 'e2e')")

    def counts() -> dict[str, str]:
        return {"old run": psql(core, f"SELECT count(*) FROM dag_run WHERE run_id = '{old}'"),
                "new run": psql(core, f"SELECT count(*) FROM dag_run WHERE run_id = '{new}'"),
                "old TIs": psql(core, f"SELECT count(*) FROM task_instance WHERE run_id = '{old}'"),
                "old log": psql(core, f"SELECT count(*) FROM log WHERE event = '{tag}-old'"),
                "new log": psql(core, f"SELECT count(*) FROM log WHERE event = '{tag}-new'")}

    before = counts()
    say(f"before the cleanup: {before}")
    assert before == {"old run": "1", "new run": "1", "old TIs": "1", "old log": "1", "new log": "1"}, before
    log = run_cronjob(kubeconfig, api_client, core, "database-cleanup")
    after = counts()
    say(f"after the cleanup: {after}")
    assert "airflow db clean: rows older than" in log
    assert after == {"old run": "0", "new run": "1", "old TIs": "0", "old log": "0", "new log": "1"}


LOGS = "/opt/airflow/logs"
SEED = f"""set -e
mkdir -p {LOGS}/e2e-cleanup/old/deep {LOGS}/e2e-cleanup/new
echo old > {LOGS}/e2e-cleanup/old/deep/attempt=1.log
echo old > {LOGS}/e2e-cleanup/old/attempt=2.log
echo old > {LOGS}/e2e-cleanup/new/ancient.log
echo new > {LOGS}/e2e-cleanup/new/attempt=1.log
touch -d '10 days ago' {LOGS}/e2e-cleanup/old/deep/attempt=1.log {LOGS}/e2e-cleanup/old/attempt=2.log
touch -d '8 days ago' {LOGS}/e2e-cleanup/new/ancient.log
touch -d '6 days ago' {LOGS}/e2e-cleanup/new/attempt=1.log
"""


def test_logs_cleanup_removes_old_files_on_the_logs_pvc(release: Release, kubeconfig: Path,
                                                        api_client: client.ApiClient, core: client.CoreV1Api) -> None:
    api_pod = next(p for p in core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/component=api-server,"
                                                                          f"{SELECTOR}").items if pod_ready(p))
    name = api_pod.metadata.name

    def files() -> list[str]:
        out = exec_in_pod(core, NS, name, ["find", LOGS, "-type", "f"], container="api-server")
        return sorted(line[len(LOGS) + 1:] for line in out.split() if line.startswith(LOGS))

    exec_in_pod(core, NS, name, ["bash", "-c", SEED], container="api-server")
    before = files()
    task_logs = [f for f in before if f.startswith("dag_id=smoke_logs/")]
    assert task_logs, f"no smoke_logs task log on the logs PVC: {before}"
    log = run_cronjob(kubeconfig, api_client, core, "logs-cleanup")
    after = files()
    say(f"log files: {len(before)} before, {len(after)} after")
    gone = sorted(set(before) - set(after))
    assert gone == ["e2e-cleanup/new/ancient.log", "e2e-cleanup/old/attempt=2.log",
                    "e2e-cleanup/old/deep/attempt=1.log"], gone
    assert "e2e-cleanup/new/attempt=1.log" in after and set(task_logs) <= set(after)
    left_dirs = exec_in_pod(core, NS, name, ["find", f"{LOGS}/e2e-cleanup", "-type", "d"], container="api-server")
    assert f"{LOGS}/e2e-cleanup/old" not in left_dirs.split(), left_dirs  # emptied directories removed
    assert "deleted 3 files and" in log
