"""P4: median wall time of `helm template` of charts/airflow, and what it renders (objects, bytes, kinds).

Shared by `airkube bench` (P4, default values) and `scripts/bench_render.py` (`make bench-render`).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from airkube.bench.stats import Stat
from airkube.helm import ensure_dependencies, helm_executable


@dataclass(frozen=True)
class RenderTiming:
    label: str
    seconds: Stat
    objects: int
    bytes: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def time_render(chart: Path, values_files: list[Path], label: str, runs: int = 10,
                helm: str | None = None, extra_args: list[str] | tuple[str, ...] = (),
                cwd: Path | None = None) -> RenderTiming:
    """Run `helm template airflow <chart> --namespace airflow [-f …] [extra_args]` ``runs`` times.

    Dependencies are built before the clock starts. ``extra_args`` are passed as they are (`--set k=v`, `-f f`).
    """
    helm = helm or helm_executable()
    ensure_dependencies(chart, helm)
    argv = [helm, "template", "airflow", str(chart), "--namespace", "airflow"]
    for f in values_files:
        argv += ["-f", str(f)]
    argv += list(extra_args)
    durations: list[float] = []
    out = ""
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=cwd)
        durations.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"helm template failed ({label}): {proc.stderr.strip()}")
        out = proc.stdout
    docs = [doc for doc in yaml.safe_load_all(out) if doc]
    kinds: dict[str, int] = {}
    for doc in docs:
        kinds[doc["kind"]] = kinds.get(doc["kind"], 0) + 1
    return RenderTiming(label, Stat.of(durations), len(docs), len(out), kinds)
