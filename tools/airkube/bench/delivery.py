"""P1 per DAG-delivery mode: the same trivial task (`bench_p1`) through a DAGs PVC, a git-sync init container and
an Airflow 3 GitDagBundle, each in a release of its own, with a bare pod of the same image as the yardstick.

Every mode gets a fresh namespace (``<prefix>-<mode>``, deleted before and after: the bench leaves nothing behind);
the git modes get the in-cluster git server of `airkube smoke` in that namespace, with the bench DAGs committed to it.
Where the seconds go differs per mode and shows in the breakdown: git-sync's clone is an init container (pod
created→container started); the bundle's fetch runs inside the task process after the task is marked running (task
running→finished), and Airflow reports it itself as ``bundle_prepare_ms`` in the task log (read for every run).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airkube.bench.airflow_runs import STARTUP_FIELDS, DagTiming, airflow_api, startup_parse_ms, time_dag_run
from airkube.bench.bare import run_bare_pods
from airkube.bench.install import delete_namespace
from airkube.bench.runner import BENCH_DAGS_DIR, REPO_ROOT
from airkube.bench.stats import Stat
from airkube.errors import BenchError

MODES = ("pvc", "git-sync", "bundle")
Say = Callable[[str], None]


def mode_values(mode: str, git_url: str | None) -> dict[str, Any]:
    """The values that switch a release (on top of the cluster profile's file) to ``mode``'s DAG delivery."""
    if mode == "pvc":
        return {}
    if not git_url:
        raise BenchError(f"delivery mode {mode!r} needs the in-cluster git server's URL")
    if mode == "git-sync":
        return {"dags": {"persistence": {"enabled": False},
                         "gitSync": {"enabled": True, "repo": git_url, "branch": "main", "rev": "", "subPath": "",
                                     "period": "10s"}}}
    if mode == "bundle":
        return {"dags": {"persistence": {"enabled": False},
                         "bundles": [{"name": "bench", "repo": git_url, "trackingRef": "main",
                                      "refreshInterval": 10}]}}
    raise BenchError(f"unknown delivery mode {mode!r}: choose from {', '.join(MODES)}")


def parse_modes(text: str) -> tuple[str, ...]:
    """``pvc,git-sync,bundle`` (or ``all``) → the modes, each checked."""
    modes = MODES if text.strip() == "all" else tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise BenchError(f"--deliveries: unknown mode(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(MODES)} or all")
    return modes


@dataclass
class ModeResult:
    mode: str
    install_s: float = 0.0
    runs: list[DagTiming] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    startup_ms: list[dict[str, float]] = field(default_factory=list)  # per run: Airflow's bundle_prepare_ms, …

    def init_s(self) -> list[float]:
        """Per task pod: pod created → its task container started (init containers and image start)."""
        out = []
        for run in self.runs:
            for pod in run.pods:
                if pod.created and pod.started:
                    out.append(max(0.0, (pod.started - pod.created).total_seconds()))
        return out

    def figures(self) -> dict[str, Any]:
        ours = Stat.of([r.total_s for r in self.runs])
        bare = Stat.of(self.bare)
        parts = [r.breakdown() for r in self.runs]
        breakdown = {k: round(Stat.of([p[k] for p in parts]).median, 3) for k in parts[0]} if parts else {}
        startup = {k: round(Stat.of(vals).median, 1) for k in STARTUP_FIELDS
                   if (vals := [s[k] for s in self.startup_ms if k in s])}
        return {"p1_s": ours.to_dict(), "bare_s": bare.to_dict(), "p1_ratio": round(ours.median / bare.median, 3),
                "breakdown_s": breakdown, "install_s": round(self.install_s, 1), "task_startup_ms": startup}


@dataclass(frozen=True)
class DeliveryBenchOptions:
    modes: tuple[str, ...] = MODES
    runs: int = 5
    kubeconfig: str | None = None
    kube_context: str | None = None
    values_files: tuple[Path, ...] = (REPO_ROOT / "values" / "local.yaml",)
    namespace_prefix: str = "airkube-bench"
    release: str = "bench"
    timeout: str = "15m"


def run_delivery_bench(opts: DeliveryBenchOptions, say: Say) -> list[ModeResult]:
    """One release per mode, P1 ``opts.runs`` times beside a bare pod; every namespace removed afterwards."""
    from airkube.kube import connect

    clients = connect(opts.kubeconfig, opts.kube_context)
    results = []
    for mode in opts.modes:
        namespace = f"{opts.namespace_prefix}-{mode}"
        say(f"[{mode}] fresh namespace {namespace}")
        delete_namespace(clients.core, namespace)
        try:
            results.append(_one_mode(opts, clients, mode, namespace, say))
        finally:
            say(f"[{mode}] removing namespace {namespace}")
            delete_namespace(clients.core, namespace)
    return results


def _one_mode(opts: DeliveryBenchOptions, clients: Any, mode: str, namespace: str, say: Say) -> ModeResult:
    from airkube.dags import push_dags, release_airflow_image
    from airkube.helm import Helm, Target
    from airkube.kube import ensure_namespace
    from airkube.smoke.gitserver import ensure_git_server, push_to_git_server
    from airkube.smoke.runner import wait_parsed
    from airkube.values.inputs import ValuesInput
    from airkube.values.schema import coalesce
    from airkube.wait import wait_for_release

    core = clients.core
    ensure_namespace(core, namespace)
    git_url = None
    if mode != "pvc":
        server, pod = ensure_git_server(namespace=namespace, core=core, apps=clients.apps)
        sha = push_to_git_server(BENCH_DAGS_DIR, server, pod, core=core, message="airkube bench DAGs")
        git_url = server.url
        say(f"[{mode}] bench DAGs committed to {server.url} ({sha[:12]})")
    values = coalesce(ValuesInput(files=opts.values_files).merged(), mode_values(mode, git_url))
    target = Target(release=opts.release, namespace=namespace, kubeconfig=Path(opts.kubeconfig) if opts.kubeconfig
                    else None, kube_context=opts.kube_context, timeout=opts.timeout)
    helm = Helm(target)
    result = ModeResult(mode)
    t0 = time.monotonic()
    asyncio.run(helm.install(values))
    waited = wait_for_release(clients, namespace, opts.release, 900.0)
    if not waited.ok:
        raise BenchError(f"[{mode}] release {opts.release} in {namespace} did not become ready: {waited.reason}")
    result.install_s = time.monotonic() - t0
    say(f"[{mode}] release ready in {result.install_s:.0f}s")
    try:
        if mode == "pvc":
            push_dags(BENCH_DAGS_DIR, namespace=namespace, release=opts.release, core=core)
        image = release_airflow_image(core, namespace, opts.release) or ""
        with airflow_api(core, namespace, opts.release, opts.kubeconfig, opts.kube_context) as api:
            wait_parsed(api, ["bench_p1"], 600.0, lambda msg: say(f"[{mode}] {msg}"))
            api.set_paused("bench_p1", False)
            time_dag_run(api, core, namespace, "bench_p1")  # warm-up: page cache, bytecode, the first clone
            run_bare_pods(core, namespace, image, 1)
            for i in range(opts.runs):
                ours = time_dag_run(api, core, namespace, "bench_p1")
                bare = run_bare_pods(core, namespace, image, 1)
                result.runs.append(ours)
                result.bare.append(bare.latencies_s[0])
                result.startup_ms.append(startup_parse_ms(api, "bench_p1", ours.run_id, "noop"))
                say(f"[{mode}] P1 run {i + 1}/{opts.runs}: ours {ours.total_s:.2f}s, bare pod "
                    f"{bare.latencies_s[0]:.2f}s")
    finally:
        asyncio.run(helm.uninstall(wait=True))
    return result


def figures(results: list[ModeResult]) -> dict[str, Any]:
    import os

    return {"cpus": os.cpu_count(), "modes": {r.mode: r.figures() for r in results}}


def markdown(figs: dict[str, Any], command: str, load: dict[str, list[float]]) -> str:
    """The page docs/benchmarks-delivery.md: one row per mode, then the median phases of each."""
    lines = [
        "# P1 per DAG-delivery mode", "",
        "Reproduce (local cluster up, images built: `make deploy` once):", "", "```sh", command, "```", "",
        f"{figs['cpus']} CPUs; load average (1/5/15 min) {load.get('start')} at the start, {load.get('end')} at the "
        "end. Each mode is a fresh release of its own (values/local.yaml + the mode's DAG values) running "
        "`bench_p1` (one trivial `@task`), REST trigger → run `success`, beside a bare pod of the same image "
        "(create → `Succeeded`).", "",
        "| mode | P1 median [min–max] | bare pod median | ratio | pod created→container started | "
        "Airflow's bundle_prepare_ms | dag_file_parse_ms | install |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, f in figs["modes"].items():
        b, ms = f["breakdown_s"], f.get("task_startup_ms", {})
        lines.append(f"| {mode} | {f['p1_s']['median']} s [{f['p1_s']['min']}–{f['p1_s']['max']}] | "
                     f"{f['bare_s']['median']} s | {f['p1_ratio']}× | {b.get('pod created→container started')} s | "
                     f"{ms.get('bundle_prepare_ms', '-')} ms | {ms.get('dag_file_parse_ms', '-')} ms | "
                     f"{f['install_s']} s |")
    lines += ["", "Median phases (seconds):", "", "| mode | " + " | ".join(_phases(figs)) + " |",
              "|---|" + "---|" * len(_phases(figs))]
    for mode, f in figs["modes"].items():
        lines.append(f"| {mode} | " + " | ".join(str(f["breakdown_s"].get(p, "")) for p in _phases(figs)) + " |")
    lines += ["", "- git-sync: the task pod's git-sync init container clones the branch head before the task "
              "container starts (pod created→container started).",
              "- bundle: no init container; once the task is marked running, the task process fetches the bundle at "
              "the run's commit into its emptyDir (task running→finished; Airflow's own `bundle_prepare_ms`).",
              "- pvc: nothing to fetch (a LocalDagBundle); the DAG file is read from the claim.",
              "- `bundle_prepare_ms` / `dag_file_parse_ms`: medians of the fields of the task runner's \"Worker "
              "startup parse complete\" event in each run's task log.", ""]
    return "\n".join(lines)


def _phases(figs: dict[str, Any]) -> list[str]:
    for f in figs["modes"].values():
        return list(f["breakdown_s"])
    return []
