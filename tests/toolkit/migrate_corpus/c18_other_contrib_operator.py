"""A contrib operator the tool has no mapping for: refused (port it to its provider package)."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.operators.gcs_to_bq import GoogleCloudStorageToBigQueryOperator

with DAG("gcs_load", start_date=datetime(2020, 1, 1), schedule_interval="@daily", catchup=False) as dag:
    GoogleCloudStorageToBigQueryOperator(
        task_id="load",
        bucket="raw-events",
        source_objects=["events/{{ ds }}/*.json"],
        destination_project_dataset_table="analytics.events",
    )
# ruff: noqa  (a fixture of Airflow 1.10 / 2.x code, kept as users wrote it)
