"""The PVC name comes from an Airflow Variable: the configs cannot be read statically."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.kubernetes.volume import Volume
from airflow.contrib.kubernetes.volume_mount import VolumeMount
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator
from airflow.models import Variable

volume_config = Variable.get("shared_volume_config", deserialize_json=True)
shared = Volume(name="shared", configs=volume_config)
shared_mount = VolumeMount("shared", mount_path="/shared", sub_path=None, read_only=False)

with DAG("shared_volume", start_date=datetime(2020, 1, 1), schedule_interval="@daily", catchup=False) as dag:
    KubernetesPodOperator(
        task_id="write",
        name="write",
        namespace="etl",
        image="alpine:3.12",
        cmds=["sh", "-c", "date > /shared/last-run"],
        volumes=[shared],
        volume_mounts=[shared_mount],
    )
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
