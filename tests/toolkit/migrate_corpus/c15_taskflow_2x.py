"""Airflow 2 TaskFlow: decorators from airflow.decorators, days_ago, schedule_interval."""
from airflow.decorators import dag, task
from airflow.operators.empty import EmptyOperator
from airflow.utils.dates import days_ago


@dag(schedule_interval="@daily", start_date=days_ago(3), catchup=False, tags=["taskflow"])
def etl_taskflow():
    @task
    def extract():
        return {"a": 1, "b": 2}

    @task
    def total(data: dict):
        return sum(data.values())

    done = EmptyOperator(task_id="done")
    total(extract()) >> done


etl_taskflow()
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
