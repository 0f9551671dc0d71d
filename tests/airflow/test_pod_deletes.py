"""charts/airflow/files/airkube_pod_deletes.py (`kubernetesExecutor.skipRepeatedPodDeletes`, `asyncPodDeletion`),
loaded the way the scheduler loads it: a real Python started with the chart's sitecustomize.py on its PYTHONPATH
imports the real cncf.kubernetes provider, whose `delete_pod` / `patch_pod_executor_done` bodies then run against a
recording API client. (Live: tests/e2e/test_airflow_pvc.py counts the scheduler's DELETEs per task pod;
docs/benchmarks.md P6.)"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import AIRFLOW_CHART  # noqa: E402

FILES = AIRFLOW_CHART / "files"

PROBE = r"""
import json, sys, threading, time, types
from kubernetes.client.rest import ApiException
from airflow.providers.cncf.kubernetes.executors import kubernetes_executor_utils as utils

calls, threads = [], set()


class Api:  # answers like the API server: 404 for a pod deleted before, a 500 for the pods told to (once each)
    def __init__(self):
        self.gone, self.fail = set(), set()

    def delete_namespaced_pod(self, name, namespace, body=None, **kw):
        calls.append(["delete", namespace, name])
        threads.add(threading.current_thread().name.split("_")[0])
        if (namespace, name) in self.fail:
            self.fail.discard((namespace, name))
            raise ApiException(status=500)
        if (namespace, name) in self.gone:
            raise ApiException(status=404)
        self.gone.add((namespace, name))

    def patch_namespaced_pod(self, name, namespace, body):
        calls.append(["patch", namespace, name])


cls = utils.AirflowKubernetesScheduler
sched = cls.__new__(cls)  # the methods under test need only these attributes
sched.kube_client = Api()
sched.kube_config = types.SimpleNamespace(delete_option_kwargs={}, kube_client_request_args={})
sched.team_name = None

out = {"wrapped": [bool(getattr(getattr(cls, m), "_airkube_once", False))
                   for m in ("delete_pod", "patch_pod_executor_done")]}
for _ in range(3):  # the watcher's Succeeded, deletion mark and DELETED events of one pod
    sched.delete_pod(pod_name="p1", namespace="ns")
sched.delete_pod("p1", "other-ns")
sched.kube_client.fail.add(("ns", "p2"))
try:
    sched.delete_pod(pod_name="p2", namespace="ns")
except ApiException as exc:
    out["raised"] = exc.status
sched.delete_pod(pod_name="p2", namespace="ns")  # the provider re-queues the result: tried again
sched.delete_pod(pod_name="p2", namespace="ns")
for _ in range(3):
    sched.patch_pod_executor_done(pod_name="p3", namespace="ns")
deadline = time.monotonic() + 60
while time.monotonic() < deadline and len(calls) < 5:  # background calls: the retry of p2 comes after 1 s
    time.sleep(0.1)
time.sleep(1.5)  # then any call too many would show
out["calls"], out["threads"] = sorted(calls), sorted(threads)
print("RESULT " + json.dumps(out))
"""


# what the API sees from PROBE when each pod is called once: p1 in two namespaces (same name, another pod), p2 twice
# (its first call answered 500 is not remembered), p3's repeated PATCH once
ONE_CALL_PER_POD = sorted([
    ["delete", "ns", "p1"],
    ["delete", "other-ns", "p1"],
    ["delete", "ns", "p2"],
    ["delete", "ns", "p2"],
    ["patch", "ns", "p3"],
])


def run_probe(tmp_path: Path, mode: str) -> dict:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    for name in ("sitecustomize.py", "airkube_pod_deletes.py"):
        shutil.copy(FILES / name, config / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AIRKUBE"))}
    env.update(PYTHONPATH=str(config), AIRFLOW_HOME=str(tmp_path / "home"))
    if mode:
        env["AIRKUBE_POD_DELETES"] = mode  # as the chart sets it in the scheduler
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line.removeprefix("RESULT "))


def test_each_pod_is_deleted_once_and_a_failed_call_is_retried(tmp_path):
    got = run_probe(tmp_path, "once")
    assert got["wrapped"] == [True, True]
    assert got["raised"] == 500  # in the loop's thread: the provider re-queues the result
    assert got["calls"] == ONE_CALL_PER_POD, got
    assert got["threads"] == ["MainThread"]


def test_in_the_background_each_pod_is_deleted_once_off_the_loop(tmp_path):
    got = run_probe(tmp_path, "background")
    assert got["wrapped"] == [True, True]
    assert "raised" not in got  # the 500 is retried in the background, 1 s later
    assert got["calls"] == ONE_CALL_PER_POD, got
    assert got["threads"] == ["airkube-pod-calls"]


def test_without_the_setting_the_provider_calls_the_api_per_event(tmp_path):
    got = run_probe(tmp_path, "")
    assert got["wrapped"] == [False, False]
    assert got["calls"].count(["delete", "ns", "p1"]) == 3
    assert got["calls"].count(["delete", "ns", "p2"]) == 3
    assert got["calls"].count(["patch", "ns", "p3"]) == 3


def _load_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("airkube_pod_deletes_under_test", FILES / "airkube_pod_deletes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_unexpected_provider_is_left_alone(caplog):
    mod = _load_module()

    class Changed:
        def delete_pod(self, pod_name, namespace, grace_period=None):
            return None

        def patch_pod_executor_done(self, *, pod_name, namespace):
            return None

    before = dict(vars(Changed))
    assert mod.patch(types.SimpleNamespace(AirflowKubernetesScheduler=Changed)) is False
    assert dict(vars(Changed)) == before
    assert "repeated pod deletes not skipped" in caplog.text
    assert mod.patch(types.SimpleNamespace()) is False


def test_memory_is_bounded(monkeypatch):
    mod = _load_module()
    monkeypatch.setattr(mod, "REMEMBERED", 2)
    seen: list[str] = []

    class Sched:
        def delete_pod(self, pod_name, namespace):
            seen.append(pod_name)

        def patch_pod_executor_done(self, *, pod_name, namespace):
            return None

    assert mod.patch(types.SimpleNamespace(AirflowKubernetesScheduler=Sched)) is True
    assert mod.patch(types.SimpleNamespace(AirflowKubernetesScheduler=Sched)) is True  # twice: wrapped once
    s = Sched()
    for name in ("a", "b", "a", "c", "a"):  # "a" forgotten once "c" made three
        s.delete_pod(name, "ns")
    assert seen == ["a", "b", "c", "a"]


def test_a_background_call_that_keeps_failing_is_forgotten(monkeypatch, caplog):
    mod = _load_module()
    monkeypatch.setattr(mod, "ATTEMPTS", 2)
    monkeypatch.setattr(mod.time, "sleep", lambda s: None)
    tries: list[str] = []

    class Sched:
        def delete_pod(self, pod_name, namespace):
            tries.append(pod_name)
            raise RuntimeError("API server down")

        def patch_pod_executor_done(self, *, pod_name, namespace):
            return None

    pool = mod.Background(workers=1)
    wrapped = mod.once_per_pod(Sched.delete_pod, pool)
    wrapped(Sched(), "a", "ns")
    pool._pool.shutdown(wait=True)
    assert tries == ["a", "a"]
    assert "delete_pod ns/a failed 2 times, last: API server down" in caplog.text
    pool._pool = None
    wrapped(Sched(), "a", "ns")  # forgotten: the pod's next watch event tries again
    pool._pool.shutdown(wait=True)
    assert tries == ["a", "a", "a", "a"]
