"""Feed the rendered worker pod template to Airflow's own PodGenerator, exactly as the KubernetesExecutor does
(kubernetes_executor_utils.AirflowKubernetesScheduler.run_next), and check the final task pod. Real Airflow code,
real helm, no cluster."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from airflow.executors.workloads import ExecuteTask  # noqa: E402
from airflow.executors.workloads.base import BundleInfo  # noqa: E402
from airflow.executors.workloads.task import TaskInstanceDTO  # noqa: E402
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator, workload_to_command_args  # noqa: E402
from kubernetes.client import ApiClient  # noqa: E402

from conftest import Rendered  # noqa: E402

CASES = {
    "image": (),
    "dags-pvc": ("dags-pvc.yaml",),
    "git-sync": ("dags-git-sync.yaml",),
    "git-sync-pvc": ("dags-git-sync.yaml", "dags-pvc.yaml"),
    "logs-pvc": ("logs-pvc.yaml",),
    "logs-s3": ("logs-s3.yaml",),
    "kind": ("kind.yaml",),
    "local": ("local.yaml",),
}


def make_workload() -> ExecuteTask:
    ti = TaskInstanceDTO(id=uuid.uuid4(), task_id="hello", dag_id="smoke", run_id="manual__1", try_number=1,
                         dag_version_id=uuid.uuid4(), map_index=-1, pool_slots=1, priority_weight=1, queue="default")
    return ExecuteTask(ti=ti, dag_rel_path=Path("smoke.py"), token="", log_path="dag_id=smoke/run_id=manual__1/task_id=hello/attempt=1.log",
                       bundle_info=BundleInfo(name="dags-folder", version=None))


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def case(request, helm, tmp_path_factory):
    rendered: Rendered = helm.template(values_files=CASES[request.param])
    template = tmp_path_factory.mktemp(request.param) / "pod_template_file.yaml"
    template.write_text(rendered.get("ConfigMap", "airflow-pod-template")["data"]["pod_template_file.yaml"])
    base = PodGenerator.deserialize_model_file(str(template))
    workload = make_workload()
    pod = PodGenerator.construct_pod(
        dag_id="smoke", task_id="hello", pod_id="smoke-hello-abc", try_number=1, map_index=-1, date=None,
        run_id="manual__1", kube_image=None, args=workload_to_command_args(workload), pod_override_object=None,
        base_worker_pod=base, namespace="airflow", scheduler_job_id="1")
    manifest = ApiClient().sanitize_for_serialization(pod)
    return request.param, rendered, manifest


def _cfg(rendered: Rendered) -> dict[str, str]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(rendered.airflow_cfg())
    return parser


def _base(manifest):
    return next(c for c in manifest["spec"]["containers"] if c["name"] == "base")


def test_pod_shape(case):
    name, rendered, manifest = case
    base = _base(manifest)
    assert manifest["metadata"]["namespace"] == "airflow"
    assert manifest["spec"]["restartPolicy"] == "Never"
    assert base["args"][:3] == ["python", "-m", "airflow.sdk.execution_time.execute_workload"]
    assert base["image"] in ("apache/airflow:3.3.2", "airkube.local/airflow:3.3.2")
    env = {e["name"]: e for e in base.get("env", [])}
    assert env["CONNECTION_CHECK_MAX_COUNT"]["value"] == "0"
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in env and "AIRFLOW__API_AUTH__JWT_SECRET" not in env
    assert manifest["metadata"]["labels"]["dag_id"] == "smoke"
    assert manifest["spec"]["serviceAccountName"] == "airflow-worker"


def test_mounts_match_config(case):
    name, rendered, manifest = case
    cfg = _cfg(rendered)
    base = _base(manifest)
    mounts = {m["mountPath"]: m for m in base["volumeMounts"]}
    volumes = {v["name"]: v for v in manifest["spec"]["volumes"]}
    # config
    assert mounts["/opt/airflow/config"]["name"] == "config"
    assert volumes["config"]["configMap"]["name"] == "airflow-config"
    env = {e["name"]: e.get("value") for e in base["env"]}
    assert env["AIRFLOW_CONFIG"] == "/opt/airflow/config/airflow.cfg"
    # logs where base_log_folder says
    assert cfg["logging"]["base_log_folder"] in mounts
    # dags: dags_folder lies inside the dags mount, unless DAGs are baked into the image
    dags_folder = cfg["core"]["dags_folder"]
    if name == "image" or name.startswith("logs") :
        assert dags_folder == "/opt/airflow/dags" and "/opt/airflow/dags" not in mounts
    else:
        assert any(dags_folder == p or dags_folder.startswith(p + "/") for p in mounts if mounts[p]["name"] == "dags")
    if name in ("logs-pvc", "kind", "local"):
        assert "persistentVolumeClaim" in volumes["logs"]


def test_init_containers(case):
    name, _, manifest = case
    init = manifest["spec"].get("initContainers") or []
    names = [c["name"] for c in init]
    assert "wait-for-migrations" not in names
    if name == "git-sync":
        assert names == ["git-sync-init"]
        env = {e["name"]: e.get("value") for e in init[0]["env"]}
        assert env["GITSYNC_ONE_TIME"] == "true"
        assert {m["mountPath"] for m in init[0]["volumeMounts"]} >= {"/opt/airflow/dags"}
    else:
        assert names == []
