"""next_ds has no exact Airflow 3 equivalent for every timetable: refused."""
from datetime import datetime

from airflow import DAG
from airflow.operators.bash_operator import BashOperator

with DAG("window", start_date=datetime(2021, 1, 1), schedule_interval="@daily", catchup=False) as dag:
    BashOperator(task_id="window", bash_command="echo {{ ds }} {{ next_ds }}")
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
