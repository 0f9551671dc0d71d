"""A typo in a volume source field (readonly for readOnly): the tool refuses instead of dropping it."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.kubernetes.volume import Volume
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator

archive = Volume(name="archive", configs={"persistentVolumeClaim": {"claimName": "archive", "readonly": True}})

with DAG("archive_reader", start_date=datetime(2020, 1, 1), schedule_interval="@daily", catchup=False) as dag:
    KubernetesPodOperator(
        task_id="read",
        name="read",
        namespace="default",
        image="alpine:3.12",
        cmds=["ls", "/archive"],
        volumes=[archive],
    )
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
