"""resources computed by a function: cannot be read statically."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator


def sized(size):
    return {"request_memory": f"{size}Gi", "limit_memory": f"{2 * size}Gi"}


with DAG("sized_jobs", start_date=datetime(2020, 1, 1), schedule_interval="@daily", catchup=False) as dag:
    KubernetesPodOperator(
        task_id="big",
        name="big",
        namespace="batch",
        image="registry.example.com/job:1",
        cmds=["/job"],
        resources=sized(8),
    )
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
