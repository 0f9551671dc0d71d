"""Nightly export: the 1.10 contrib operator with a PVC, secrets and config maps."""
from datetime import timedelta

from airflow import DAG
from airflow.contrib.kubernetes.secret import Secret
from airflow.contrib.kubernetes.volume import Volume
from airflow.contrib.kubernetes.volume_mount import VolumeMount
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator
from airflow.utils.dates import days_ago

default_args = {
    "owner": "data-eng",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "start_date": days_ago(1),
}

export_volume = Volume(
    name="export-data",
    configs={"persistentVolumeClaim": {"claimName": "export-pvc", "readOnly": False}},
)
export_mount = VolumeMount("export-data", mount_path="/data", sub_path="nightly", read_only=False)
db_password = Secret("env", "DB_PASSWORD", "warehouse-creds", "password")

with DAG("nightly_export", default_args=default_args, schedule_interval="0 2 * * *", catchup=False) as dag:
    export = KubernetesPodOperator(
        task_id="export",
        name="export",
        namespace="etl",
        image="registry.example.com/exporter:1.4",
        cmds=["bash", "-cx"],
        arguments=["/opt/export.sh", "--out", "/data/export.csv"],
        volumes=[export_volume],
        volume_mounts=[export_mount],
        secrets=[db_password],
        configmaps=["exporter-env"],
        is_delete_operator_pod=True,
        get_logs=True,
    )
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
