"""execution_date in templates and in the context: renamed logical_date in Airflow 3."""
from datetime import datetime

from airflow import DAG
from airflow.operators.bash_operator import BashOperator
from airflow.operators.python_operator import PythonOperator
from airflow.providers.cncf.kubernetes.operators.kubernetes_pod import KubernetesPodOperator


def log_date(**kwargs):
    print("running for", kwargs["execution_date"])


with DAG("partitions", start_date=datetime(2021, 1, 1), schedule_interval="@daily", catchup=False) as dag:
    stamp = BashOperator(task_id="stamp", bash_command="echo {{ execution_date.strftime('%Y%m%d') }}")
    log = PythonOperator(task_id="log", python_callable=log_date)
    load = KubernetesPodOperator(
        task_id="load",
        name="load",
        namespace="etl",
        image="registry.example.com/loader:5",
        cmds=["/load"],
        arguments=["--partition", "{{ execution_date.strftime('%Y-%m-%d') }}"],
    )
    stamp >> log >> load
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
