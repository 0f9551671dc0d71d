"""P6: how fast the KubernetesExecutor launches N task pods, on kwok's fake nodes, per setting.

One release in a namespace of its own (created and deleted here), kwok as a host process (PID file), 50 fake nodes
(deleted afterwards): the bench leaves the cluster as it found it. For each variant (a `helm upgrade` of the same
release) and each N, one DAG run of N mapped trivial tasks is triggered and measured from the outside:

- trigger → N pods created, and pods created per second over sliding 10 s windows (a light watch, client clock);
- pod seen Succeeded → the executor's watcher logged it, → the scheduler loop took the result (scheduler log
  lines, container runtime timestamps; the same machine's clock);
- scheduler CPU-seconds and peak RSS (kubelet stats summary of the scheduler pod);
- the API server's request rate (delta of ``apiserver_request_total`` from its /metrics).

Simulated pods never run Python: task-instance states afterwards are an artefact and are not reported.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from airkube.bench.airflow_runs import airflow_api
from airkube.bench.delivery import Say
from airkube.bench.runner import REPO_ROOT
from airkube.bench.scale.kwok import (
    BENCH_LABEL,
    BENCH_LABEL_VALUE,
    KWOK_VERSION,
    KwokController,
    Timing,
    cache_dir,
    create_fake_nodes,
    delete_fake_nodes,
    kwok_binary,
    node_names,
    wait_fake_nodes_ready,
)
from airkube.bench.scale.podevents import PodEvents
from airkube.bench.scale.probes import (
    Footprint,
    RequestRate,
    StatsSampler,
    footprint,
    parse_scheduler_log,
    request_rate,
    scheduler_log,
    snapshot_requests,
)
from airkube.bench.scale.values import DEFAULT_VARIANTS, Variant, dag_id, levers, release_values
from airkube.bench.scale.windows import Distribution, lags, window_rates
from airkube.errors import AirflowAPIError, BenchError, KubeError
from airkube.kube import Clients
from airkube.progress import Throttle

ARTEFACT_NOTE = ("Simulated pods never run Python: the task instances' final states (the executor reports a pod "
                 "that succeeded for a task that never started) are an artefact of the simulation and not reported.")


@dataclass(frozen=True)
class ScaleOptions:
    namespace: str = "bench-scale"
    release: str = "p6"
    kubeconfig: str | None = None
    kube_context: str | None = None
    sizes: tuple[int, ...] = (100, 500, 2000)
    nodes: int = 50
    variants: tuple[Variant, ...] = DEFAULT_VARIANTS
    profile_values: tuple[Path, ...] = (REPO_ROOT / "values" / "local.yaml",)
    run_timeout: float = 900.0  # one DAG run: trigger → every pod processed
    install_timeout: float = 900.0
    timing: Timing = Timing()
    window_s: float = 10.0


@dataclass
class RunResult:
    variant: str
    n: int
    run_id: str
    complete: bool = False  # every pod created, terminal and processed (deleted by the executor) in time
    created: int = 0
    first_pod_s: float | None = None  # trigger → first pod seen
    all_created_s: float | None = None  # trigger → N-th pod seen
    all_processed_s: float | None = None  # trigger → N-th pod deleted by the executor
    rate: Distribution | None = None  # pods created per second, sliding windows
    overall_rate: float | None = None  # (N-1) / (last creation - first creation)
    watcher_lag: Distribution | None = None  # pod seen Succeeded → executor watcher's "Event: <pod> Succeeded"
    processed_lag: Distribution | None = None  # pod seen Succeeded → scheduler loop "Changing state of ..."
    kwok_start: Distribution | None = None  # pod seen → seen Running (kube-scheduler + kwok): not the bottleneck?
    footprint: Footprint | None = None
    requests: RequestRate | None = None
    load: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def dist(d: Distribution | None) -> dict[str, float] | None:
            return d.to_dict() if d else None

        def r(x: float | None, digits: int = 2) -> float | None:
            return None if x is None else round(x, digits)

        return {
            "variant": self.variant, "n": self.n, "run_id": self.run_id, "complete": self.complete,
            "pods_created": self.created, "trigger_to_first_pod_s": r(self.first_pod_s),
            "trigger_to_all_pods_s": r(self.all_created_s), "trigger_to_all_processed_s": r(self.all_processed_s),
            "pods_per_s_windows": dist(self.rate), "pods_per_s_overall": r(self.overall_rate),
            "watcher_lag_s": dist(self.watcher_lag), "processed_lag_s": dist(self.processed_lag),
            "seen_to_running_s": dist(self.kwok_start),
            "scheduler": self.footprint.to_dict() if self.footprint else None,
            "apiserver_requests": self.requests.to_dict() if self.requests else None,
            "load_average": self.load, "notes": self.notes,
        }


@dataclass
class ScaleResult:
    runs: list[RunResult] = field(default_factory=list)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → summary, levers, install/upgrade s
    load: dict[str, list[float]] = field(default_factory=dict)
    kwok: dict[str, Any] = field(default_factory=dict)
    cpus: int = 0
    notes: list[str] = field(default_factory=lambda: [ARTEFACT_NOTE])

    def figures(self) -> dict[str, Any]:
        return {"cpus": self.cpus, "load_average": self.load, "kwok": self.kwok, "variants": self.variants,
                "runs": [r.to_dict() for r in self.runs], "notes": self.notes}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ------------------------------------------------------------------------------------------------- the bench
def run_scale_bench(opts: ScaleOptions, console: Console | None = None,
                    on_run: Callable[[ScaleResult], None] | None = None) -> ScaleResult:
    """The whole bench; ``on_run`` is called after every run (e.g. to save the figures so far)."""
    from airkube.kube import connect

    console = console or Console(stderr=True)

    def say(msg: str) -> None:
        console.print(msg, highlight=False, soft_wrap=True)

    if not opts.variants:
        raise BenchError("no variant to measure")
    clients = connect(opts.kubeconfig, opts.kube_context)
    result = ScaleResult(cpus=os.cpu_count() or 0)
    result.load["start"] = _load()
    binary = kwok_binary(say=say)
    state = cache_dir() / "bench-scale"
    state.mkdir(parents=True, exist_ok=True)
    _check_namespace(clients, opts.namespace)
    leftovers = delete_fake_nodes(clients.core)
    if leftovers:
        say(f"deleted {leftovers} fake nodes left by an earlier run")
    kubeconfig = _kubeconfig_for_kwok(opts, state)
    kwok = KwokController(binary, kubeconfig, state, opts.timing)
    result.kwok = {"version": KWOK_VERSION, "nodes": opts.nodes, "running_ms": opts.timing.running_ms,
                   "succeeded_ms": opts.timing.succeeded_ms}
    installed = False
    try:
        say(f"kwok {KWOK_VERSION}: starting (PID file {kwok.pid_file}, log {kwok.log_file})")
        kwok.start()
        names = node_names(opts.nodes)
        create_fake_nodes(clients.core, names)
        wait_fake_nodes_ready(clients.core, len(names))
        say(f"{len(names)} fake nodes Ready ({names[0]} … {names[-1]}, tainted kwok.x-k8s.io/node=fake:NoSchedule)")
        from airkube.kube import ensure_namespace

        ensure_namespace(clients.core, opts.namespace, labels={BENCH_LABEL: BENCH_LABEL_VALUE})
        for i, variant in enumerate(opts.variants):
            installed = True
            seconds = _install(clients, opts, variant, console, first=i == 0)
            cfg = levers(_airflow_cfg(clients, opts))
            result.variants[variant.name] = {"summary": variant.summary, "levers": cfg,
                                             "install_s" if i == 0 else "upgrade_s": round(seconds, 1)}
            say(f"[bold]{variant.name}[/bold]: " + ", ".join(f"{k.split('.')[-1]}={v}" for k, v in cfg.items()))
            with airflow_api(clients.core, opts.namespace, opts.release, opts.kubeconfig, opts.kube_context,
                             timeout=60) as api:
                if i == 0:
                    _wait_dags(api, opts, say)
                for n in opts.sizes:
                    if not kwok.running():
                        raise BenchError(f"kwok stopped during the bench:\n{kwok.log_tail()}")
                    try:
                        run = _one_run(clients, api, opts, variant.name, n, console)
                    except (BenchError, KubeError, AirflowAPIError) as exc:  # the next run may still work
                        run = RunResult(variant.name, n, "", notes=[f"run failed: {exc}"])
                        say(f"[red]{variant.name} N={n} failed:[/red] {escape(str(exc))}")
                    result.runs.append(run)
                    say(_run_line(run))
                    if on_run:
                        on_run(result)
    finally:
        errors = _cleanup(clients, opts, kwok, installed, kubeconfig if kubeconfig.parent == state else None, say)
        for error in errors:
            say(f"[red]clean-up failed:[/red] {escape(error)}")
        result.load["end"] = _load()
    if errors:
        raise BenchError("the bench could not clean up everything: " + "; ".join(errors))
    return result


def _run_line(run: RunResult) -> str:
    rate = f"{run.rate.median:.1f}/{run.rate.p95:.1f}" if run.rate else "-"
    cpu = f"{run.footprint.cpu_s:.0f} CPU-s, peak RSS {run.footprint.peak_rss / 2**20:.0f} MiB" if run.footprint else ""
    lag = f"watcher lag {run.watcher_lag.median:.2f}s" if run.watcher_lag else ""
    return (f"  {run.variant} N={run.n}: {run.created} pods, all created {run.all_created_s or float('nan'):.1f}s "
            f"after trigger, pods/s median/p95 {rate}; {lag}; {cpu}"
            + ("" if run.complete else "  [red](incomplete)[/red]"))


# ------------------------------------------------------------------------------------------------ set-up
def _check_namespace(clients: Clients, namespace: str) -> None:
    """The bench's namespace must be its own: absent, or labelled by an earlier bench run (then deleted)."""
    from kubernetes.client.exceptions import ApiException

    from airkube.bench.install import delete_namespace

    try:
        ns = clients.core.read_namespace(namespace)
    except ApiException as exc:
        if exc.status == 404:
            return
        raise
    labels = ns.metadata.labels or {}
    if labels.get(BENCH_LABEL) != BENCH_LABEL_VALUE:
        raise BenchError(f"namespace {namespace} exists and was not created by `airkube bench --scale` (no label "
                         f"{BENCH_LABEL}={BENCH_LABEL_VALUE}): pass another one with -n")
    delete_namespace(clients.core, namespace, timeout=600)


def _kubeconfig_for_kwok(opts: ScaleOptions, state: Path) -> Path:
    """kwok takes one kubeconfig file and its current context: the given file as it is, else (a --kube-context,
    or several files in $KUBECONFIG) a minified copy in the state directory (mode 0600, removed afterwards)."""
    env = os.environ.get("KUBECONFIG", "")
    single = opts.kubeconfig or (env if env and os.pathsep not in env else None)
    if single and not opts.kube_context:
        return Path(single)
    if not single and not env and not opts.kube_context:
        return Path.home() / ".kube" / "config"
    from airkube.binaries import venv_tool

    kubectl = venv_tool("kubectl")
    if not kubectl:
        raise BenchError("kubectl is needed to hand kwok one kubeconfig context: run `make setup`")
    argv = [kubectl, "config", "view", "--minify", "--flatten"]
    if opts.kubeconfig:
        argv += ["--kubeconfig", opts.kubeconfig]
    if opts.kube_context:
        argv += ["--context", opts.kube_context]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"`kubectl config view --minify` failed: {proc.stderr.strip()}")
    path = state / "kubeconfig"
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(proc.stdout)
    return path


def _install(clients: Clients, opts: ScaleOptions, variant: Variant, console: Console, first: bool) -> float:
    """`helm upgrade --install` of the bench release with the variant's values, then wait until every workload
    is ready and the previous revision's pods are gone (a single scheduler)."""
    from airkube.helm import Helm, HelmError, Target
    from airkube.release import print_failure, wait_with_progress
    from airkube.values.inputs import ValuesInput

    profile = ValuesInput(files=opts.profile_values).merged()
    values = release_values(profile, variant, opts.sizes, opts.release)
    target = Target(release=opts.release, namespace=opts.namespace,
                    kubeconfig=Path(opts.kubeconfig) if opts.kubeconfig else None, kube_context=opts.kube_context,
                    timeout=f"{int(opts.install_timeout)}s")
    verb = "install" if first else "upgrade"
    t0 = time.monotonic()
    try:
        with console.status(f"helm {verb} {opts.release} in {opts.namespace} ({variant.name})"):
            asyncio.run(Helm(target).install(values))
    except HelmError as exc:
        raise BenchError(f"helm {verb} of the bench release failed ({variant.name}):\n{exc}") from exc
    waited = wait_with_progress(console, target, opts.install_timeout)
    if not waited.ok:
        print_failure(console, waited)
        raise BenchError(f"release {opts.release} in {opts.namespace} did not become ready ({variant.name}): "
                         f"{waited.reason}")
    _wait_single_scheduler(clients, opts)
    return time.monotonic() - t0


def _wait_single_scheduler(clients: Clients, opts: ScaleOptions, timeout: float = 600.0) -> None:
    from airkube.kube import is_live, pod_ready, poll_until, release_selector

    def settled() -> bool:
        pods = clients.core.list_namespaced_pod(opts.namespace, label_selector=release_selector(opts.release)).items
        terminating = [p for p in pods if not is_live(p)]
        schedulers = [p for p in pods if (p.metadata.labels or {}).get("app.kubernetes.io/component") == "scheduler"]
        return not terminating and len(schedulers) == 1 and pod_ready(schedulers[0])

    poll_until(settled, timeout, "the previous revision's pods are still terminating", interval=2.0)


def _airflow_cfg(clients: Clients, opts: ScaleOptions) -> str:
    """The release's airflow.cfg (its ConfigMap found by the release label: the name depends on fullname)."""
    from airkube.kube import release_selector

    for cm in clients.core.list_namespaced_config_map(opts.namespace,
                                                      label_selector=release_selector(opts.release)).items:
        if text := (cm.data or {}).get("airflow.cfg"):
            return str(text)
    raise BenchError(f"no ConfigMap with airflow.cfg labelled {release_selector(opts.release)} in {opts.namespace}")


def _wait_dags(api: Any, opts: ScaleOptions, say: Say) -> None:
    from airkube.smoke.runner import wait_parsed

    ids = [dag_id(n) for n in opts.sizes]
    wait_parsed(api, ids, 600.0, lambda msg: say(f"  {msg}"))
    for d in ids:
        api.set_paused(d, False)


def _scheduler_pod(clients: Clients, opts: ScaleOptions) -> tuple[str, str, str]:
    """(pod, node, container) of the release's one live scheduler."""
    from airkube.kube import is_live, release_selector

    pods = [p for p in clients.core.list_namespaced_pod(
        opts.namespace, label_selector=release_selector(opts.release, "scheduler")).items if is_live(p)]
    if len(pods) != 1:
        raise BenchError(f"expected one scheduler pod of release {opts.release}, found {len(pods)}")
    pod = pods[0]
    names = [c.name for c in pod.spec.containers]
    return pod.metadata.name, pod.spec.node_name, "scheduler" if "scheduler" in names else names[0]


# ------------------------------------------------------------------------------------------------ one run
def _one_run(clients: Clients, api: Any, opts: ScaleOptions, variant: str, n: int, console: Console) -> RunResult:
    dag = dag_id(n)
    run_id = f"p6-{int(time.time() * 1000)}"
    run = RunResult(variant, n, run_id)
    pod, node, container = _scheduler_pod(clients, opts)
    _wait_no_task_pods(clients, opts)
    run.load["start"] = _load()
    with PodEvents(clients, opts.namespace, f"dag_id={dag},run_id={run_id}") as pods, \
            StatsSampler(clients, node, opts.namespace, pod) as stats:
        before = snapshot_requests(clients)
        t0 = time.time()
        api.trigger(dag, run_id)
        _follow(console, pods, n, t0, opts.run_timeout, f"{variant} N={n}")
        t_end = time.time()
        after = snapshot_requests(clients)
        run_state = _end_run(api, dag, run_id)
        if not stats.wait_measured_after(t_end, timeout=40):
            run.notes.append("the kubelet reported no scheduler stats after the run's end within 40 s")
    run.load["end"] = _load()
    run.requests = request_rate(before, after)
    run.footprint = footprint(stats.samples, t0, t_end)
    created, terminal, deleted = pods.counts()
    run.created = created
    run.complete = created >= n and deleted >= n
    seen = sorted(pods.seen.values())
    if seen:
        run.first_pod_s = seen[0] - t0
        if created >= n:
            run.all_created_s = seen[n - 1] - t0
        run.rate = Distribution.of(window_rates(seen, opts.window_s))
        if len(seen) > 1 and seen[-1] > seen[0]:
            run.overall_rate = (len(seen) - 1) / (seen[-1] - seen[0])
    if deleted >= n:
        run.all_processed_s = sorted(pods.deleted.values())[n - 1] - t0
    log = parse_scheduler_log(scheduler_log(clients, opts.namespace, pod, container, int(time.time() - t0) + 15))
    run.watcher_lag = Distribution.of(lags(pods.terminal, log.watcher_succeeded))
    run.processed_lag = Distribution.of(lags(pods.terminal, log.processed))
    run.kwok_start = Distribution.of(lags(pods.seen, pods.running))
    if pods.terminal and not log.watcher_succeeded:
        run.notes.append(f"no `Event: <pod> Succeeded` line in the scheduler log ({log.lines} lines read)")
    if pods.errors:
        run.notes.append(f"pod watch restarted {len(pods.errors)}×: {pods.errors[-1]}")
    if stats.errors:
        run.notes.append(f"{len(stats.errors)} kubelet stats samples failed: {stats.errors[-1]}")
    run.notes.append(f"DAG run {run_state}")
    return run


def _wait_no_task_pods(clients: Clients, opts: ScaleOptions, timeout: float = 300.0) -> None:
    from airkube.kube import poll_until

    poll_until(lambda: not clients.core.list_namespaced_pod(opts.namespace, label_selector="kubernetes_executor=True",
                                                            limit=1).items,
               timeout, "task pods of the previous run are still there", interval=2.0)


def _follow(console: Console, pods: PodEvents, n: int, t0: float, timeout: float, what: str) -> None:
    """Until every pod was created, went terminal and was deleted by the executor, or ``timeout``; rich progress
    on a terminal, a line every 20 s off one."""
    deadline = t0 + timeout

    def done() -> bool:
        return pods.counts()[2] >= n

    if console.is_terminal:
        with Progress(TextColumn(f"{what}"), BarColumn(), TextColumn("{task.fields[text]}"), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task(what, total=n, text="")
            while not done() and time.time() < deadline:
                created, terminal, deleted = pods.counts()
                progress.update(task, completed=deleted,
                                text=f"created {created}, terminal {terminal}, processed {deleted} / {n}")
                time.sleep(0.5)
        return
    throttle = Throttle()
    while not done() and time.time() < deadline:
        created, terminal, deleted = pods.counts()
        text = f"created {created}, terminal {terminal}, processed {deleted} / {n}"
        if throttle.due(what):  # on time only: the counts change at every poll
            console.print(f"… {what}: {text} ({throttle.elapsed()})", highlight=False)
        time.sleep(0.5)


def _end_run(api: Any, dag: str, run_id: str) -> str:
    """End the DAG run once its pods are processed. It never ends by itself here: the executor reports pods that
    succeeded for tasks that never started, so the task instances stay queued (until `task_queued_timeout`).
    Marking the run failed frees them for the next run of the same DAG (max_active_runs=1)."""
    state = str(api.get_run(dag, run_id).get("state", ""))
    if state in ("success", "failed"):
        return f"ended {state} by itself (artefact)"
    api.request("PATCH", f"/api/v2/dags/{dag}/dagRuns/{run_id}", body={"state": "failed"})
    return f"still {state or 'unknown'} once its pods were processed: set failed by the bench"


# ------------------------------------------------------------------------------------------------ clean-up
def _uninstall(helm: Any) -> None:
    async def go() -> None:
        if await helm.status() is not None:
            await helm.uninstall(wait=True)

    asyncio.run(go())


def _cleanup(clients: Clients, opts: ScaleOptions, kwok: KwokController, installed: bool, own_kubeconfig: Path | None,
             say: Say) -> list[str]:
    """Everything the bench created, each step tried even when an earlier one failed. Returns the failures."""
    from airkube.bench.install import delete_namespace
    from airkube.helm import Helm, Target

    errors: list[str] = []
    steps: list[tuple[str, Callable[[], Any]]] = []
    if installed:
        target = Target(release=opts.release, namespace=opts.namespace,
                        kubeconfig=Path(opts.kubeconfig) if opts.kubeconfig else None, kube_context=opts.kube_context,
                        timeout="5m")
        steps.append((f"helm uninstall {opts.release}", lambda: _uninstall(Helm(target))))
    steps += [
        (f"delete namespace {opts.namespace}", lambda: delete_namespace(clients.core, opts.namespace, timeout=600)),
        ("delete the fake nodes", lambda: delete_fake_nodes(clients.core)),
        ("stop kwok", kwok.stop),
    ]
    for what, step in steps:
        try:
            say(f"clean-up: {what}")
            step()
        except Exception as exc:  # noqa: BLE001 - every step is tried; the failures are reported together
            errors.append(f"{what}: {exc}")
    if own_kubeconfig is not None:
        own_kubeconfig.unlink(missing_ok=True)
    shutil.rmtree(kwok.state_dir / ".kwok", ignore_errors=True)
    return errors
