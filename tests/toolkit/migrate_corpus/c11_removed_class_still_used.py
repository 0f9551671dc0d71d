"""Volume is used as a class (a helper that checks its argument), not only called."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.kubernetes.volume import Volume
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator


def checked(volumes):
    for v in volumes:
        if not isinstance(v, Volume):
            raise TypeError(v)
    return volumes


with DAG("checked_volumes", start_date=datetime(2020, 1, 1), schedule_interval=None) as dag:
    KubernetesPodOperator(
        task_id="run",
        name="run",
        namespace="default",
        image="alpine:3.12",
        cmds=["true"],
        volumes=checked([Volume(name="v", configs={"emptyDir": {}})]),
    )
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
