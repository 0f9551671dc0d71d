"""A deliberate sh -c with $0/$1: the script reads its positional parameters."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator

with DAG("greeter", start_date=datetime(2020, 6, 1), schedule_interval=None) as dag:
    greet = KubernetesPodOperator(
        task_id="greet",
        name="greet",
        namespace="default",
        image="busybox:1.31",
        cmds=["sh", "-c", 'echo "$0 says hello to $1"'],
        arguments=["greeter", "{{ dag_run.conf.get('who', 'world') }}"],
    )
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
