"""Benchmark DAGs: the lightest possible KubernetesExecutor tasks (P1 latency, P2 fan-out)."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

FANOUT = 50


@dag(dag_id="bench_p1", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False,
     tags=["airkube", "bench"], max_active_runs=1)
def bench_p1() -> None:
    @task
    def noop() -> None:
        return None

    noop()


@dag(dag_id="bench_fanout", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"), catchup=False,
     tags=["airkube", "bench"], max_active_runs=1, max_active_tasks=FANOUT)
def bench_fanout() -> None:
    @task(max_active_tis_per_dagrun=FANOUT)
    def noop(i: int) -> None:
        return None

    noop.expand(i=list(range(FANOUT)))


bench_p1()
bench_fanout()
