"""sh -c with a full script and a $0 name for its error messages: kept exactly."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator

with DAG("named_script", start_date=datetime(2020, 1, 1), schedule_interval="@daily", catchup=False) as dag:
    KubernetesPodOperator(
        task_id="etl",
        name="etl",
        namespace="etl",
        image="alpine",
        cmds=["sh", "-ec", "cd /tmp; ls -1 | wc -l"],
        arguments=["etl-job"],
        xcom_push=False,
    )
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
