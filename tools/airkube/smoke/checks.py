"""What each smoke DAG must prove: one `DagCheck` per DAG id in `CHECKS` (run conf, what to watch while it
runs, how to judge its evidence), plus the checks every DAG shares (`check_dag`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .discovery import run_pods
from .fixtures import EXPECTED_EVIDENCE
from .report import DagResult, TaskResult


@dataclass(frozen=True)
class CheckContext:
    """What the checks know beyond the run itself."""

    bash_image: str = ""
    scheduler_pods: tuple[str, ...] = ()
    git_commit: str | None = None


def _no_conf(ctx: CheckContext) -> dict[str, Any]:
    return {}


def _no_watch(core: Any, namespace: str, dag: DagResult) -> None:
    return None


def _no_judge(dag: DagResult, ctx: CheckContext) -> None:
    return None


@dataclass(frozen=True)
class DagCheck:
    conf: Callable[[CheckContext], dict[str, Any]] = _no_conf  # the run's conf
    watch: Callable[[Any, str, DagResult], None] = _no_watch  # called on every poll while the run is open
    judge: Callable[[DagResult, CheckContext], None] = _no_judge  # appends problems (and notes) to the run


def _task(dag: DagResult, label: str) -> TaskResult | None:
    return next((t for t in dag.tasks if t.label == label), None)


# --- smoke_kpo_seed: the KubernetesPodOperator pod got every argument --------------------------------------
def _watch_kpo_pods(core: Any, namespace: str, dag: DagResult) -> None:
    """Record the KPO pod's spec while it exists (it is deleted on finish): outside proof of the arguments."""
    for p in run_pods(core, namespace, dag.dag_id, dag.run_id):
        labels = p.metadata.labels or {}
        if labels.get("foo") != "bar" or p.metadata.name in dag.observed_pods:
            continue
        spec = p.spec
        required = spec.affinity.pod_affinity.required_during_scheduling_ignored_during_execution \
            if spec.affinity and spec.affinity.pod_affinity else None
        dag.observed_pods[p.metadata.name] = {
            "node": spec.node_name,
            "labels": dict(labels),
            "zone_topology": bool(required and required[0].topology_key == "topology.kubernetes.io/zone"),
            "tolerations": [t.key for t in (spec.tolerations or [])],
            "host_network": bool(spec.host_network),
        }


def _judge_kpo(dag: DagResult, ctx: CheckContext) -> None:
    task = _task(dag, "task")
    ev = task.evidence if task else {}
    for key, expected in EXPECTED_EVIDENCE.items():
        if ev.get(key) != expected:
            dag.problems.append(f"evidence {key}: expected {expected!r}, got {ev.get(key)!r}")
    for name, seen in dag.observed_pods.items():
        dag.notes.append(
            f"KPO pod {name} on node {seen['node']}: labels foo={seen['labels'].get('foo')}, "
            f"zone topology={seen['zone_topology']}, tolerations={seen['tolerations']}, "
            f"hostNetwork={seen['host_network']}"
        )


# --- smoke_executor: one pod per task instance, none in the scheduler ---------------------------------------
def _judge_executor(dag: DagResult, ctx: CheckContext) -> None:
    pods = [t.pod for t in dag.tasks]
    if len(dag.tasks) != 6:
        dag.problems.append(f"expected 6 task instances (start, 4 mapped, check), got {len(dag.tasks)}")
    if None in pods or len(set(pods)) != len(pods):
        dag.problems.append(f"task instances did not each get a pod of their own: {pods}")
    shared = {p for p in pods if p} & set(ctx.scheduler_pods)
    if shared:
        dag.problems.append(f"tasks ran in the scheduler pod {sorted(shared)}: not the KubernetesExecutor")
    check = _task(dag, "check")
    if check and check.evidence.get("distinct_pods") != str(len(dag.tasks) or 6):
        dag.problems.append(f"check task saw distinct_pods={check.evidence.get('distinct_pods')!r}")


# --- smoke_logs: the log is readable after the worker pod is gone -------------------------------------------
def _judge_logs(dag: DagResult, ctx: CheckContext) -> None:
    from_log = [line for t in dag.tasks for line in t.log if "AIRKUBE-LOG-MARKER" in line]
    if not any(f"run_id={dag.run_id}" in line for line in from_log):
        dag.problems.append(
            "the marker line of this run was not in the task log read back through the REST API after the "
            "worker pod was gone: keep logs on a shared volume (logs.persistence) or remote storage"
        )


# --- smoke_git_sync / smoke_bundle: the DAG (or task) came from the git server's current commit ---------------
def _judge_commit(task_id: str, key: str, absent: str, ran_from: str) -> Callable[[DagResult, CheckContext], None]:
    """A judge: task `task_id` reported `key` (else `absent`), equal to the git server's main when it is known."""
    def judge(dag: DagResult, ctx: CheckContext) -> None:
        task = _task(dag, task_id)
        commit = task.evidence.get(key) if task else None
        if not commit:
            dag.problems.append(absent)
        elif ctx.git_commit and commit != ctx.git_commit:
            dag.problems.append(f"{ran_from} {commit}, but the git server's main is {ctx.git_commit}")
    return judge


_judge_git_sync = _judge_commit("came_through_git", "git_commit",
                                "no git commit reported: the DAG file did not come through git-sync", "DAG ran from commit")
_judge_bundle = _judge_commit("came_through_bundle", "bundle_version",
                              "no bundle version reported: the task did not run from a git DAG bundle",
                              "task ran from bundle version")


CHECKS: dict[str, DagCheck] = {
    "smoke_kpo_seed": DagCheck(conf=lambda ctx: {"image": ctx.bash_image}, watch=_watch_kpo_pods, judge=_judge_kpo),
    "smoke_executor": DagCheck(judge=_judge_executor),
    "smoke_logs": DagCheck(judge=_judge_logs),
    "smoke_git_sync": DagCheck(judge=_judge_git_sync),
    "smoke_bundle": DagCheck(judge=_judge_bundle),
}


def check_dag(dag: DagResult, ctx: CheckContext) -> None:
    """Turn evidence into problems (none: the DAG proved what it should): the shared checks, then its own."""
    if dag.state != "success":
        dag.problems.append(f"run {dag.run_id} ended {dag.state}")
    for t in dag.tasks:
        if t.state != "success":
            dag.problems.append(f"task {t.label} is {t.state}")
        if t.missing:
            dag.problems.append(f"task {t.label} reported missing: {', '.join(t.missing)}")
    CHECKS.get(dag.dag_id, DagCheck()).judge(dag, ctx)
