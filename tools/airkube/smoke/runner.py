"""Run the smoke DAGs against a release in three steps: trigger every DAG, poll the runs until they end,
collect each run's task instances and logs and judge them (`airkube.smoke.checks`). What has to be found
first (api-server, credentials, DAG delivery) is `airkube.smoke.discovery`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..errors import AirflowAPIError, SmokeError, WaitTimeout
from ..kube import connect, poll_until, release_selector
from .api import AirflowClient
from .checks import CHECKS, CheckContext, DagCheck, check_dag
from .discovery import admin_credentials, api_endpoint, default_bash_image, deliver, delivery_info, pod_names, run_pods
from .fixtures import FixtureOptions, ensure_fixtures, kpo_namespace
from .options import ALL_DAGS, BASE_DAGS, BUNDLE_DAGS, GIT_DAGS, SMOKE_DAGS_DIR, TERMINAL_RUN, SmokeOptions
from .report import DagResult, SmokeResult, TaskResult, parse_evidence

__all__ = ["SMOKE_DAGS_DIR", "SmokeError", "SmokeOptions", "run_smoke", "select_dags", "new_run_id", "wait_parsed"]
FINISHED_TI = ("success", "failed", "upstream_failed", "skipped")
POD_CLEANUP_S = 120.0


def new_run_id(dag_id: str) -> str:
    """Label-safe run id (≤ 63 chars, [a-z0-9-]), so pods can be matched by their ``run_id`` label too."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"airkube-smoke-{stamp}-{uuid.uuid4().hex[:6]}"


def select_dags(requested: tuple[str, ...], delivery: str) -> list[str]:
    if requested:
        unknown = [d for d in requested if d not in ALL_DAGS]
        if unknown:
            raise SmokeError(f"unknown smoke DAG(s) {unknown}; choose from {list(ALL_DAGS)}")
        return list(requested)
    return list(BASE_DAGS + {"git": GIT_DAGS, "bundle": BUNDLE_DAGS}.get(delivery, ()))


def wait_parsed(
    client: AirflowClient, dag_ids: list[str], timeout: float, tick: Callable[[str], None] | None = None
) -> None:
    """Wait until every DAG is known to the API; fail fast on an import error of one of their files."""
    pending = list(dag_ids)

    def parsed() -> bool:
        pending[:] = [d for d in pending if client.get_dag(d) is None]
        if not pending:
            return True
        errors = [e for e in client.import_errors() if any(d in str(e.get("filename", "")) for d in pending)]
        if errors:
            text = "\n".join(f"{e.get('filename')}:\n{e.get('stack_trace', '')}" for e in errors)
            raise SmokeError(f"import errors in the smoke DAG files:\n{text}")
        if tick:
            tick(f"waiting for the dag-processor: {', '.join(pending)}")
        return False

    try:
        poll_until(parsed, timeout, "DAGs not parsed", interval=3)
    except WaitTimeout:
        extra = "".join(f"\n  {e.get('filename')}: {str(e.get('stack_trace', ''))[-300:]}"
                        for e in client.import_errors())
        raise SmokeError(
            f"DAGs {pending} not parsed after {timeout:.0f}s: are the files in the dags folder, and is "
            "`[dag_processor] refresh_interval` short enough?" + (f" Import errors:{extra}" if extra else "")
        ) from None


# --- the three steps ------------------------------------------------------------------------------------------
def trigger(client: AirflowClient, dag_ids: list[str], ctx: CheckContext) -> list[DagResult]:
    """Unpause and trigger every DAG with its run conf; one DagResult per run."""
    runs = []
    for dag_id in dag_ids:
        client.set_paused(dag_id, False)
        run = DagResult(dag_id=dag_id, run_id=new_run_id(dag_id))
        client.trigger(dag_id, run.run_id, CHECKS.get(dag_id, DagCheck()).conf(ctx))
        runs.append(run)
    return runs


def poll(client: AirflowClient, runs: list[DagResult], core: Any, namespace: str, timeout: float,
         interval: float, on_progress: Callable[[DagResult, int, int], None] = lambda d, done, total: None) -> None:
    """Poll the runs until each has ended or ``timeout`` passed (then a problem names the state it was left in)."""

    def ended() -> bool:
        open_runs = [d for d in runs if d.state not in TERMINAL_RUN]
        for d in open_runs:
            d.state = client.get_run(d.dag_id, d.run_id).get("state")
            tis = client.task_instances(d.dag_id, d.run_id)
            on_progress(d, sum(1 for t in tis if t.get("state") in FINISHED_TI), len(tis))
            CHECKS.get(d.dag_id, DagCheck()).watch(core, namespace, d)
        return all(d.state in TERMINAL_RUN for d in runs)

    try:
        poll_until(ended, timeout, "smoke runs still open", interval=interval)
    except WaitTimeout:
        for d in runs:
            if d.state not in TERMINAL_RUN:
                d.problems.append(f"still {d.state} after --timeout {timeout:.0f}s")


def collect(client: AirflowClient, runs: list[DagResult], core: Any, namespace: str, ctx: CheckContext) -> None:
    """Wait (one shared deadline) until the scheduler deleted each run's task pods, so the logs are read back
    after the pods are gone and nothing of the smoke run is left behind; then read the task instances and judge."""
    deadline = time.monotonic() + POD_CLEANUP_S
    for d in runs:
        ended = d.state in TERMINAL_RUN
        gone = ended and _pods_gone(core, namespace, d, max(deadline - time.monotonic(), 0.0))
        if d.dag_id == "smoke_logs" and ended:
            d.notes.append("worker pod gone; log read back through the REST API" if gone
                           else f"worker pod still present after {POD_CLEANUP_S:.0f} s; log read while it exists")
        elif ended and not gone:
            d.notes.append(f"task pods still present {POD_CLEANUP_S:.0f} s after the run ended")
        collect_tasks(client, d)
        check_dag(d, ctx)


def _pods_gone(core: Any, namespace: str, dag: DagResult, timeout: float) -> bool:
    try:
        return poll_until(lambda: not run_pods(core, namespace, dag.dag_id, dag.run_id), timeout,
                          "task pods still present", interval=2)
    except WaitTimeout:
        return False


def collect_tasks(client: AirflowClient, dag: DagResult) -> None:
    tis = client.task_instances(dag.dag_id, dag.run_id)
    dag.tasks = []
    for ti in sorted(tis, key=lambda t: (str(t.get("start_date") or ""), t.get("task_id"), t.get("map_index", -1))):
        tr = TaskResult(
            dag_id=dag.dag_id,
            task_id=ti["task_id"],
            map_index=int(ti.get("map_index", -1) if ti.get("map_index") is not None else -1),
            state=ti.get("state"),
            try_number=int(ti.get("try_number") or 0),
            duration=ti.get("duration"),
            pod=ti.get("hostname") or None,
        )
        if tr.try_number > 0:
            try:
                tr.log = client.task_log(dag.dag_id, dag.run_id, tr.task_id, tr.try_number, tr.map_index)
            except AirflowAPIError as exc:
                tr.log = [f"(log not readable: {exc})"]
        tr.evidence, tr.missing = parse_evidence(tr.log)
        dag.tasks.append(tr)


def run_smoke(
    opts: SmokeOptions | None = None,
    *,
    console: Any = None,
    core: Any = None,
    apps: Any = None,
) -> SmokeResult:
    """Run the smoke DAGs; never raises for a failed DAG (see ``SmokeResult.ok``), only records it."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from airkube.dags import release_airflow_image

    opts = opts or SmokeOptions()
    console = console or Console(stderr=True)
    result = SmokeResult(namespace=opts.namespace, release=opts.release)
    start = time.monotonic()
    try:
        if core is None or apps is None:
            clients = connect(opts.kubeconfig, opts.kube_context)
            core, apps = clients.core, clients.apps
        info = delivery_info(opts, apps)
        result.delivery = info.mode
        dag_ids = select_dags(opts.dags, info.mode)
        bash_image = opts.bash_image or default_bash_image(release_airflow_image(core, opts.namespace, opts.release))
        if opts.fixtures and "smoke_kpo_seed" in dag_ids:
            console.print("[bold]fixtures[/bold]: secrets, configmaps, test-volume, zone label, anchor pod")
            rep = ensure_fixtures(
                core, FixtureOptions(namespace=kpo_namespace(apps, opts.namespace, opts.release), image=bash_image,
                                     storage_class=opts.storage_class)
            )
            result.notes.extend(rep.warnings)
            if rep.labelled_nodes:
                result.notes.append(f"labelled nodes with topology.kubernetes.io/zone: {rep.labelled_nodes}")
        git_commit = deliver(opts, info, dag_ids, core, apps, console, result)
        ctx = CheckContext(bash_image=bash_image, git_commit=git_commit, scheduler_pods=tuple(
            pod_names(core, opts.namespace, release_selector(opts.release, "scheduler"))))
        with api_endpoint(opts, core) as url:
            client = AirflowClient(url)
            if opts.username and opts.password:
                client.username, client.password = opts.username, opts.password
            else:
                client.username, client.password = admin_credentials(
                    core, opts.namespace, opts.release, opts.auth_secret, opts.username
                )
            client.login()
            with Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                console=console, transient=True,
            ) as progress:
                parse_task = progress.add_task("waiting for the dag-processor", total=None)
                wait_parsed(client, dag_ids, min(opts.parse_timeout, opts.timeout),
                            lambda msg: progress.update(parse_task, description=msg))
                progress.remove_task(parse_task)
                result.dags = trigger(client, dag_ids, ctx)
                bars = {d.dag_id: progress.add_task(f"{d.dag_id}: queued", total=None) for d in result.dags}

                def show(d: DagResult, done: int, total: int) -> None:
                    progress.update(bars[d.dag_id], description=f"{d.dag_id}: {d.state} ({done}/{total} tasks)",
                                    total=max(total, 1), completed=done)

                poll(client, result.dags, core, opts.namespace, max(start + opts.timeout - time.monotonic(), 0.0),
                     opts.poll_interval, show)
            collect(client, result.dags, core, opts.namespace, ctx)
    except (SmokeError, AirflowAPIError) as exc:
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - kubernetes ApiException, port-forward, timeouts: report, no traceback
        result.error = f"{type(exc).__name__}: {exc}"
    return result
