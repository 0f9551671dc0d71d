"""The smoke DAGs with real Airflow 3.3.2 and the real cncf.kubernetes provider: parse, build pods offline."""

from __future__ import annotations

import os
import subprocess
import tempfile
import warnings

import pytest
import yaml

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airkube-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from airkube.smoke import SMOKE_DAGS_DIR  # noqa: E402
from airkube.smoke.fixtures import EXPECTED_EVIDENCE  # noqa: E402
from airkube.smoke.report import parse_evidence  # noqa: E402

SMOKE_IDS = {"smoke_kpo_seed", "smoke_executor", "smoke_logs", "smoke_git_sync", "smoke_bundle"}


@pytest.fixture(scope="module")
def parsed():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(SMOKE_DAGS_DIR))
    return bag, caught


@pytest.fixture(scope="module")
def bag(parsed):
    return parsed[0]


def test_smoke_dags_import_without_errors(bag):
    assert bag.import_errors == {}
    assert SMOKE_IDS <= set(bag.dag_ids)  # other suites ship DAGs here too (smoke_sleep for reliability)


def test_smoke_dags_import_without_deprecation_warnings(parsed):
    bag, caught = parsed
    from airflow.exceptions import AirflowProviderDeprecationWarning, RemovedInAirflow4Warning

    deprecations = (DeprecationWarning, PendingDeprecationWarning, FutureWarning,
                    AirflowProviderDeprecationWarning, RemovedInAirflow4Warning)
    ours = [w for w in caught if issubclass(w.category, deprecations) and "smoke/dags" in str(w.filename)]
    assert ours == [], [f"{w.filename}:{w.lineno} {w.message}" for w in ours]
    # the DagBag records warnings raised while importing each file (the dag-processor shows them in the UI)
    assert bag.captured_warnings == {}


def test_smoke_dags_are_manual_only(bag):
    for dag_id in SMOKE_IDS:
        dag = bag.dags[dag_id]
        assert dag.timetable.__class__.__name__ == "NullTimetable"
        assert "airkube-smoke" in dag.tags


def _kpo_manifest(bag) -> dict:
    from kubernetes.client import ApiClient

    task = bag.dags["smoke_kpo_seed"].get_task("task")
    return ApiClient().sanitize_for_serialization(task.build_pod_request_obj(dry_run=True))


def test_kpo_pod_has_every_seed_argument(bag):
    pod = _kpo_manifest(bag)
    spec = pod["spec"]
    (container,) = spec["containers"]
    assert pod["metadata"]["name"].startswith("test-")
    assert pod["metadata"]["labels"]["foo"] == "bar"
    assert pod["metadata"]["namespace"] == "default"  # no service-account file here, no env: the fallback
    # secrets: whole secret mounted as a volume, one key as env, all keys of the second secret as env
    secret_vols = [v for v in spec["volumes"] if "secret" in v]
    assert [v["secret"]["secretName"] for v in secret_vols] == ["airflow-secrets"]
    sql_mount = next(m for m in container["volumeMounts"] if m["name"] == secret_vols[0]["name"])
    assert sql_mount == {"mountPath": "/etc/sql_conn", "name": secret_vols[0]["name"], "readOnly": True}
    assert {"name": "SQL_CONN", "valueFrom": {"secretKeyRef": {"key": "sql_alchemy_conn", "name": "airflow-secrets"}}} in container["env"]
    assert {"secretRef": {"name": "airflow-secrets-2"}} in container["envFrom"]
    # configmaps → envFrom
    assert {"configMapRef": {"name": "test-configmap-1"}} in container["envFrom"]
    assert {"configMapRef": {"name": "test-configmap-2"}} in container["envFrom"]
    # PVC mounted read-only
    assert {"name": "test-volume", "persistentVolumeClaim": {"claimName": "test-volume"}} in spec["volumes"]
    assert {"mountPath": "/root/mount_file", "name": "test-volume", "readOnly": True} in container["volumeMounts"]
    # affinity, with the zone label of today's Kubernetes
    aff = spec["affinity"]
    pref = aff["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert pref["weight"] == 1
    assert pref["preference"]["matchExpressions"] == [{"key": "disktype", "operator": "In", "values": ["ssd"]}]
    (pa,) = aff["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert pa["topologyKey"] == "topology.kubernetes.io/zone"
    assert pa["labelSelector"]["matchExpressions"] == [{"key": "security", "operator": "In", "values": ["S1"]}]
    (paa,) = aff["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert paa["topologyKey"] == "kubernetes.io/hostname"
    assert paa["labelSelector"]["matchExpressions"] == [{"key": "security", "operator": "In", "values": ["S2"]}]
    assert "failure-domain.beta.kubernetes.io/zone" not in str(pod)
    # tolerations, host network, command
    assert spec["tolerations"] == [{"key": "key", "operator": "Equal", "value": "value"}]
    assert spec["hostNetwork"] is False
    assert container["command"] == ["bash", "-cx"]
    assert len(container["args"]) == 1 and "AIRKUBE" in container["args"][0]
    assert container["image"] == "{{ params.image }}"
    assert spec["restartPolicy"] == "Never"


def test_kpo_operator_settings(bag):
    task = bag.dags["smoke_kpo_seed"].get_task("task")
    assert task.on_finish_action.value == "delete_pod"
    assert task.hostnetwork is False
    assert bag.dags["smoke_kpo_seed"].params["image"] == "docker.io/library/bash:5.2"


def test_kpo_namespace_follows_the_environment(monkeypatch):
    import importlib.util

    monkeypatch.setenv("AIRKUBE_SMOKE_NAMESPACE", "team-a")
    monkeypatch.setenv("AIRKUBE_SMOKE_BASH_IMAGE", "airkube.local/bash:5.2")
    spec = importlib.util.spec_from_file_location("smoke_kpo_seed_ns", SMOKE_DAGS_DIR / "smoke_kpo_seed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.k.namespace == "team-a"
    assert mod.dag.params["image"] == "airkube.local/bash:5.2"


def test_kpo_script_fails_and_names_what_is_missing():
    """Run the container's script with real bash in an empty world: exit 1, every missing piece named."""
    from airkube.smoke.dags import smoke_kpo_seed as mod  # noqa: PLC0415 (package data is importable too)

    r = subprocess.run(["bash", "-cx", mod.EVIDENCE_SCRIPT], capture_output=True, text=True,
                       env={"PATH": os.environ["PATH"], "SQL_CONN": EXPECTED_EVIDENCE["secret_env"],
                            "AIRKUBE_CM1": EXPECTED_EVIDENCE["configmap_1"]})
    assert r.returncode == 1
    found, missing = parse_evidence((r.stdout + r.stderr).splitlines())
    assert found["secret_env"] == EXPECTED_EVIDENCE["secret_env"]
    assert found["configmap_1"] == EXPECTED_EVIDENCE["configmap_1"]
    assert {"secret_file", "secret_all_keys", "configmap_2", "pvc_mount"} <= set(missing)
    # the bash -x trace never carries the marker: only results do
    assert "AIRKUBE-EVIDENCE" not in r.stderr


def test_executor_dag_shape(bag):
    dag = bag.dags["smoke_executor"]
    assert set(dag.task_dict) == {"start", "fan", "check"}
    assert dag.get_task("fan").__class__.__name__.endswith("MappedOperator")
    assert dag.get_task("check").upstream_task_ids == {"start", "fan"}


def test_logs_and_git_dags_shape(bag):
    assert set(bag.dags["smoke_logs"].task_dict) == {"write_marker"}
    assert set(bag.dags["smoke_git_sync"].task_dict) == {"came_through_git"}
    assert set(bag.dags["smoke_bundle"].task_dict) == {"came_through_bundle"}


def test_git_sync_checkout_detection(tmp_path):
    """The helpers of smoke_git_sync against a real git-sync-like layout (worktree named after the commit)."""
    from airkube.smoke.dags import smoke_git_sync as mod

    sha = "0123456789abcdef0123456789abcdef01234567"
    wt = tmp_path / ".worktrees" / sha
    (wt / "dags").mkdir(parents=True)
    (wt / ".git").write_text(f"gitdir: {tmp_path}/.git/worktrees/{sha}\n")
    (tmp_path / "repo").symlink_to(wt)
    f = wt / "dags" / "smoke_git_sync.py"
    f.write_text("")
    assert mod._checkout_of(f) == wt
    assert mod._commit(wt) == sha
    assert mod._checkout_of(tmp_path / "elsewhere" / "x.py") is None or mod._checkout_of(tmp_path / "elsewhere" / "x.py") != wt


# --- the executor's worker pod, rendered from the chart's pod template -----------------------------------
def test_executor_worker_pod_from_chart_template(bag, helm, tmp_path):
    from airflow.executors.workloads import ExecuteTask
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
    from kubernetes.client import ApiClient

    rendered = helm.template()
    cms = [d for d in rendered.all("ConfigMap") if "pod_template_file.yaml" in (d.get("data") or {})]
    assert cms, "the chart renders no pod-template ConfigMap"
    template = tmp_path / "pod_template_file.yaml"
    template.write_text(cms[0]["data"]["pod_template_file.yaml"])
    base = PodGenerator.deserialize_model_file(str(template))

    from airflow.providers.cncf.kubernetes.pod_generator import workload_to_command_args

    ti_fields = _fake_ti_workload_fields()
    workload = ExecuteTask.model_validate(ti_fields)
    pod = PodGenerator.construct_pod(
        dag_id="smoke_executor", task_id="fan", pod_id="smoke-executor-fan-abc123", try_number=1, map_index=2,
        date=None, run_id="airkube-smoke-1", kube_image=base.spec.containers[0].image,
        args=workload_to_command_args(workload), pod_override_object=None, base_worker_pod=base,
        namespace="airflow", scheduler_job_id="1",
    )
    manifest = ApiClient().sanitize_for_serialization(pod)
    labels = manifest["metadata"]["labels"]
    assert labels["dag_id"] == "smoke_executor" and labels["task_id"] == "fan"
    assert labels["map_index"] == "2" and labels["kubernetes_executor"] == "True"
    assert manifest["metadata"]["annotations"]["run_id"] == "airkube-smoke-1"
    base_c = next(c for c in manifest["spec"]["containers"] if c["name"] == "base")
    assert {"name": "AIRFLOW_IS_K8S_EXECUTOR_POD", "value": "True"} in base_c["env"]  # what smoke_executor checks
    assert "execute_workload" in " ".join(base_c.get("command", []) + base_c["args"])
    assert manifest["metadata"]["namespace"] == "airflow"
    # the runner finds these pods by label dag_id and annotation run_id
    from airkube.smoke.discovery import run_pods

    class _Meta:
        def __init__(self, m):
            self.name, self.labels, self.annotations = m["name"], m["labels"], m["annotations"]

    class _Pod:
        def __init__(self, m):
            self.metadata = _Meta(m)

    class _Core:
        def list_namespaced_pod(self, ns, label_selector):
            assert label_selector == "dag_id=smoke_executor"
            return type("L", (), {"items": [_Pod(manifest["metadata"])]})()

    assert len(run_pods(_Core(), "airflow", "smoke_executor", "airkube-smoke-1")) == 1
    assert yaml.safe_dump(manifest)


def _fake_ti_workload_fields() -> dict:
    import uuid as _uuid

    from airflow.executors.workloads import ExecuteTask

    fields = ExecuteTask.model_fields
    ti = {
        "id": str(_uuid.uuid4()), "dag_version_id": str(_uuid.uuid4()), "task_id": "fan", "dag_id": "smoke_executor",
        "run_id": "airkube-smoke-1", "try_number": 1, "map_index": 2, "pool_slots": 1, "queue": "default",
        "priority_weight": 1,
    }
    data = {"ti": ti, "dag_rel_path": "smoke_executor.py", "token": "x", "log_path": "dag_id=smoke_executor/x.log",
            "bundle_info": {"name": "dags-folder", "version": None}}
    if "sentry_integration" in fields:
        data["sentry_integration"] = ""
    return data
