"""P6: the KubernetesExecutor's launch throughput to thousands of tasks, on kwok-simulated nodes.

    from airkube.bench.scale import ScaleOptions, run_scale_bench
    result = run_scale_bench(ScaleOptions(sizes=(100, 500, 2000)))
"""

from airkube.bench.scale.runner import ScaleOptions, ScaleResult, run_scale_bench

__all__ = ["ScaleOptions", "ScaleResult", "run_scale_bench"]
