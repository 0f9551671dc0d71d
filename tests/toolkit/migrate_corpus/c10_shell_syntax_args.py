"""bash -c with a command split over arguments that contain shell syntax: joining would be a guess."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator

with DAG("cleanup", start_date=datetime(2020, 1, 1), schedule_interval="@daily", catchup=False) as dag:
    cleanup = KubernetesPodOperator(
        task_id="cleanup",
        name="cleanup",
        namespace="ops",
        image="alpine:3.12",
        cmds=["bash", "-c"],
        arguments=["find", "/data", "-mtime", "+7", "-delete", "&&", "echo", "done"],
    )
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
