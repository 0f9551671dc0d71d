"""cmds and arguments built once at module level and shared."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator

SHELL = ["/bin/bash", "-ec"]
REPORT_ARGS = ["run-report", "--date", "{{ ds }}", "--title", "Daily report"]

with DAG("module_argv", start_date=datetime(2020, 1, 1), schedule_interval="@daily", catchup=False) as dag:
    report = KubernetesPodOperator(
        task_id="report",
        name="report",
        namespace="etl",
        image="registry.example.com/report:1",
        cmds=SHELL,
        arguments=REPORT_ARGS,
        is_delete_operator_pod=True,
    )
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
