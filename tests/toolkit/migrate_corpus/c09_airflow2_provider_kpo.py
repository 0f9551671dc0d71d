"""An Airflow 2.x DAG on an old cncf.kubernetes provider (operators.kubernetes_pod, is_delete_operator_pod)."""
from airflow import DAG
from airflow.operators.dummy import DummyOperator
from airflow.providers.cncf.kubernetes.operators.kubernetes_pod import KubernetesPodOperator
from airflow.utils.dates import days_ago
from kubernetes.client import models as k8s

cache = k8s.V1Volume(name="cache", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="pip-cache"))
cache_mount = k8s.V1VolumeMount(name="cache", mount_path="/root/.cache")

with DAG(
    dag_id="build_wheels",
    start_date=days_ago(1),
    schedule_interval="@daily",
    max_active_runs=1,
    tags=["build"],
) as dag:
    begin = DummyOperator(task_id="begin")
    build = KubernetesPodOperator(
        task_id="build",
        name="build",
        namespace="ci",
        image="python:3.9",
        cmds=["pip", "wheel", "-w", "/root/.cache/wheels", "requests==2.25.1"],
        volumes=[cache],
        volume_mounts=[cache_mount],
        container_resources=k8s.V1ResourceRequirements(requests={"cpu": "500m", "memory": "512Mi"}),
        is_delete_operator_pod=False,
        in_cluster=True,
    )
    begin >> build
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
