"""Smoke tests of a running release: fixtures, DAG delivery, trigger through the REST API, evidence check.

Library entry point::

    from airkube.smoke import SmokeOptions, run_smoke
    result = run_smoke(SmokeOptions(namespace="airflow", release="airflow"))
    assert result.ok, result.to_dict()
"""

from airkube.errors import SmokeError
from airkube.smoke.options import ALL_DAGS, SMOKE_DAGS_DIR, SmokeOptions
from airkube.smoke.report import DagResult, SmokeResult, TaskResult
from airkube.smoke.runner import run_smoke

__all__ = [
    "ALL_DAGS",
    "SMOKE_DAGS_DIR",
    "DagResult",
    "SmokeError",
    "SmokeOptions",
    "SmokeResult",
    "TaskResult",
    "run_smoke",
]
