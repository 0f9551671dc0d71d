"""A 1.10 DAG with no Kubernetes at all: old operator modules, provide_context, days_ago."""
from airflow import DAG
from airflow.operators.bash_operator import BashOperator
from airflow.operators.dummy_operator import DummyOperator
from airflow.operators.python_operator import BranchPythonOperator, PythonOperator
from airflow.utils.dates import days_ago

args = {"owner": "analytics", "start_date": days_ago(2), "provide_context": True}


def pick_branch(**context):
    return "weekday" if context["ds"] else "weekend"


def summarize(**context):
    print("summary for", context["ds"])


dag = DAG("daily_summary", default_args=args, schedule_interval="@daily", catchup=False)

start = DummyOperator(task_id="start", dag=dag)
branch = BranchPythonOperator(task_id="branch", python_callable=pick_branch, provide_context=True, dag=dag)
weekday = BashOperator(task_id="weekday", bash_command="echo weekday {{ ds }}", dag=dag)
weekend = DummyOperator(task_id="weekend", dag=dag)
summary = PythonOperator(task_id="summary", python_callable=summarize, provide_context=True,
                         trigger_rule="none_failed", dag=dag)

start >> branch >> [weekday, weekend] >> summary
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
