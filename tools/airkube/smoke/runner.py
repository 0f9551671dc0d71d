"""Run the smoke DAGs against a release and prove, task by task, that the deployment works.

Steps: fixtures (kubernetes client) → DAG delivery (PVC push / in-cluster git server / image) → port-forward
to the api-server → token login → wait until the dag-processor parsed the DAGs (import errors printed) →
unpause + trigger → wait with progress → collect task instances, pod names, logs, evidence → verdict.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from airkube.smoke.api import AirflowAPIError, AirflowClient
from airkube.smoke.fixtures import EXPECTED_EVIDENCE, FixtureOptions, ensure_fixtures
from airkube.smoke.report import DagResult, SmokeResult, TaskResult, parse_evidence
from ..errors import SmokeError
from ..kube import connect, release_selector

SMOKE_DAGS_DIR = Path(__file__).parent / "dags"
DEFAULT_BASH_IMAGE = "docker.io/library/bash:5.2"
LOCAL_REGISTRY = "airkube.local"
BASE_DAGS = ("smoke_kpo_seed", "smoke_executor", "smoke_logs")
GIT_DAGS = ("smoke_git_sync",)
ALL_DAGS = BASE_DAGS + GIT_DAGS
TERMINAL_RUN = {"success", "failed"}
Delivery = Literal["auto", "pvc", "git", "image", "none"]


@dataclass(frozen=True)
class SmokeOptions:
    namespace: str = "airflow"
    release: str = "airflow"
    dags: tuple[str, ...] = ()  # empty: all that apply to the delivery mode
    kube_context: str | None = None
    kubeconfig: str | None = None
    timeout: float = 900.0  # whole run, parsing included
    parse_timeout: float = 420.0  # dag-processor refresh_interval defaults to 300 s for new files
    bash_image: str | None = None  # None: airkube.local/bash:5.2 for locally built releases, else Docker Hub's
    delivery: Delivery = "auto"
    dags_claim: str | None = None
    push_image: str | None = None
    git_image: str = "airkube.local/git-sync:v4.4.2"
    api_service: str | None = None
    api_url: str | None = None  # e.g. http://127.0.0.1:8080 when already forwarded; skips port-forward
    auth_secret: str | None = None
    username: str | None = None
    password: str | None = None
    fixtures: bool = True
    storage_class: str | None = None
    poll_interval: float = 3.0


# --- Kubernetes discovery -----------------------------------------------------------------------------------
def find_api_service(core: Any, namespace: str, release: str, name: str | None = None) -> tuple[str, int]:
    """Name and port of the api-server Service (labels ``component=api-server``, ``instance=<release>``)."""
    if name:
        svc = core.read_namespaced_service(name, namespace)
        return name, _service_port(svc)
    items = core.list_namespaced_service(namespace, label_selector=release_selector(release, "api-server")).items
    if not items:
        items = [
            s
            for s in core.list_namespaced_service(namespace, label_selector=release_selector(release)).items
            if "api-server" in s.metadata.name or "apiserver" in s.metadata.name
        ]
    if not items:
        raise SmokeError(
            f"no api-server Service of release {release!r} in namespace {namespace!r} "
            "(labels app.kubernetes.io/component=api-server, app.kubernetes.io/instance=<release>); "
            "is the release installed? Pass --api-service NAME to name it."
        )
    svc = sorted(items, key=lambda s: len(s.metadata.name))[0]
    return svc.metadata.name, _service_port(svc)


def _service_port(svc: Any) -> int:
    ports = svc.spec.ports or []
    for p in ports:
        if p.name in ("http", "api", "api-server"):
            return int(p.port)
    if not ports:
        raise SmokeError(f"Service {svc.metadata.name} has no ports")
    return int(ports[0].port)


def admin_credentials(
    core: Any, namespace: str, release: str, secret: str | None = None, username: str | None = None
) -> tuple[str, str]:
    """Username and password from the chart's auth Secret (``<fullname>-auth``: ``passwords.json`` or ``password``)."""
    if secret:
        candidates = [core.read_namespaced_secret(secret, namespace)]
    else:
        listed = core.list_namespaced_secret(namespace, label_selector=release_selector(release)).items
        candidates = [s for s in listed if s.metadata.name.endswith("-auth")]
    for sec in candidates:
        data = {k: base64.b64decode(v).decode() for k, v in (sec.data or {}).items()}
        found = credentials_from_secret_data(data, username)
        if found:
            return found
    raise SmokeError(
        f"no admin credentials found for release {release!r} in {namespace!r} (looked for a Secret named "
        "`*-auth` with `passwords.json` or `password`). Pass --auth-secret NAME, or --username/--password."
    )


def credentials_from_secret_data(data: dict[str, str], username: str | None = None) -> tuple[str, str] | None:
    """SimpleAuthManager passwords file ``{"user": "password"}`` (admin preferred) or a lone ``password`` key."""
    for key in ("passwords.json", "simple_auth_manager_passwords.json.generated"):
        if key in data:
            try:
                users = json.loads(data[key])
            except ValueError:
                continue
            if isinstance(users, dict) and users:
                user = username if username in users else ("admin" if "admin" in users else next(iter(users)))
                return user, str(users[user])
    if "password" in data:
        return username or data.get("username", "admin"), data["password"]
    return None


@dataclass
class DeliveryInfo:
    mode: Literal["pvc", "git", "image"]
    claim: str | None = None
    sub_path: str = ""
    git_repo: str | None = None


def detect_delivery(apps: Any, namespace: str, release: str) -> DeliveryInfo:
    """How the release's dag-processor gets DAGs: git-sync container, a PVC at the dags mount, or the image."""
    deps = apps.list_namespaced_deployment(namespace, label_selector=release_selector(release, "dag-processor")).items
    if not deps:
        deps = [
            d
            for d in apps.list_namespaced_deployment(namespace, label_selector=release_selector(release)).items
            if "dag-processor" in d.metadata.name
        ]
    if not deps:
        raise SmokeError(f"no dag-processor Deployment of release {release!r} in {namespace!r}")
    spec = deps[0].spec.template.spec
    containers = list(spec.containers or []) + list(spec.init_containers or [])
    for c in containers:
        if "git-sync" in (c.name or "") or "git-sync" in (c.image or ""):
            repo = next((e.value for e in (c.env or []) if e.name in ("GITSYNC_REPO", "GIT_SYNC_REPO")), None)
            return DeliveryInfo(mode="git", git_repo=repo)
    claims = {v.name: v.persistent_volume_claim.claim_name for v in (spec.volumes or []) if v.persistent_volume_claim}
    for c in spec.containers or []:
        for m in c.volume_mounts or []:
            if m.name in claims and "dags" in m.mount_path:
                return DeliveryInfo(mode="pvc", claim=claims[m.name], sub_path=m.sub_path or "")
    return DeliveryInfo(mode="image")


def pod_names(core: Any, namespace: str, selector: str) -> list[str]:
    return [p.metadata.name for p in core.list_namespaced_pod(namespace, label_selector=selector).items]


def run_pods(core: Any, namespace: str, dag_id: str, run_id: str) -> list[Any]:
    """Live executor/KPO pods of one run (label ``dag_id``; run id from label or annotation)."""
    pods = core.list_namespaced_pod(namespace, label_selector=f"dag_id={dag_id}").items
    out = []
    for p in pods:
        ann = p.metadata.annotations or {}
        labels = p.metadata.labels or {}
        if ann.get("run_id") == run_id or labels.get("run_id") == run_id:
            out.append(p)
    return out


def default_bash_image(airflow_image: str | None) -> str:
    """The local images build ``airkube.local/bash:5.2`` next to ``airkube.local/airflow``; else Docker Hub's."""
    if airflow_image and airflow_image.startswith(LOCAL_REGISTRY + "/"):
        return f"{LOCAL_REGISTRY}/bash:5.2"
    return DEFAULT_BASH_IMAGE


# --- the run ---------------------------------------------------------------------------------------------
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
    return list(BASE_DAGS + (GIT_DAGS if delivery == "git" else ()))


def wait_parsed(
    client: AirflowClient, dag_ids: list[str], timeout: float, tick: Callable[[str], None] | None = None
) -> None:
    """Wait until every DAG is known to the API; fail fast on an import error of one of their files."""
    deadline = time.monotonic() + timeout
    pending = list(dag_ids)
    while pending:
        pending = [d for d in pending if client.get_dag(d) is None]
        if not pending:
            return
        errors = [
            e for e in client.import_errors() if any(d in str(e.get("filename", "")) for d in pending)
        ]
        if errors:
            text = "\n".join(f"{e.get('filename')}:\n{e.get('stack_trace', '')}" for e in errors)
            raise SmokeError(f"import errors in the smoke DAG files:\n{text}")
        if time.monotonic() > deadline:
            all_errors = client.import_errors()
            extra = "".join(f"\n  {e.get('filename')}: {str(e.get('stack_trace', ''))[-300:]}" for e in all_errors)
            raise SmokeError(
                f"DAGs {pending} not parsed after {timeout:.0f}s: are the files in the dags folder, and is "
                "`[dag_processor] refresh_interval` short enough?" + (f" Import errors:{extra}" if extra else "")
            )
        if tick:
            tick(f"waiting for the dag-processor: {', '.join(pending)}")
        time.sleep(3)


def _observe_kpo_pods(core: Any, namespace: str, dag: DagResult) -> None:
    """Record the KPO pod's spec while it exists (it is deleted on finish): outside proof of the arguments."""
    for p in run_pods(core, namespace, dag.dag_id, dag.run_id):
        labels = p.metadata.labels or {}
        if labels.get("foo") != "bar" or p.metadata.name in dag.observed_pods:
            continue
        spec = p.spec
        aff = spec.affinity
        dag.observed_pods[p.metadata.name] = {
            "node": spec.node_name,
            "labels": dict(labels),
            "zone_topology": bool(
                aff and aff.pod_affinity and aff.pod_affinity.required_during_scheduling_ignored_during_execution
                and aff.pod_affinity.required_during_scheduling_ignored_during_execution[0].topology_key
                == "topology.kubernetes.io/zone"
            ),
            "tolerations": [t.key for t in (spec.tolerations or [])],
            "host_network": bool(spec.host_network),
        }


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


def check_dag(dag: DagResult, scheduler_pods: list[str], git_commit: str | None = None) -> None:
    """Turn evidence into problems (empty list: the DAG proved what it should)."""
    if dag.state != "success":
        dag.problems.append(f"run {dag.run_id} ended {dag.state}")
    for t in dag.tasks:
        if t.state != "success":
            dag.problems.append(f"task {t.label} is {t.state}")
        if t.missing:
            dag.problems.append(f"task {t.label} reported missing: {', '.join(t.missing)}")
    by_task = {t.label: t for t in dag.tasks}
    if dag.dag_id == "smoke_kpo_seed":
        task = by_task.get("task")
        ev = task.evidence if task else {}
        for key, expected in EXPECTED_EVIDENCE.items():
            if ev.get(key) != expected:
                dag.problems.append(f"evidence {key}: expected {expected!r}, got {ev.get(key)!r}")
        if dag.observed_pods:
            for name, seen in dag.observed_pods.items():
                dag.notes.append(
                    f"KPO pod {name} on node {seen['node']}: labels foo={seen['labels'].get('foo')}, "
                    f"zone topology={seen['zone_topology']}, tolerations={seen['tolerations']}, "
                    f"hostNetwork={seen['host_network']}"
                )
    elif dag.dag_id == "smoke_executor":
        pods = [t.pod for t in dag.tasks]
        if len(dag.tasks) != 6:
            dag.problems.append(f"expected 6 task instances (start, 4 mapped, check), got {len(dag.tasks)}")
        if None in pods or len(set(pods)) != len(pods):
            dag.problems.append(f"task instances did not each get a pod of their own: {pods}")
        shared = set(pods) & set(scheduler_pods)
        if shared:
            dag.problems.append(f"tasks ran in the scheduler pod {sorted(shared)}: not the KubernetesExecutor")
        check = by_task.get("check")
        if check and check.evidence.get("distinct_pods") != str(len(dag.tasks) or 6):
            dag.problems.append(f"check task saw distinct_pods={check.evidence.get('distinct_pods')!r}")
    elif dag.dag_id == "smoke_logs":
        from_log = [line for t in dag.tasks for line in t.log if "AIRKUBE-LOG-MARKER" in line]
        if not any(f"run_id={dag.run_id}" in line for line in from_log):
            dag.problems.append(
                "the marker line of this run was not in the task log read back through the REST API after the "
                "worker pod was gone: keep logs on a shared volume (logs.persistence) or remote storage"
            )
    elif dag.dag_id == "smoke_git_sync":
        task = by_task.get("came_through_git")
        commit = task.evidence.get("git_commit") if task else None
        if not commit:
            dag.problems.append("no git commit reported: the DAG file did not come through git-sync")
        elif git_commit and commit != git_commit:
            dag.problems.append(f"DAG ran from commit {commit}, but the git server's main is {git_commit}")


def _wait_pods_gone(core: Any, namespace: str, dag: DagResult, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if not run_pods(core, namespace, dag.dag_id, dag.run_id):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(2)


@contextmanager
def api_endpoint(opts: SmokeOptions, core: Any) -> Iterator[str]:
    if opts.api_url:
        yield opts.api_url
        return
    from airkube.portforward import PortForward

    svc, port = find_api_service(core, opts.namespace, opts.release, opts.api_service)
    with PortForward(
        f"svc/{svc}", port, namespace=opts.namespace, kube_context=opts.kube_context, kubeconfig=opts.kubeconfig
    ) as pf:
        yield pf.url


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

    opts = opts or SmokeOptions()
    console = console or Console(stderr=True)
    result = SmokeResult(namespace=opts.namespace, release=opts.release)
    start = time.monotonic()
    try:
        if core is None or apps is None:
            clients = connect(opts.kubeconfig, opts.kube_context)
            core, apps = clients.core, clients.apps

        # 1. delivery mode
        if opts.delivery == "auto":
            info = detect_delivery(apps, opts.namespace, opts.release)
        elif opts.delivery == "none":
            info = DeliveryInfo(mode="image")
        else:
            info = DeliveryInfo(mode=opts.delivery, claim=opts.dags_claim)  # type: ignore[arg-type]
        result.delivery = info.mode
        dag_ids = select_dags(opts.dags, info.mode)
        from airkube.dags import release_airflow_image

        bash_image = opts.bash_image or default_bash_image(release_airflow_image(core, opts.namespace, opts.release))

        # 2. fixtures
        if opts.fixtures and "smoke_kpo_seed" in dag_ids:
            console.print("[bold]fixtures[/bold]: secrets, configmaps, test-volume, zone label, anchor pod")
            rep = ensure_fixtures(
                core, FixtureOptions(namespace=opts.namespace, image=bash_image, storage_class=opts.storage_class)
            )
            result.notes.extend(rep.warnings)
            if rep.labelled_nodes:
                result.notes.append(f"labelled nodes with topology.kubernetes.io/zone: {rep.labelled_nodes}")

        # 3. DAG delivery
        git_commit = _deliver(opts, info, dag_ids, core, apps, console, result)

        # 4. API
        scheduler_pods = pod_names(core, opts.namespace, release_selector(opts.release, "scheduler"))
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
                wait_parsed(
                    client, dag_ids, min(opts.parse_timeout, opts.timeout),
                    lambda msg: progress.update(parse_task, description=msg),
                )
                progress.remove_task(parse_task)

                dags: list[DagResult] = []
                bars: dict[str, Any] = {}
                for dag_id in dag_ids:
                    client.set_paused(dag_id, False)
                    run = DagResult(dag_id=dag_id, run_id=new_run_id(dag_id))
                    conf = {"image": bash_image} if dag_id == "smoke_kpo_seed" else {}
                    client.trigger(dag_id, run.run_id, conf)
                    dags.append(run)
                    bars[dag_id] = progress.add_task(f"{dag_id}: queued", total=None)
                result.dags = dags

                deadline = start + opts.timeout
                while True:
                    open_runs = [d for d in dags if d.state not in TERMINAL_RUN]
                    if not open_runs:
                        break
                    if time.monotonic() > deadline:
                        for d in open_runs:
                            d.problems.append(f"still {d.state} after --timeout {opts.timeout:.0f}s")
                        break
                    for d in open_runs:
                        d.state = client.get_run(d.dag_id, d.run_id).get("state")
                        tis = client.task_instances(d.dag_id, d.run_id)
                        done = sum(1 for t in tis if t.get("state") in ("success", "failed", "upstream_failed", "skipped"))
                        progress.update(bars[d.dag_id], description=f"{d.dag_id}: {d.state} ({done}/{len(tis)} tasks)",
                                        total=max(len(tis), 1), completed=done)
                        if d.dag_id == "smoke_kpo_seed":
                            _observe_kpo_pods(core, opts.namespace, d)
                    time.sleep(opts.poll_interval)

            # Finished task pods are deleted by the scheduler: wait for that (one shared deadline), so the logs
            # are read back after the pods are gone and nothing of the smoke run is left behind.
            cleanup_deadline = time.monotonic() + 120
            for d in dags:
                gone = d.state in TERMINAL_RUN and _wait_pods_gone(
                    core, opts.namespace, d, max(cleanup_deadline - time.monotonic(), 0.0))
                if d.dag_id == "smoke_logs" and d.state in TERMINAL_RUN:
                    d.notes.append("worker pod gone; log read back through the REST API" if gone
                                   else "worker pod still present after 120 s; log read while it exists")
                elif d.state in TERMINAL_RUN and not gone:
                    d.notes.append("task pods still present 120 s after the run ended")
                collect_tasks(client, d)
                check_dag(d, scheduler_pods, git_commit if d.dag_id == "smoke_git_sync" else None)
    except (SmokeError, AirflowAPIError) as exc:
        result.error = str(exc)
    except Exception as exc:  # kubernetes ApiException, port-forward, timeouts: report, don't traceback
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def _deliver(
    opts: SmokeOptions, info: DeliveryInfo, dag_ids: list[str], core: Any, apps: Any, console: Any, result: SmokeResult
) -> str | None:
    """Put the smoke DAG files where the release reads DAGs from. Returns the git commit for git delivery."""
    if opts.delivery == "none":
        result.notes.append("DAG delivery skipped (--delivery none): the DAG files must already be in place")
        return None
    if info.mode == "image":
        result.notes.append(
            "DAGs are baked into the image (no PVC, no git-sync): delivery skipped; the smoke DAGs of "
            "airkube/smoke/dags must be in the image's dags folder"
        )
        return None
    if info.mode == "pvc":
        from airkube.dags import push_dags

        exclude = [f"{d}.py" for d in ALL_DAGS if d not in dag_ids]
        pushed = push_dags(
            SMOKE_DAGS_DIR, namespace=opts.namespace, claim=info.claim or opts.dags_claim, release=opts.release,
            image=opts.push_image, sub_path=info.sub_path, exclude=exclude, core=core,
        )
        console.print(f"[bold]dags[/bold]: pushed {', '.join(pushed.files)} into PVC {pushed.claim}")
        return None
    # git
    from airkube.smoke.gitserver import ensure_git_server, push_to_git_server

    server, pod = ensure_git_server(namespace=opts.namespace, image=opts.git_image, core=core, apps=apps)
    if info.git_repo and info.git_repo.rstrip("/") != server.url.rstrip("/"):
        result.notes.append(
            f"git-sync follows {info.git_repo}, not the in-cluster server {server.url}: the smoke DAGs must be in "
            "that repository (pushed nothing)"
        )
        return None
    sha = push_to_git_server(SMOKE_DAGS_DIR, server, pod, core=core)
    console.print(f"[bold]dags[/bold]: committed the smoke DAGs to {server.url} ({sha[:12]})")
    return sha
