"""wait.py readiness rules on kubernetes model objects built here (pure logic, no cluster)."""

from __future__ import annotations

from types import SimpleNamespace

from kubernetes import client as k

from airkube.wait import (
    Snapshot,
    deployment_state,
    job_state,
    pod_is_ready,
    pod_problem,
    statefulset_state,
    wait_for_release,
)

SEL = k.V1LabelSelector(match_labels={"app": "x"})


def deployment(replicas=1, ready=1, updated=1, available=1, total=1, generation=2, observed=2, conditions=None):
    return k.V1Deployment(
        metadata=k.V1ObjectMeta(name="airflow-scheduler", generation=generation),
        spec=k.V1DeploymentSpec(replicas=replicas, selector=SEL, template=k.V1PodTemplateSpec()),
        status=k.V1DeploymentStatus(replicas=total, ready_replicas=ready, updated_replicas=updated,
                                    available_replicas=available, observed_generation=observed, conditions=conditions))


def test_deployment_ready_only_when_rolled_out() -> None:
    assert deployment_state(deployment()).done
    assert not deployment_state(deployment(ready=0, available=0)).done
    assert not deployment_state(deployment(observed=1)).done  # controller has not seen the new spec
    assert not deployment_state(deployment(total=2)).done  # an old pod is still there
    assert not deployment_state(deployment(replicas=2, ready=1, updated=2, available=1, total=2)).done
    state = deployment_state(deployment(replicas=2, ready=1, updated=2, available=1, total=2))
    assert (state.ready, state.desired, state.label) == (1, 2, "deployment/airflow-scheduler")
    stuck = k.V1DeploymentCondition(type="Progressing", status="False", reason="ProgressDeadlineExceeded", message="slow")
    failed = deployment_state(deployment(ready=0, conditions=[stuck]))
    assert failed.failed and "progress deadline" in failed.failed and not failed.done


def test_deployment_scaled_to_zero_is_ready() -> None:
    assert deployment_state(deployment(replicas=0, ready=0, updated=0, available=0, total=0)).done


def statefulset(ready=1, current="r1", update="r1", updated=1):
    return k.V1StatefulSet(
        metadata=k.V1ObjectMeta(name="airflow-postgres", generation=1),
        spec=k.V1StatefulSetSpec(replicas=1, selector=SEL, service_name="pg", template=k.V1PodTemplateSpec()),
        status=k.V1StatefulSetStatus(replicas=1, ready_replicas=ready, observed_generation=1,
                                     current_revision=current, update_revision=update, updated_replicas=updated))


def test_statefulset_ready() -> None:
    assert statefulset_state(statefulset()).done
    assert not statefulset_state(statefulset(ready=0)).done
    assert not statefulset_state(statefulset(current="r1", update="r2")).done


def job(succeeded=0, failed_condition=False, completions=1):
    conditions = [k.V1JobCondition(type="Failed", status="True", reason="BackoffLimitExceeded", message="too many")] \
        if failed_condition else None
    return k.V1Job(metadata=k.V1ObjectMeta(name="airflow-migrate-1", uid="u1"),
                   spec=k.V1JobSpec(completions=completions, template=k.V1PodTemplateSpec(), selector=None),
                   status=k.V1JobStatus(succeeded=succeeded, conditions=conditions))


def test_job_states() -> None:
    assert not job_state(job()).done
    assert job_state(job(succeeded=1)).done
    failed = job_state(job(failed_condition=True))
    assert failed.failed and "BackoffLimitExceeded" in failed.failed and not failed.done
    assert job_state(job()).selector == {"batch.kubernetes.io/controller-uid": "u1"}


def pod(name="p1", waiting=None, restarts=0, phase="Pending", ready=False, labels=None):
    statuses = [k.V1ContainerStatus(name="scheduler", image="i", image_id="", ready=ready, restart_count=restarts,
                                    state=k.V1ContainerState(waiting=k.V1ContainerStateWaiting(reason=waiting, message="m")
                                                             if waiting else None))]
    conditions = [k.V1PodCondition(type="Ready", status="True" if ready else "False")]
    return k.V1Pod(metadata=k.V1ObjectMeta(name=name, labels=labels or {"app": "x"}),
                   spec=k.V1PodSpec(containers=[k.V1Container(name="scheduler")]),
                   status=k.V1PodStatus(phase=phase, container_statuses=statuses, conditions=conditions))


def test_pod_problems() -> None:
    assert pod_problem(pod()) is None
    assert "ImagePullBackOff" in pod_problem(pod(waiting="ImagePullBackOff"))
    assert "ErrImageNeverPull" in pod_problem(pod(waiting="ErrImageNeverPull"))
    assert pod_problem(pod(waiting="CrashLoopBackOff", restarts=1)) is None  # may still recover
    assert "keeps crashing" in pod_problem(pod(waiting="CrashLoopBackOff", restarts=5))
    assert pod_is_ready(pod(ready=True, phase="Running")) and not pod_is_ready(pod())


def test_snapshot_failures_and_unready_pods() -> None:
    dep = deployment_state(deployment(ready=0, available=0))
    snap = Snapshot([dep, job_state(job(succeeded=1))],
                    [pod("bad", waiting="ErrImagePull"), pod("other", labels={"app": "y"}, waiting="ErrImagePull")])
    assert not snap.done
    assert snap.failures() == ["deployment/airflow-scheduler: pod bad container scheduler: ErrImagePull: m"]
    assert [p.metadata.name for p in snap.unready_pods()] == ["bad"]


class FakeApi:
    """Enough of CoreV1/AppsV1/BatchV1 for wait_for_release: a scripted sequence of states."""

    def __init__(self, frames):
        self.frames, self.i = frames, -1
        self.logs_asked: list[tuple[str, str]] = []

    def tick(self):
        self.i = min(self.i + 1, len(self.frames) - 1)

    def list_namespaced_deployment(self, ns, label_selector):
        self.tick()
        assert label_selector == "app.kubernetes.io/instance=airflow"
        return SimpleNamespace(items=self.frames[self.i]["deployments"])

    def list_namespaced_replica_set(self, ns, label_selector):
        return SimpleNamespace(items=self.frames[self.i].get("replicasets", []))

    def list_namespaced_stateful_set(self, ns, label_selector):
        return SimpleNamespace(items=[])

    def list_namespaced_job(self, ns, label_selector):
        return SimpleNamespace(items=self.frames[self.i].get("jobs", []))

    def list_namespaced_pod(self, ns):
        return SimpleNamespace(items=self.frames[self.i].get("pods", []))

    def list_namespaced_event(self, ns, field_selector):
        return SimpleNamespace(items=[k.CoreV1Event(involved_object=k.V1ObjectReference(), metadata=k.V1ObjectMeta(),
                                                    type="Warning", reason="Failed", message="pull failed")])

    def read_namespaced_pod_log(self, name, ns, container, tail_lines):
        self.logs_asked.append((name, container))
        return "\n".join(f"line {i}" for i in range(100))


def _cluster(frames):
    api = FakeApi(frames)
    return SimpleNamespace(core=api, apps=api, batch=api), api


def test_wait_until_ready_with_updates() -> None:
    cluster, _ = _cluster([{"deployments": [deployment(ready=0, available=0)], "jobs": [job()]},
                           {"deployments": [deployment()], "jobs": [job(succeeded=1)]}])
    seen = []
    now = iter(range(100))
    result = wait_for_release(cluster, "airflow", "airflow", 60, on_update=seen.append, clock=lambda: next(now),
                              sleep=lambda s: None)
    assert result.ok and len(seen) == 2 and seen[-1].done


def test_wait_fails_fast_with_diagnostics() -> None:
    cluster, api = _cluster([{"deployments": [deployment(ready=0, available=0)],
                              "pods": [pod("airflow-scheduler-1", waiting="ImagePullBackOff")]}])
    now = iter(range(100))
    result = wait_for_release(cluster, "airflow", "airflow", 600, clock=lambda: next(now), sleep=lambda s: None)
    assert not result.ok and "ImagePullBackOff" in result.reason
    (diag,) = result.diagnoses
    assert diag.pod == "airflow-scheduler-1" and diag.events == ["Warning Failed: pull failed"]
    assert diag.logs["scheduler"] == [f"line {i}" for i in range(70, 100)]  # the last 30 lines


def test_wait_times_out_naming_pending_workloads() -> None:
    cluster, _ = _cluster([{"deployments": [deployment(ready=0, available=0)], "pods": [pod("p")]}])
    now = iter(range(0, 1000, 10))
    result = wait_for_release(cluster, "airflow", "airflow", 30, clock=lambda: next(now), sleep=lambda s: None)
    assert not result.ok and "timed out after 30s waiting for deployment/airflow-scheduler 0/1" in result.reason
    assert [d.pod for d in result.diagnoses] == ["p"]


def test_wait_without_workloads_says_so() -> None:
    cluster, _ = _cluster([{"deployments": []}])
    now = iter(range(0, 1000, 10))
    result = wait_for_release(cluster, "airflow", "airflow", 20, clock=lambda: next(now), sleep=lambda s: None)
    assert not result.ok and "is the release installed there?" in result.reason


# --- only the current rollout counts (`airkube install` right after `airkube uninstall`) ---------------------
def owned(obj_pod, uid, labels=None):
    obj_pod.metadata.owner_references = [k.V1OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="rs",
                                                             uid=uid)]
    if labels:
        obj_pod.metadata.labels = {**obj_pod.metadata.labels, **labels}
    return obj_pod


def replicaset(uid, owner, revision):
    return k.V1ReplicaSet(metadata=k.V1ObjectMeta(
        name=f"rs-{uid}", uid=uid, annotations={"deployment.kubernetes.io/revision": revision},
        owner_references=[k.V1OwnerReference(api_version="apps/v1", kind="Deployment", name="d", uid=owner)]))


def new_deployment(uid="dep-new", revision="2"):
    dep = deployment(ready=0, available=0)
    dep.metadata.uid = uid
    dep.metadata.annotations = {"deployment.kubernetes.io/revision": revision}
    return dep


def test_terminating_pod_of_the_uninstalled_release_is_ignored() -> None:
    import datetime as dt

    old = owned(pod("airflow-scheduler-old", waiting="CrashLoopBackOff", restarts=9, phase="Failed"), "rs-gone")
    old.metadata.deletion_timestamp = dt.datetime.now(dt.UTC)
    new = owned(pod("airflow-scheduler-new"), "rs-new")
    state = deployment_state(new_deployment(), [replicaset("rs-new", "dep-new", "1")])
    snap = Snapshot([state], [old, new])
    assert snap.failures() == []
    assert [p.metadata.name for p in snap.pods_of(state)] == ["airflow-scheduler-new"]


def test_pods_of_an_older_replicaset_or_an_earlier_deployment_are_ignored() -> None:
    dep = new_deployment(revision="3")
    rss = [replicaset("rs-2", "dep-new", "2"), replicaset("rs-3", "dep-new", "3"),
           replicaset("rs-other", "dep-earlier", "3")]
    stale = owned(pod("old-revision", waiting="ImagePullBackOff"), "rs-2")  # not terminating yet
    earlier = owned(pod("earlier-release", waiting="ErrImagePull"), "rs-other")
    current = owned(pod("current", waiting="ImagePullBackOff"), "rs-3")
    state = deployment_state(dep, rss)
    assert state.owners == frozenset({"rs-3"})
    snap = Snapshot([state], [stale, earlier, current])
    assert [p.metadata.name for p in snap.pods_of(state)] == ["current"]
    assert snap.failures() == ["deployment/airflow-scheduler: pod current container scheduler: ImagePullBackOff: m"]


def test_no_replicaset_yet_means_no_pod_counts() -> None:
    state = deployment_state(new_deployment(), [])
    assert Snapshot([state], [owned(pod("x", waiting="ErrImagePull"), "rs-old")]).failures() == []


def test_statefulset_pods_of_the_old_revision_are_ignored() -> None:
    sts = statefulset(ready=0, current="r1", update="r2")
    sts.metadata.uid = "sts-1"
    old = owned(pod("pg-0", waiting="ErrImagePull"), "sts-1", {"controller-revision-hash": "r1"})
    state = statefulset_state(sts)
    assert Snapshot([state], [old]).failures() == []
    new = owned(pod("pg-0", waiting="ErrImagePull"), "sts-1", {"controller-revision-hash": "r2"})
    assert Snapshot([state], [new]).failures()


def test_wait_ignores_the_old_pod_then_succeeds() -> None:
    """The reported false failure: an old, terminating, failed pod while the new release comes up."""
    import datetime as dt

    old = owned(pod("airflow-scheduler-old", phase="Failed"), "rs-gone")
    old.metadata.deletion_timestamp = dt.datetime.now(dt.UTC)
    old.spec.restart_policy = "Always"
    rss = [replicaset("rs-new", "dep-new", "1")]
    ready = new_deployment(revision="1")
    ready.status = k.V1DeploymentStatus(replicas=1, ready_replicas=1, updated_replicas=1, available_replicas=1,
                                        observed_generation=2)
    cluster, _ = _cluster([{"deployments": [new_deployment(revision="1")], "replicasets": rss, "pods": [old]},
                           {"deployments": [ready], "replicasets": rss, "pods": []}])
    now = iter(range(100))
    result = wait_for_release(cluster, "airflow", "airflow", 60, clock=lambda: next(now), sleep=lambda s: None)
    assert result.ok, result.reason
