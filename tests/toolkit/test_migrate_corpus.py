"""`airkube migrate-dag` on a corpus of realistic Airflow 1.10 / 2.x DAGs (tests/toolkit/migrate_corpus/).

Each file either converts — and then the output imports with the real Airflow 3.3.2, every KubernetesPodOperator
builds its pod with the command, arguments and volumes the 1.10 author meant, and ruff's Airflow rules pass — or
is refused with a non-zero exit naming the line, and nothing is written.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airkube-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from airkube.migrate import (
    MigrationRefused,
    SelfCheckFailed,
    migrate_file,
    migrate_source,
)
from airkube.migrate.shell import plan

CORPUS = Path(__file__).parent / "migrate_corpus"
RUFF = Path(sys.executable).parent / "ruff"

# file → (line, words the message must contain) for every refusal
REFUSED: dict[str, list[tuple[int, str]]] = {
    "c05_volume_from_variable.py": [(11, "Volume(configs=...) cannot be read statically")],
    "c10_shell_syntax_args.py": [(8, "'&&' contains shell syntax")],
    "c11_removed_class_still_used.py": [(11, "`Volume` (the removed 1.10 class Volume) is used here")],
    "c12_volume_config_typo.py": [(8, "'readonly' is not a field of V1PersistentVolumeClaimVolumeSource")],
    "c14_next_ds_template.py": [(8, "template variable `next_ds` was removed")],
    "c18_other_contrib_operator.py": [(5, "airflow.contrib.operators.gcs_to_bq")],
    "c19_resources_from_function.py": [(19, "`resources=` cannot be read statically")],
    "c21_sla_and_ui_args.py": [(7, "default_args 'sla' is accepted but never evaluated")],
}
PVC = {"name": "export-data", "persistentVolumeClaim": {"claimName": "export-pvc", "readOnly": False}}
# file → {dag_id: {task_id: expected pod fields (container fields at top level, "volumes"/"spec.*" for the pod)}}
CONVERTED: dict[str, dict[str, dict[str, dict[str, object]]]] = {
    "c01_contrib_kpo_pvc.py": {"nightly_export": {"export": {
        "command": ["bash", "-cx"], "args": ["/opt/export.sh --out /data/export.csv"], "volumes": [PVC],
        "volumeMounts": [{"name": "export-data", "mountPath": "/data", "subPath": "nightly", "readOnly": False}],
        "envFrom": [{"configMapRef": {"name": "exporter-env"}}],
        "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "warehouse-creds", "key": "password"}}}],
        "on_finish_action": "delete_pod"}}},
    "c02_python_c_argv.py": {"python_inline": {"count_rows": {
        "command": ["python3", "-c"],
        "args": ["import sys; print(len(sys.argv[1:]), sys.argv[1:])", "orders", "{{ ds }}"]}}},
    "c03_sh_c_positional.py": {"greeter": {"greet": {
        "command": ["sh", "-c", 'echo "$0 says hello to $1"'],
        "args": ["greeter", "{{ dag_run.conf.get('who', 'world') }}"], "on_finish_action": "keep_pod"}}},
    "c04_config_secret_host_empty_volumes.py": {"reports": {"render": {
        "command": ["/usr/local/bin/render"], "args": ["--config", "/etc/report/settings.yaml"],
        "volumes": [
            {"name": "settings", "configMap": {"name": "report-settings", "defaultMode": 420,
                                               "items": [{"key": "settings.yaml", "path": "settings.yaml"}]}},
            {"name": "tls", "secret": {"secretName": "report-tls", "optional": True}},
            {"name": "host-logs", "hostPath": {"path": "/var/log/reports", "type": "DirectoryOrCreate"}},
            {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}}],
        "volumeMounts": [{"name": "settings", "mountPath": "/etc/report", "readOnly": True},
                         {"name": "tls", "mountPath": "/etc/tls", "readOnly": True},
                         {"name": "host-logs", "mountPath": "/logs", "readOnly": False},
                         {"name": "scratch", "mountPath": "/tmp/scratch", "readOnly": False}],
        "on_finish_action": "keep_pod"}}},
    "c06_resources_port_runtime_env.py": {"model_api_probe": {"probe": {
        "command": ["/probe"], "args": ["--listen", ":8080"],
        "resources": {"requests": {"memory": "512Mi", "cpu": "250m"}, "limits": {"memory": "1Gi", "cpu": "1"}},
        "ports": [{"name": "http", "containerPort": 8080}],
        "env": [{"name": "MODE", "value": "canary"},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}}},
    "c07_resources_dict_affinity.py": {"batch_scoring": {"score": {
        "command": ["python", "-m", "scorer"], "args": ["--date", "{{ ds }}"],
        "resources": {"requests": {"memory": "2Gi", "cpu": "1"}, "limits": {"memory": "4Gi", "cpu": "2"}},
        "spec.nodeSelector": {"kubernetes.io/os": "linux"},
        "spec.imagePullSecrets": [{"name": "regcred"}, {"name": "backup-regcred"}],
        "spec.tolerations": [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}],
        "spec.affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In",
                                   "values": ["eu-west-1a", "eu-west-1b"]}]}]}}}}}},
    "c08_old_operator_paths.py": {"daily_summary": {}},
    "c09_airflow2_provider_kpo.py": {"build_wheels": {"build": {
        "command": ["pip", "wheel", "-w", "/root/.cache/wheels", "requests==2.25.1"],
        "volumes": [{"name": "cache", "persistentVolumeClaim": {"claimName": "pip-cache"}}],
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}, "on_finish_action": "keep_pod"}}},
    "c13_execution_date_templates.py": {"partitions": {"load": {
        "command": ["/load"], "args": ["--partition", "{{ logical_date.strftime('%Y-%m-%d') }}"]}}},
    "c15_taskflow_2x.py": {"etl_taskflow": {}},
    "c16_doc_snippet_no_dag.py": {"c16_doc_snippet_no_dag": {"snippet": {
        "command": ["bash", "-c"], "args": ["ls -la /work"],
        "volumes": [{"name": "work", "hostPath": {"path": "/srv/work"}}],
        "volumeMounts": [{"name": "work", "mountPath": "/work", "readOnly": False}],
        "env": [{"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api-secrets", "key": "token"}}}],
        "on_finish_action": "delete_pod"}}},
    "c17_module_level_argv.py": {"module_argv": {"report": {
        "command": ["/bin/bash", "-ec"], "args": ["run-report --date '{{ ds }}' --title 'Daily report'"]}}},
    "c20_sh_c_named_dollar0.py": {"named_script": {"etl": {
        "command": ["sh", "-ec", "cd /tmp; ls -1 | wc -l"], "args": ["etl-job"], "on_finish_action": "keep_pod",
        "imagePullPolicy": "IfNotPresent"}}},
}


def test_corpus_is_covered():
    files = sorted(p.name for p in CORPUS.glob("*.py"))
    assert len(files) >= 15
    assert sorted([*REFUSED, *CONVERTED]) == files
    assert len(CONVERTED) == 13 and len(REFUSED) == 8


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("migrated")
    for name in CONVERTED:
        src = CORPUS / name
        result = migrate_file(src, out / name, check=False)  # the tool's own self-check is tested below
        assert result.findings, name
    return out


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_line_and_nothing_written(name, tmp_path):
    with pytest.raises(MigrationRefused) as info:
        migrate_file(CORPUS / name, tmp_path / name, check=False)
    got = [(r.line, r.message) for r in info.value.refusals]
    for line, words in REFUSED[name]:
        assert any(ln == line and words in msg for ln, msg in got), got
    assert f"{CORPUS / name}:{REFUSED[name][0][0]}:" in str(info.value)
    assert not (tmp_path / name).exists() and not list(tmp_path.iterdir())


def test_ruff_airflow_rules_pass_on_every_converted_file(converted):
    proc = subprocess.run([str(RUFF), "check", "--isolated", "--no-cache", "--select", "AIR,F821", "--ignore", "AIR001",
                           "--output-format", "json", str(converted)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, [f"{d['filename']}:{d['location']['row']} {d['code']} {d['message']}"
                                  for d in json.loads(proc.stdout or "[]")] or proc.stderr
    assert len(list(converted.glob("*.py"))) == len(CONVERTED)


def _get(obj: dict[str, object], key: str) -> object:
    return obj.get(key)


@pytest.mark.parametrize("name", sorted(CONVERTED))
def test_converted_imports_and_builds_the_intended_pod(name, converted):
    from airflow.dag_processing.dagbag import DagBag
    from kubernetes.client import ApiClient

    path = converted / name
    bag = DagBag(dag_folder=str(path))
    assert bag.import_errors == {}
    assert sorted(bag.dags) == sorted(CONVERTED[name])
    code = path.read_text()
    code = code.replace(ast.get_docstring(ast.parse(code)) or "\0", "")  # the docstrings name the old constructs
    for old in ("airflow.contrib", "days_ago", "DummyOperator", "schedule_interval", "is_delete_operator_pod",
                "provide_context", "execution_date", "airflow.operators.", "airflow.utils.dates"):
        assert old not in code, old
    for dag_id, tasks in CONVERTED[name].items():
        dag = bag.dags[dag_id]
        for task_id, want in tasks.items():
            task = dag.get_task(task_id)
            pod = ApiClient().sanitize_for_serialization(task.build_pod_request_obj(dry_run=True))
            container = pod["spec"]["containers"][0]
            for key, value in want.items():
                if key == "on_finish_action":
                    assert task.on_finish_action.value == value
                elif key == "volumes":
                    assert pod["spec"].get("volumes") == value
                elif key.startswith("spec."):
                    assert pod["spec"].get(key.removeprefix("spec.")) == value, key
                elif key in ("command", "args"):
                    assert container.get(key, []) == value, key  # exactly the argv, no join, no split
                else:
                    assert container.get(key) == value, key
            if "args" not in want:
                assert not container.get("args")


def test_operators_moved_and_renamed(converted):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(converted / "c08_old_operator_paths.py")).dags["daily_summary"]
    types = {t.task_id: type(t) for t in dag.tasks}
    assert types["start"].__module__ == "airflow.providers.standard.operators.empty"
    assert types["start"].__name__ == "EmptyOperator"
    assert types["weekday"].__module__ == "airflow.providers.standard.operators.bash"
    assert types["summary"].__module__ == "airflow.providers.standard.operators.python"
    assert dag.catchup is False
    start = dag.default_args["start_date"]
    import pendulum

    assert start == pendulum.today("UTC").add(days=-2)  # what days_ago(2) returned


def test_tool_self_check_passes_and_writes(tmp_path):
    out = tmp_path / "out.py"
    result = migrate_file(CORPUS / "c04_config_secret_host_empty_volumes.py", out)  # check=True: the default
    assert out.read_text() == result.source
    assert any(c.startswith("passed: Airflow imported DAG(s) reports; 1 pod(s) built") for c in result.checks)


def test_tool_self_check_failure_writes_nothing(tmp_path):
    src = tmp_path / "bad.py"
    src.write_text(
        "from datetime import datetime\n"
        "from airflow import DAG\n"
        "from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator\n"
        "with DAG('bad', start_date=datetime(2020, 1, 1), schedule_interval=None) as dag:\n"
        "    KubernetesPodOperator(task_id='t', name='t', image='i', cmds=['true'], no_such_argument=1)\n"
    )
    with pytest.raises(SelfCheckFailed) as info:
        migrate_file(src, tmp_path / "out.py")
    assert "Invalid arguments were passed to KubernetesPodOperator" in str(info.value)
    assert "no_such_argument" in str(info.value)
    assert f"{src}:5: Airflow import: TypeError" in str(info.value)  # the line of the original file
    assert not (tmp_path / "out.py").exists()


def test_ruff_check_flags_what_the_tool_does_not_map(tmp_path):
    from airkube.migrate.selfcheck import ruff_check

    path = tmp_path / "left.py"
    path.write_text("from airflow.sensors.base_sensor_operator import BaseSensorOperator\nprint(BaseSensorOperator, undefined)\n")
    problems, _ = ruff_check(path)
    assert any("AIR301" in msg for _, msg in problems) and (2, "ruff F821 Undefined name `undefined`") in problems


def test_cli_refusal_exit_code_and_brackets_survive(tmp_path):
    from typer.testing import CliRunner

    from airkube.cli import app

    out = tmp_path / "out.py"
    res = CliRunner().invoke(app, ["migrate-dag", str(CORPUS / "c10_shell_syntax_args.py"), "-o", str(out)])
    assert res.exit_code == 2, res.output
    assert "c10_shell_syntax_args.py:8:" in res.output
    assert "arguments=['find /data -mtime +7 -delete && echo done']" in res.output  # rich markup did not eat [...]
    assert not out.exists()
    res = CliRunner().invoke(app, ["migrate-dag", str(CORPUS / "c01_contrib_kpo_pvc.py"), "--no-self-check"])
    assert res.exit_code == 0, res.output
    assert "`configmaps=[...]` → `env_from=[k8s.V1EnvFromSource(config_map_ref=...)]`" in res.output


# --- the rules behind the corpus -----------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "n_cmds", "action", "new"), [
    (["bash", "-cx", "echo", "10"], 2, "join", ("bash", "-cx", "echo 10")),
    (["bash", "-c", "echo", "hello world"], 2, "join", ("bash", "-c", "echo 'hello world'")),
    (["/usr/bin/env", "bash", "-o", "pipefail", "-ec", "run", "--x"], 5, "join",
     ("/usr/bin/env", "bash", "-o", "pipefail", "-ec", "run --x")),
    (["python", "-c", "import sys; print(sys.argv)", "a", "b"], 2, "keep", ()),
    (["python3.11", "-u", "-c", "print"], 3, "keep", ()),
    (["sh", "-c", "echo $1", "_", "x"], 2, "keep", ()),
    (["sh", "-c", 'for a in "$@"; do echo $a; done', "_", "x"], 2, "keep", ()),
    (["sh", "-c", "echo hello", "name"], 2, "keep", ()),
    (["myprog", "-c", "conf.yaml", "extra"], 1, "keep", ()),
    (["bash", "-c", "echo", "$HOME"], 2, "refuse", ()),
    (["bash", "script.sh", "a", "b"], 1, "keep", ()),
])
def test_shell_plan(argv, n_cmds, action, new):
    decision = plan(argv, n_cmds)
    assert decision.action == action
    if action == "join":
        assert decision.argv == new


def test_import_with_other_names_keeps_them():
    src = (
        "from airflow import DAG, settings\n"
        "from airflow.models import DAG as D2, Variable, XCom\n"
        "print(settings, D2, Variable, XCom)\n"
        "with DAG('x', schedule=None) as dag:\n    pass\n"
    )
    code = migrate_source(src).source
    assert "from airflow import settings" in code
    assert "from airflow.sdk import DAG" in code and "from airflow.sdk import DAG as D2, Variable" in code
    assert "from airflow.models import XCom" in code


def test_days_ago_still_referenced_is_refused():
    src = "from airflow.utils.dates import days_ago\nSTART = days_ago\n"
    with pytest.raises(MigrationRefused) as info:
        migrate_source(src)
    assert info.value.refusals[0].line == 2


def test_default_schedule_and_catchup_kept():
    code = migrate_source("from airflow import DAG\nfrom datetime import datetime\n"
                          "dag = DAG('d', start_date=datetime(2020, 1, 1))\n").source
    assert "schedule=timedelta(days=1)" in code and "catchup=True" in code and "from datetime import timedelta" in code


def test_sensor_paths_moved():
    code = migrate_source("from airflow.sensors.base_sensor_operator import BaseSensorOperator\n"
                          "from airflow.sensors.time_delta_sensor import TimeDeltaSensor\n"
                          "print(BaseSensorOperator, TimeDeltaSensor)\n").source
    assert "from airflow.sdk import BaseSensorOperator" in code
    assert "from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor" in code


def test_ui_only_dag_arguments_dropped():
    code = migrate_source("from airflow import DAG\nDAG('d', schedule=None, default_view='graph', orientation='LR')\n").source
    assert "default_view" not in code and "orientation" not in code


def test_bare_dag_decorator_keeps_the_old_default_schedule():
    code = migrate_source("from airflow.decorators import dag\n@dag\ndef d():\n    pass\nd()\n").source
    assert "@dag(schedule=timedelta(days=1), catchup=True)" in code


@pytest.mark.parametrize(("src", "line", "words"), [
    (("from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator\n\n"
     "KubernetesPodOperator('default', 'ubuntu', 'n', task_id='t')\n"), 3, "positional arguments"),
    ("X = 1\nCMD = f'echo {{{{ next_execution_date }}}} {X}'\n", 2, "`next_execution_date` was removed"),
    ("X = 1\nCMD = f'echo {{{{ execution_date }}}} {X}'\n", 2, "use `logical_date`"),
    ("from airflow.contrib.kubernetes.volume import Volume\nv = Volume(name='v', configs={})\n", 2, "has no source"),
    ("from airflow.contrib.kubernetes.pod import Resources\nr = Resources('1Gi', '1', '2Gi')\n", 2, "positional"),
    ("from airflow.contrib.kubernetes.pod import Port\np = Port(name='http')\n", 2, "container_port"),
    ("import airflow.contrib.kubernetes.volume\n", 1, "`import airflow.contrib.kubernetes.volume`"),
    ("from airflow.operators.subdag_operator import SubDagOperator\n", 1, "no mapping for it"),
    ("from airflow.sensors.sql_sensor import SqlSensor\n", 1, "apache-airflow-providers-*"),
    ("from airflow import DAG\nDAG('d', schedule_interval='@daily', schedule='@hourly')\n", 2, "both `schedule_interval=`"),
])
def test_small_refusals(src, line, words):
    with pytest.raises(MigrationRefused) as info:
        migrate_source(src)
    assert any(r.line == line and words in r.message for r in info.value.refusals), info.value.refusals
