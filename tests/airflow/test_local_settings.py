"""`airflowLocalSettings` with real Airflow: the chart's config ConfigMap, laid out as it is mounted
($AIRFLOW_HOME/config), is imported by Airflow itself, and its `pod_mutation_hook` changes the task pod that
PodGenerator builds from the rendered pod template, exactly as the KubernetesExecutor does. Each check runs in a
fresh interpreter (airflow.settings imports local settings once per process). Real helm, real Airflow, no cluster."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import Rendered  # noqa: E402

LOCAL_SETTINGS = '''\
"""Local settings of the fast test: mark every task pod and every task."""
from airflow.policies import hookimpl  # noqa: F401  (importable: the module runs inside Airflow)


def pod_mutation_hook(pod):
    pod.metadata.labels = {**(pod.metadata.labels or {}), "airkube.io/mutated": "yes"}
    pod.metadata.annotations = {**(pod.metadata.annotations or {}), "airkube.io/hook": "pod_mutation_hook"}


def task_policy(task):
    task.owner = "platform"
'''

PROBE = r'''
import json, sys, uuid
from pathlib import Path

import airflow.settings as settings
from airflow.executors.workloads import ExecuteTask
from airflow.executors.workloads.base import BundleInfo
from airflow.executors.workloads.task import TaskInstanceDTO
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator, workload_to_command_args
from kubernetes.client import ApiClient

import airflow_local_settings

ti = TaskInstanceDTO(id=uuid.uuid4(), task_id="hello", dag_id="smoke", run_id="manual__1", try_number=1,
                     dag_version_id=uuid.uuid4(), map_index=-1, pool_slots=1, priority_weight=1, queue="default")
workload = ExecuteTask(ti=ti, dag_rel_path=Path("smoke.py"), token="", log_path="x.log",
                       bundle_info=BundleInfo(name="dags-folder", version=None))
base = PodGenerator.deserialize_model_file(sys.argv[1])
pod = PodGenerator.construct_pod(
    dag_id="smoke", task_id="hello", pod_id="smoke-hello-abc", try_number=1, map_index=-1, date=None,
    run_id="manual__1", kube_image=None, args=workload_to_command_args(workload), pod_override_object=None,
    base_worker_pod=base, namespace="airflow", scheduler_job_id="1", with_mutation_hook=True)
from airflow.sdk import BaseOperator
task = BaseOperator(task_id="t")
settings.task_policy(task)
print(json.dumps({"module": airflow_local_settings.__file__, "meta": ApiClient().sanitize_for_serialization(pod.metadata),
                  "owner": task.owner}))
'''


def _layout(rendered: Rendered, home: Path) -> Path:
    """Write the config ConfigMap's keys into <home>/config (the mount) and the pod template beside it."""
    config = home / "config"
    config.mkdir(parents=True)
    for name, text in rendered.get("ConfigMap", "airflow-config")["data"].items():
        (config / name).write_text(text)
    template = home / "pod_template_file.yaml"
    template.write_text(rendered.get("ConfigMap", "airflow-pod-template")["data"]["pod_template_file.yaml"])
    return template


def _probe(home: Path, template: Path, probe: str = PROBE) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW_CONFIG=str(home / "config" / "airflow.cfg"),
               AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(home / "logs"), PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-c", probe, str(template)], capture_output=True, text=True, env=env,
                            cwd=home, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_local_settings_are_imported_and_mutate_the_task_pod(helm, tmp_path: Path) -> None:
    rendered = helm.template(values={"airflowLocalSettings": LOCAL_SETTINGS})
    assert rendered.get("ConfigMap", "airflow-config")["data"]["airflow_local_settings.py"] == LOCAL_SETTINGS
    out = _probe(tmp_path, _layout(rendered, tmp_path))
    assert out["module"] == str(tmp_path / "config" / "airflow_local_settings.py")  # imported from $AIRFLOW_HOME/config
    assert out["meta"]["labels"]["airkube.io/mutated"] == "yes"
    assert out["meta"]["labels"]["dag_id"] == "smoke"  # the executor's own labels are kept
    assert out["meta"]["annotations"]["airkube.io/hook"] == "pod_mutation_hook"
    assert out["owner"] == "platform"


def test_without_local_settings_the_pod_is_not_mutated(default_render: Rendered, tmp_path: Path) -> None:
    assert "airflow_local_settings.py" not in default_render.get("ConfigMap", "airflow-config")["data"]
    probe = PROBE.replace("import airflow_local_settings\n", "").replace(
        '"module": airflow_local_settings.__file__, ', "")
    out = _probe(tmp_path, _layout(default_render, tmp_path), probe)
    assert "airkube.io/mutated" not in out["meta"]["labels"] and out["owner"] != "platform"


@pytest.mark.parametrize("bad", [{"pod_mutation_hook": "x"}, ["a"], 3])
def test_local_settings_must_be_text(helm, bad) -> None:
    err = helm.template_error(values={"airflowLocalSettings": bad})
    assert "airflowLocalSettings" in err
