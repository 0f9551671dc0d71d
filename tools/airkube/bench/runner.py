"""Run P1..P5 side by side with bare pods on the same cluster and collect the figures."""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from airkube.bench.airflow_runs import DagTiming, airflow_api, time_dag_run
from airkube.bench.bare import BareRun, run_bare_pods
from airkube.bench.footprint import working_sets
from airkube.bench.install import InstallTiming, time_install
from airkube.bench.render import RenderTiming, time_render
from airkube.bench.stats import Stat

BENCH_DAGS_DIR = Path(__file__).parent / "dags"
REPO_ROOT = Path(__file__).resolve().parents[3]
GIB = 1024**3


@dataclass(frozen=True)
class BenchOptions:
    namespace: str = "airflow"
    release: str = "airflow"
    kubeconfig: str | None = None
    kube_context: str | None = None
    p1_runs: int = 5
    p2_runs: int = 3
    fanout: int = 50
    install_values: tuple[Path, ...] = ()  # P3 values files (e.g. values/local.yaml); empty: skip P3
    image: str | None = None  # default: the release's airflow image
    deliver: bool = True  # push the bench DAGs into the release's dags PVC


@dataclass
class BenchResult:
    p1_ours: list[DagTiming] = field(default_factory=list)
    p1_bare: list[float] = field(default_factory=list)
    p2_ours: list[DagTiming] = field(default_factory=list)
    p2_bare: list[BareRun] = field(default_factory=list)
    p3: InstallTiming | None = None
    p4: RenderTiming | None = None
    p5_bytes: dict[str, int] = field(default_factory=dict)
    image: str = ""
    p1_bare_started: list[float] = field(default_factory=list)  # bare pod: create call -> container startedAt
    load: dict[str, list[float]] = field(default_factory=dict)  # 1/5/15-min load averages at start and end
    config: dict[str, str] = field(default_factory=dict)  # the latency levers as the release has them

    # ratios are ours ÷ bare pods (medians)
    def p1_ratio(self) -> float:
        return Stat.of([t.total_s for t in self.p1_ours]).median / Stat.of(self.p1_bare).median

    def p2_ratio(self) -> float:
        return (Stat.of([t.total_s for t in self.p2_ours]).median
                / Stat.of([b.makespan_s for b in self.p2_bare]).median)

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {"image": self.image, "cpus": os.cpu_count(), "load_average": self.load}
        if self.config:
            out["config"] = self.config
        if self.p1_ours and self.p1_bare:
            out["p1_ratio"] = round(self.p1_ratio(), 3)
            out["p1_ours_s"] = Stat.of([t.total_s for t in self.p1_ours]).to_dict()
            out["p1_bare_s"] = Stat.of(self.p1_bare).to_dict()
            out["p1_breakdown_s"] = _median_breakdown(self.p1_ours)
            if self.p1_bare_started:
                started = Stat.of(self.p1_bare_started).median
                out["p1_bare_breakdown_s"] = {
                    "pod created→container started": round(started, 3),
                    "container started→Succeeded seen": round(Stat.of(self.p1_bare).median - started, 3),
                }
        if self.p2_ours and self.p2_bare:
            out["p2_ratio"] = round(self.p2_ratio(), 3)
            out["p2_ours_s"] = Stat.of([t.total_s for t in self.p2_ours]).to_dict()
            out["p2_bare_s"] = Stat.of([b.makespan_s for b in self.p2_bare]).to_dict()
            out["p2_completions_s"] = {  # per run, seconds after trigger / first create: the fan-out plot
                "ours": [[round(x, 2) for x in r.completions_s()] for r in self.p2_ours],
                "bare": [[round(x, 2) for x in b.completions_s] for b in self.p2_bare],
            }
        if self.p3:
            out["p3_install_s"] = round(self.p3.install_s, 2)
            out["p3_upgrade_unchanged_s"] = round(self.p3.upgrade_s, 2)
            if self.p3.timeline:
                out["p3_install_timeline_s"] = self.p3.timeline
            if self.p3.first_task:
                out["p3_first_task_s"] = self.p3.first_task["first_task_success_s"]
                out["p3_first_task_steps_s"] = self.p3.first_task
        if self.p4:
            out["p4_render_s"] = round(self.p4.seconds.median, 3)
            out["p4_render_objects"] = self.p4.objects
        if self.p5_bytes:
            out["p5_idle_gib"] = round(sum(self.p5_bytes.values()) / GIB, 3)
            out["p5_by_component_mib"] = {k: round(v / 1024**2) for k, v in sorted(self.p5_bytes.items())}
        return out


def _median_breakdown(runs: list[DagTiming]) -> dict[str, float]:
    parts = [r.breakdown() for r in runs]
    return {k: round(Stat.of([p[k] for p in parts]).median, 3) for k in parts[0]}


LEVERS = {
    "core": ("parallelism", "max_active_tasks_per_dag"),
    "scheduler": ("scheduler_idle_sleep_time", "max_tis_per_query", "task_queued_timeout"),
    "dag_processor": ("refresh_interval",),
    "kubernetes_executor": ("worker_pods_creation_batch_size", "async_pod_creation", "delete_worker_pods"),
}


def release_config(core: Any, namespace: str, release: str) -> dict[str, str]:
    """The latency levers from the release's airflow.cfg ConfigMap (unset keys: Airflow's default)."""
    maps = core.list_namespaced_config_map(namespace, label_selector=f"app.kubernetes.io/instance={release}").items
    for cm in maps:
        text = (cm.data or {}).get("airflow.cfg")
        if not text:
            continue
        cfg = configparser.ConfigParser(interpolation=None)
        cfg.read_string(text)
        return {f"{sec}.{key}": cfg.get(sec, key, fallback="(airflow default)")
                for sec, keys in LEVERS.items() for key in keys}
    return {}


def run_bench(opts: BenchOptions, console: Console | None = None) -> BenchResult:
    from airkube.dags import push_dags, release_airflow_image
    from airkube.smoke.runner import wait_parsed

    console = console or Console(stderr=True)
    from airkube.kube import connect

    core = connect(opts.kubeconfig, opts.kube_context).core
    result = BenchResult()
    result.image = opts.image or release_airflow_image(core, opts.namespace, opts.release) or ""
    if not result.image:
        raise RuntimeError(f"cannot tell the airflow image of release {opts.release!r}: pass --image")

    result.load["start"] = [round(x, 2) for x in os.getloadavg()]
    result.config = release_config(core, opts.namespace, opts.release)

    console.print("[bold]P4[/bold] helm template (default values)")
    result.p4 = time_render(REPO_ROOT / "charts" / "airflow", [], "default")

    console.print("[bold]P5[/bold] idle working set per component")
    result.p5_bytes = working_sets(core, opts.namespace, opts.release)

    if opts.deliver:
        push_dags(BENCH_DAGS_DIR, namespace=opts.namespace, release=opts.release, core=core)
    with airflow_api(core, opts.namespace, opts.release, opts.kubeconfig, opts.kube_context) as api:
        wait_parsed(api, ["bench_p1", "bench_fanout"], 420.0,
                    lambda msg: console.print(f"  {msg}", highlight=False))
        for dag_id in ("bench_p1", "bench_fanout"):
            api.set_paused(dag_id, False)
        # warm-up: the first run pays for image cache and python bytecode on the node
        time_dag_run(api, core, opts.namespace, "bench_p1")
        run_bare_pods(core, opts.namespace, result.image, 1)
        for i in range(opts.p1_runs):
            ours = time_dag_run(api, core, opts.namespace, "bench_p1")
            bare = run_bare_pods(core, opts.namespace, result.image, 1)
            result.p1_ours.append(ours)
            result.p1_bare.append(bare.latencies_s[0])
            result.p1_bare_started.append(bare.started_s[0])
            console.print(f"[bold]P1[/bold] run {i + 1}/{opts.p1_runs}: ours {ours.total_s:.2f}s, "
                          f"bare pod {bare.latencies_s[0]:.2f}s")
        for i in range(opts.p2_runs):
            ours = time_dag_run(api, core, opts.namespace, "bench_fanout")
            bare = run_bare_pods(core, opts.namespace, result.image, opts.fanout)
            result.p2_ours.append(ours)
            result.p2_bare.append(bare)
            console.print(f"[bold]P2[/bold] run {i + 1}/{opts.p2_runs}: ours {ours.total_s:.1f}s, "
                          f"{opts.fanout} bare pods {bare.makespan_s:.1f}s")

    if opts.install_values:
        console.print("[bold]P3[/bold] helm upgrade --install --wait of a fresh release, then unchanged upgrade")
        result.p3 = time_install(core, Path(opts.kubeconfig) if opts.kubeconfig else None, opts.kube_context,
                                 list(opts.install_values))
        console.print(f"[bold]P3[/bold] install {result.p3.install_s:.1f}s, first smoke task green "
                      f"{result.p3.first_task.get('first_task_success_s', '-')}s after the install started, "
                      f"unchanged upgrade {result.p3.upgrade_s:.1f}s")
    result.load["end"] = [round(x, 2) for x in os.getloadavg()]
    return result
