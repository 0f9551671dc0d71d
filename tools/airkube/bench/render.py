"""P4: median wall time of `helm template` of charts/airflow, and how many objects it renders."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from airkube.bench.stats import Stat
from airkube.helm import ensure_dependencies, helm_executable


@dataclass(frozen=True)
class RenderTiming:
    label: str
    seconds: Stat
    objects: int


def time_render(chart: Path, values_files: list[Path], label: str, runs: int = 10,
                helm: str | None = None) -> RenderTiming:
    helm = helm or helm_executable()
    ensure_dependencies(chart, helm)
    argv = [helm, "template", "airflow", str(chart), "--namespace", "airflow"]
    for f in values_files:
        argv += ["-f", str(f)]
    durations: list[float] = []
    out = ""
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        durations.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"helm template failed ({label}): {proc.stderr.strip()}")
        out = proc.stdout
    objects = sum(1 for doc in yaml.safe_load_all(out) if doc)
    return RenderTiming(label, Stat.of(durations), objects)
