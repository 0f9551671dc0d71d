"""A 2.x DAG with an SLA and UI-only arguments: UI arguments are dropped, the SLA (never evaluated now) is refused."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

default_args = {"owner": "ops", "sla": timedelta(hours=2), "task_concurrency": 1}

with DAG(
    "sla_report",
    default_args=default_args,
    start_date=datetime(2021, 1, 1),
    schedule_interval="@daily",
    default_view="graph",
    orientation="LR",
    catchup=False,
) as dag:
    BashOperator(task_id="report", bash_command="make report")
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
