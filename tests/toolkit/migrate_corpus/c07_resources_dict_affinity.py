"""resources as a dict, node affinity, tolerations, node_selectors and pull secrets as a string."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator

affinity = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "failure-domain.beta.kubernetes.io/zone", "operator": "In",
                                       "values": ["eu-west-1a", "eu-west-1b"]}]}
            ]
        }
    }
}
tolerations = [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}]

dag = DAG("batch_scoring", start_date=datetime(2019, 11, 1), schedule_interval="@daily", catchup=False)

score = KubernetesPodOperator(
    task_id="score",
    name="score",
    namespace="batch",
    image="registry.example.com/scorer:3.1",
    cmds=["python", "-m", "scorer"],
    arguments=["--date", "{{ ds }}"],
    resources={"request_memory": "2Gi", "request_cpu": "1", "limit_memory": "4Gi", "limit_cpu": "2"},
    affinity=affinity,
    tolerations=tolerations,
    node_selectors={"beta.kubernetes.io/os": "linux"},
    image_pull_secrets="regcred,backup-regcred",
    is_delete_operator_pod=True,
    dag=dag,
)
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
