"""P3's first smoke task (`airkube bench -f values/local.yaml`): the DAG file is in the release from the start,
for the dag-processor and for the task pods, rendered by the real helm over values/local.yaml."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from airkube.bench.install import FIRST_TASK_DAG, FIRST_TASK_DAG_ID, FIRST_TASK_ID, first_task_values
from airkube.values.inputs import ValuesInput

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import Helm  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def test_first_task_dag_is_the_smoke_dag_with_that_task() -> None:
    tree = ast.parse(FIRST_TASK_DAG.read_text())
    assert f'DAG_ID = "{FIRST_TASK_DAG_ID}"' in FIRST_TASK_DAG.read_text()
    assert FIRST_TASK_ID in {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}


def test_dag_file_reaches_dag_processor_and_task_pods(helm: Helm) -> None:
    base = ValuesInput(files=(REPO / "values" / "local.yaml",)).merged()
    base.setdefault("workers", {})["extraVolumes"] = [{"name": "mine", "emptyDir": {}}]
    values = first_task_values(base, "airflow")
    assert base["workers"]["extraVolumes"] == [{"name": "mine", "emptyDir": {}}]  # input untouched
    rendered = helm.template(values=values)
    cm = rendered.get("ConfigMap", "airflow-bench-p3-dag")
    assert cm["data"][FIRST_TASK_DAG.name] == FIRST_TASK_DAG.read_text()
    folder = base.get("dags", {}).get("mountPath", "/opt/airflow/dags")
    target = f"{folder}/{FIRST_TASK_DAG.name}"
    dp = rendered.get("Deployment", "airflow-dag-processor")["spec"]["template"]["spec"]
    pod = rendered.pod_template()["spec"]
    for spec in (dp, pod):
        mounts = [m for c in spec["containers"] for m in c.get("volumeMounts", [])]
        assert {"name": "bench-p3-dag", "mountPath": target, "subPath": FIRST_TASK_DAG.name, "readOnly": True} in mounts
        assert {"name": "bench-p3-dag", "configMap": {"name": "airflow-bench-p3-dag"}} in spec["volumes"]
    assert {"name": "mine", "emptyDir": {}} in pod["volumes"]  # the user's own extra volumes are kept
