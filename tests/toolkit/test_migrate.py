"""`airkube migrate-dag` on the seed's code: the result imports with real Airflow 3.3.2 and builds the pod."""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from pathlib import Path

import pytest

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airkube-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from airkube.migrate import MigrationError, migrate_file, migrate_source

SHARED_SEED = Path("/work/shared/seed/kubernetes-executor-doc.txt")


def seed_code() -> str:
    """The seed's operator example exactly as the 1.10 document prints it (missing comma included)."""
    return _EMBEDDED_SEED


@pytest.mark.skipif(not SHARED_SEED.exists(), reason="seed document not present")
def test_embedded_seed_is_the_documents_code():
    text = SHARED_SEED.read_text()
    start = text.index("from airflow.contrib.operators import KubernetesOperator")
    end = text.index("configmaps=configmaps\n)", start) + len("configmaps=configmaps\n)")
    assert text[start:end] + "\n" == _EMBEDDED_SEED


_EMBEDDED_SEED = '''from airflow.contrib.operators import KubernetesOperator
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator
from airflow.contrib.kubernetes.secret import Secret
secret_file = Secret('volume', '/etc/sql_conn', 'airflow-secrets', 'sql_alchemy_conn')
secret_env = Secret('env', 'SQL_CONN', 'airflow-secrets', 'sql_alchemy_conn')
secret_all_keys = Secret('env', None, 'airflow-secrets-2')
volume_mount = VolumeMount('test-volume',
mount_path='/root/mount_file',
sub_path=None,
read_only=True)
configmaps = ['test-configmap-1', 'test-configmap-2']
volume_config= {
'persistentVolumeClaim':
{
'claimName': 'test-volume'
}
}
volume = Volume(name='test-volume', configs=volume_config)
affinity = {
'nodeAffinity': {
'preferredDuringSchedulingIgnoredDuringExecution': [
{
"weight": 1,
"preference": {
"matchExpressions": {
"key": "disktype",
"operator": "In",
"values": ["ssd"]
}
}
}
]
},
"podAffinity": {
"requiredDuringSchedulingIgnoredDuringExecution": [
{
"labelSelector": {
"matchExpressions": [
{
"key": "security",
"operator": "In",
"values": ["S1"]
}
]
},
"topologyKey": "failure-domain.beta.kubernetes.io/zone"
}
]
},
"podAntiAffinity": {
"requiredDuringSchedulingIgnoredDuringExecution": [
{
"labelSelector": {
"matchExpressions": [
{
"key": "security",
"operator": "In",
"values": ["S2"]
}
]
},
"topologyKey": "kubernetes.io/hostname"
}
]
}
}
tolerations = [
{
'key': "key",
'operator': 'Equal',
'value': 'value'
}
]
k = KubernetesPodOperator(namespace='default',
image="ubuntu:16.04",
cmds=["bash", "-cx"],
arguments=["echo", "10"],
labels={"foo": "bar"},
secrets=[secret_file, secret_env, secret_all_keys],
volumes=[volume],
volume_mounts=[volume_mount]
name="test",
task_id="task",
affinity=affinity,
is_delete_operator_pod=True,
hostnetwork=False,
tolerations=tolerations,
configmaps=configmaps
)
'''


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    d = tmp_path_factory.mktemp("migrate")
    src = d / "seed_kpo.py"
    src.write_text(seed_code())
    out = d / "out" / "seed_kpo.py"
    result = migrate_file(src, out)
    return src, out, result


def test_seed_does_not_parse_as_printed():
    import ast

    with pytest.raises(SyntaxError):
        ast.parse(seed_code())


def test_migration_reports_every_change(migrated):
    _, _, result = migrated
    text = "\n".join(result.messages)
    assert "SILENTLY IGNORED" in text and 'on_finish_action="delete_pod"' in text
    assert "`configmaps=[...]` → `env_from=" in text
    assert "Volume(name, configs={...}) → k8s.V1Volume" in text
    assert "VolumeMount(...) → k8s.V1VolumeMount" in text
    assert "'failure-domain.beta.kubernetes.io/zone' → 'topology.kubernetes.io/zone'" in text
    assert re.search(r"arguments=\['echo', '10'\]` with `bash -cx` runs only .*`arguments=\['echo 10'\]`", text)
    assert "inserted a missing comma" in text
    assert "KubernetesOperator" in text  # the import that never existed
    assert "`matchExpressions` must be a list" in text
    assert "no DAG in the file" in text


def test_migrated_file_written_atomically_and_compiles(migrated):
    _, out, result = migrated
    assert out.read_text() == result.source
    compile(out.read_text(), str(out), "exec")
    assert not list(out.parent.glob(".*.tmp"))
    code = out.read_text()
    assert "airflow.contrib" not in code and "is_delete_operator_pod" not in code and "configmaps=" not in code
    assert "failure-domain" not in code


def test_migrated_seed_imports_and_builds_the_pod(migrated):
    _, out, _ = migrated
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(out))
    assert bag.import_errors == {}
    assert bag.captured_warnings == {}
    assert not [w for w in caught if issubclass(w.category, DeprecationWarning) and str(out) in str(w.filename)]
    dag = bag.dags["seed_kpo"]
    task = dag.get_task("task")
    assert task.on_finish_action.value == "delete_pod"
    from kubernetes.client import ApiClient

    pod = ApiClient().sanitize_for_serialization(task.build_pod_request_obj(dry_run=True))
    c = pod["spec"]["containers"][0]
    assert c["args"] == ["echo 10"] and c["command"] == ["bash", "-cx"]
    assert {"configMapRef": {"name": "test-configmap-1"}} in c["envFrom"]
    assert {"configMapRef": {"name": "test-configmap-2"}} in c["envFrom"]
    assert {"secretRef": {"name": "airflow-secrets-2"}} in c["envFrom"]
    assert {"mountPath": "/root/mount_file", "name": "test-volume", "readOnly": True} in c["volumeMounts"]
    assert {"name": "test-volume", "persistentVolumeClaim": {"claimName": "test-volume"}} in pod["spec"]["volumes"]
    aff = pod["spec"]["affinity"]
    assert aff["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert aff["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["preference"]["matchExpressions"] == [
        {"key": "disktype", "operator": "In", "values": ["ssd"]}]
    assert pod["spec"]["tolerations"] == [{"key": "key", "operator": "Equal", "value": "value"}]
    assert pod["spec"]["hostNetwork"] is False
    assert pod["metadata"]["labels"]["foo"] == "bar"


def test_other_rewrites():
    src = '''
from airflow import DAG
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator
with DAG("d", schedule_interval=None) as dag:
    KubernetesPodOperator(task_id="t", name="t", image="i", is_delete_operator_pod=False,
                          resources={"request_memory": "64Mi", "limit_cpu": "1"}, node_selectors={"a": "b"},
                          configmaps=cms, env_from=[x])
'''
    result = migrate_source(src)
    code = result.source
    assert "from airflow.sdk import DAG" in code and "schedule=None" in code
    assert "on_finish_action='keep_pod'" in code
    assert "container_resources=k8s.V1ResourceRequirements(requests={'memory': '64Mi'}, limits={'cpu': '1'})" in code
    assert "node_selector={'a': 'b'}" in code
    assert "env_from=[x] + [k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name=name)) for name in cms]" in code
    assert "dag = DAG(" not in code  # the file has a DAG already
    assert "from kubernetes.client import models as k8s" in code


def test_unparseable_file_is_an_error():
    with pytest.raises(MigrationError):
        migrate_source("def (:\n")


def test_cli_migrate_dag(tmp_path):
    from typer.testing import CliRunner

    from airkube.cli import app

    src = tmp_path / "seed.py"
    src.write_text(seed_code())
    res = CliRunner().invoke(app, ["migrate-dag", str(src), "-o", str(tmp_path / "new.py")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "new.py").exists()
    assert "self-check passed: Airflow imported DAG(s) seed" in res.output
    res = CliRunner().invoke(app, ["migrate-dag", str(src), "--strict", "--no-self-check"])
    assert res.exit_code == 1
    assert "KubernetesPodOperator(" in res.stdout
