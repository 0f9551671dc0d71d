"""Performance figures of a deployment against bare pods on the same cluster (P1..P5).

    from airkube.bench import BenchOptions, run_bench
    result = run_bench(BenchOptions(namespace="airflow", release="airflow"))
"""

from airkube.bench.runner import BenchOptions, BenchResult, run_bench

__all__ = ["BenchOptions", "BenchResult", "run_bench"]
