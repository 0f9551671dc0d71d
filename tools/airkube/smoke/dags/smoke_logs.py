"""airkube smoke DAG: a marker line in the task log, read back through the REST API after the pod is gone.

The marker carries the run id, so the smoke runner knows it reads this run's log and not an older one. It
proves task logs outlive the worker pod (shared logs volume or remote logging), the failure mode of the
official chart's issue #29963.
"""

from __future__ import annotations

import socket

from airflow.sdk import dag, task

DAG_ID = "smoke_logs"
MARKER = "AIRKUBE-LOG-MARKER"


@dag(dag_id=DAG_ID, schedule=None, catchup=False, tags=["airkube-smoke"], doc_md=__doc__)
def smoke_logs():
    @task
    def write_marker(run_id: str | None = None) -> str:
        line = f"{MARKER} run_id={run_id} pod={socket.gethostname()}"
        print(line, flush=True)
        print(f"AIRKUBE-EVIDENCE log_marker={run_id}", flush=True)
        return line

    write_marker()


smoke_logs()
