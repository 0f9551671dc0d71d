"""Every 1.10 volume source the docs list: configMap with items, secret, hostPath, emptyDir."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.kubernetes.volume import Volume
from airflow.contrib.kubernetes.volume_mount import VolumeMount
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator

settings_cfg = {
    "configMap": {
        "name": "report-settings",
        "items": [{"key": "settings.yaml", "path": "settings.yaml"}],
        "defaultMode": 420,
    }
}
volumes = [
    Volume(name="settings", configs=settings_cfg),
    Volume(name="tls", configs={"secret": {"secretName": "report-tls", "optional": True}}),
    Volume(name="host-logs", configs={"hostPath": {"path": "/var/log/reports", "type": "DirectoryOrCreate"}}),
    Volume(name="scratch", configs={"emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}}),
]
mounts = [
    VolumeMount("settings", mount_path="/etc/report", sub_path=None, read_only=True),
    VolumeMount("tls", mount_path="/etc/tls", sub_path=None, read_only=True),
    VolumeMount("host-logs", mount_path="/logs", sub_path=None, read_only=False),
    VolumeMount("scratch", mount_path="/tmp/scratch", sub_path=None, read_only=False),
]

dag = DAG("reports", start_date=datetime(2020, 1, 1), schedule_interval="@weekly", catchup=False)

render = KubernetesPodOperator(
    namespace="reports",
    image="registry.example.com/reports:2.0",
    cmds=["/usr/local/bin/render"],
    arguments=["--config", "/etc/report/settings.yaml"],
    volumes=volumes,
    volume_mounts=mounts,
    name="render",
    task_id="render",
    is_delete_operator_pod=False,
    dag=dag,
)
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
