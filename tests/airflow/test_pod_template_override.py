"""`workers.podTemplate` with Airflow's own PodGenerator: a complete pod template given in values replaces the
chart's default, and the task pod the KubernetesExecutor builds from it carries the override (an extra label, an
extra env value, tpl expressions resolved) with the executor's own labels and command. Real helm, real Airflow."""
from __future__ import annotations

import copy
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from airflow.executors.workloads import ExecuteTask  # noqa: E402
from airflow.executors.workloads.base import BundleInfo  # noqa: E402
from airflow.executors.workloads.task import TaskInstanceDTO  # noqa: E402
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator, workload_to_command_args  # noqa: E402
from kubernetes.client import ApiClient  # noqa: E402

from conftest import KUBE_VERSIONS, Rendered, kube_validate  # noqa: E402


def custom_template(default: dict[str, Any]) -> dict[str, Any]:
    """What a user does: start from the default template, add a label, an env value, a tpl expression."""
    pod = copy.deepcopy(default)
    pod["metadata"]["labels"]["airkube.io/template"] = "custom"
    pod["metadata"]["labels"]["airkube.io/release"] = "{{ .Release.Name }}"
    base = next(c for c in pod["spec"]["containers"] if c["name"] == "base")
    base["env"].append({"name": "TEMPLATE_FLAVOUR", "value": "custom"})
    return pod


def build(template_text: str, tmp: Path) -> dict[str, Any]:
    path = tmp / "pod_template_file.yaml"
    path.write_text(template_text)
    ti = TaskInstanceDTO(id=uuid.uuid4(), task_id="hello", dag_id="smoke", run_id="manual__1", try_number=1,
                         dag_version_id=uuid.uuid4(), map_index=-1, pool_slots=1, priority_weight=1, queue="default")
    workload = ExecuteTask(ti=ti, dag_rel_path=Path("smoke.py"), token="", log_path="x.log",
                           bundle_info=BundleInfo(name="dags-folder", version=None))
    pod = PodGenerator.construct_pod(
        dag_id="smoke", task_id="hello", pod_id="smoke-hello-abc", try_number=1, map_index=-1, date=None,
        run_id="manual__1", kube_image=None, args=workload_to_command_args(workload), pod_override_object=None,
        base_worker_pod=PodGenerator.deserialize_model_file(str(path)), namespace="airflow", scheduler_job_id="1")
    return ApiClient().sanitize_for_serialization(pod)


@pytest.fixture(scope="module", params=["map", "string"])
def override(request, helm, default_render: Rendered) -> tuple[Rendered, Rendered]:
    pod = custom_template(default_render.pod_template())
    value: Any = pod if request.param == "map" else yaml.safe_dump(pod)
    return default_render, helm.template(values={"workers": {"podTemplate": value}})


def test_override_replaces_the_default_and_reaches_the_task_pod(override, tmp_path: Path) -> None:
    default, rendered = override
    text = rendered.get("ConfigMap", "airflow-pod-template")["data"]["pod_template_file.yaml"]
    assert text != default.get("ConfigMap", "airflow-pod-template")["data"]["pod_template_file.yaml"]
    manifest = build(text, tmp_path)
    labels = manifest["metadata"]["labels"]
    assert labels["airkube.io/template"] == "custom"
    assert labels["airkube.io/release"] == "airflow"  # tpl ran
    assert labels["dag_id"] == "smoke" and labels["kubernetes_executor"] == "True"
    base = next(c for c in manifest["spec"]["containers"] if c["name"] == "base")
    assert base["args"][:3] == ["python", "-m", "airflow.sdk.execution_time.execute_workload"]
    env = {e["name"]: e.get("value") for e in base["env"]}
    assert env["TEMPLATE_FLAVOUR"] == "custom" and env["CONNECTION_CHECK_MAX_COUNT"] == "0"
    kube_validate(manifest, KUBE_VERSIONS[-1])


def test_override_rolls_the_scheduler(override) -> None:
    default, rendered = override

    def checksum(r: Rendered) -> str:
        return r.deployment("scheduler")["spec"]["template"]["metadata"]["annotations"]["checksum/pod-template"]
    assert checksum(rendered) != checksum(default)


BAD_STRINGS = [
    ("not-yaml", "kind: Pod\nspec: [unclosed", "not valid YAML"),
    ("a-deployment", "apiVersion: apps/v1\nkind: Deployment\nspec: {}\n", "must be a Pod manifest"),
    ("no-base", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: main\n      image: x\n",
     "no container named base (containers: main)"),
    ("tpl-breaks-it", "apiVersion: v1\nkind: {{ .Release.Name }}\nspec:\n  containers: [{name: base}]\n",
     'kind "airflow"'),
]


@pytest.mark.parametrize("case_id, text, message", BAD_STRINGS, ids=[c[0] for c in BAD_STRINGS])
def test_bad_string_template_fails_the_render(helm, case_id: str, text: str, message: str) -> None:
    err = helm.template_error(values={"workers": {"podTemplate": text}})
    assert "workers.podTemplate" in err and message in err, err
