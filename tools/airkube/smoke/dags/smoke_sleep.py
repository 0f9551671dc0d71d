"""smoke_sleep: N mapped tasks that each sleep S seconds (conf {"count": N, "seconds": S}).

Used by the reliability tests: a scheduler or database pod is deleted while these tasks run.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, get_current_context, task


@dag(dag_id="smoke_sleep", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False,
     tags=["airkube", "smoke"], max_active_tasks=64, params={"count": 4, "seconds": 30})
def smoke_sleep() -> None:
    @task
    def plan() -> list[int]:
        params = get_current_context()["params"]
        return [int(params["seconds"])] * int(params["count"])

    @task(max_active_tis_per_dagrun=64)
    def sleep(seconds: int) -> str:
        import socket
        import time

        time.sleep(seconds)
        return socket.gethostname()

    sleep.expand(seconds=plan())


smoke_sleep()
