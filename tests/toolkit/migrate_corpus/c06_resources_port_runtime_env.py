"""The removed model classes: Resources, Port and PodRuntimeInfoEnv."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.kubernetes.pod import Port, Resources
from airflow.contrib.kubernetes.pod_runtime_info_env import PodRuntimeInfoEnv
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator

api_resources = Resources(request_memory="512Mi", request_cpu="250m", limit_memory="1Gi", limit_cpu="1", limit_gpu=None)
http = Port("http", 8080)
pod_ip = PodRuntimeInfoEnv("POD_IP", "status.podIP")
node_name = PodRuntimeInfoEnv(name="NODE_NAME", field_path="spec.nodeName")

with DAG("model_api_probe", start_date=datetime(2020, 5, 1), schedule_interval="*/30 * * * *", catchup=False) as dag:
    probe = KubernetesPodOperator(
        task_id="probe",
        name="probe",
        namespace="ml",
        image="registry.example.com/probe:0.9",
        cmds=["/probe"],
        arguments=["--listen", ":8080"],
        resources=api_resources,
        ports=[http],
        pod_runtime_info_envs=[pod_ip, node_name],
        env_vars={"MODE": "canary"},
        is_delete_operator_pod=True,
    )
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
