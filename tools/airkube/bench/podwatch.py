"""Watch pods in a thread and record when each one was created, started, finished (cluster and client clocks)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from airkube.errors import WaitTimeout
from airkube.kube import poll_until


@dataclass
class PodTimes:
    name: str
    labels: dict[str, str]
    created: datetime | None = None  # metadata.creationTimestamp (1 s resolution)
    started: datetime | None = None  # first container startedAt (1 s resolution)
    finished: datetime | None = None  # last container finishedAt (1 s resolution)
    phase: str = ""
    seen_at: float = 0.0  # client wall clock (time.time()) when the pod was first seen (sub-second resolution)
    running_at: float | None = None  # client wall clock when a running (or terminated) container was first seen
    done_at: float | None = None  # client wall clock when Succeeded/Failed was first seen


@dataclass
class PodWatcher:
    """Context manager recording :class:`PodTimes` for pods matching ``selector`` in ``namespace``.

    One list, then one watch continued from the last resourceVersion it delivered (a watch that times out is
    resumed, not re-listed, so no transition between two watch calls is lost; a 410 Gone re-lists).
    """

    core: Any
    namespace: str
    selector: str = ""
    pods: dict[str, PodTimes] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> PodWatcher:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError(f"cannot list pods in namespace {self.namespace} ({self.selector})")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=15)

    def _list(self) -> str:
        listed = self.core.list_namespaced_pod(self.namespace, label_selector=self.selector)
        for pod in listed.items:
            self._record(pod)
        return listed.metadata.resource_version

    def _run(self, ready: threading.Event) -> None:
        rv: str | None = None
        while not self._stop.is_set():
            w = watch.Watch()
            try:
                if rv is None:
                    rv = self._list()
                    ready.set()
                for event in w.stream(self.core.list_namespaced_pod, self.namespace, label_selector=self.selector,
                                      resource_version=rv, timeout_seconds=2, allow_watch_bookmarks=True):
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        rv = None  # 410 Gone (or similar): list again
                        break
                    rv = obj.metadata.resource_version or rv
                    if event["type"] != "BOOKMARK":
                        self._record(obj)
                    if self._stop.is_set():
                        break
            except ApiException as exc:
                if exc.status == 410:
                    rv = None
                time.sleep(0.1)
            except Exception:  # noqa: BLE001 - a dropped watch is resumed; measurements keep what they saw
                time.sleep(0.1)
            finally:
                w.stop()

    def _record(self, pod: Any) -> None:
        now = time.time()
        name = pod.metadata.name
        with self._lock:
            times = self.pods.setdefault(name, PodTimes(name, dict(pod.metadata.labels or {}), seen_at=now))
            times.created = pod.metadata.creation_timestamp
            times.phase = pod.status.phase or times.phase
            for cs in pod.status.container_statuses or []:
                state = cs.state
                if state.running and state.running.started_at:
                    times.started = times.started or state.running.started_at
                    times.running_at = times.running_at or now
                if state.terminated:
                    times.started = times.started or state.terminated.started_at
                    times.running_at = times.running_at or now
                    if state.terminated.finished_at and (times.finished is None or state.terminated.finished_at > times.finished):
                        times.finished = state.terminated.finished_at
            if times.phase in ("Succeeded", "Failed") and times.done_at is None:
                times.done_at = now

    def snapshot(self) -> list[PodTimes]:
        with self._lock:
            return list(self.pods.values())

    def wait_done(self, names: set[str], timeout: float) -> bool:
        def done() -> bool:
            with self._lock:
                return all(n in self.pods and self.pods[n].done_at for n in names)

        try:
            return poll_until(done, timeout, "pods not done", interval=0.05)
        except WaitTimeout:
            return False
