"""python -c with its own argv: the words after the program are sys.argv[1:], never to be joined."""
import datetime

from airflow import DAG
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator

dag = DAG(
    dag_id="python_inline",
    start_date=datetime.datetime(2021, 3, 1),
    schedule_interval="@hourly",
    catchup=False,
)

count_rows = KubernetesPodOperator(
    task_id="count_rows",
    name="count-rows",
    namespace="etl",
    image="python:3.8-slim",
    cmds=["python3", "-c"],
    arguments=["import sys; print(len(sys.argv[1:]), sys.argv[1:])", "orders", "{{ ds }}"],
    is_delete_operator_pod=True,
    dag=dag,
)
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
