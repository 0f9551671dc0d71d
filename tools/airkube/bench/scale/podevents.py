"""A light pod watch for thousands of pods: raw JSON lines (no kubernetes-client model objects, whose
deserialisation would cost the 2-core machine more CPU than the scheduler under test), a few fields per pod."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from airkube.bench.scale.probes import _ts
from airkube.errors import BenchError
from airkube.kube import Clients


@dataclass
class PodEvents:
    """Client wall clock (epoch s) of what a watch saw, per pod name. Use as a context manager."""

    clients: Clients
    namespace: str
    selector: str
    seen: dict[str, float] = field(default_factory=dict)  # first event of the pod
    created: dict[str, float] = field(default_factory=dict)  # metadata.creationTimestamp (1 s resolution)
    running: dict[str, float] = field(default_factory=dict)  # first seen phase Running
    terminal: dict[str, float] = field(default_factory=dict)  # first seen phase Succeeded or Failed
    deleted: dict[str, float] = field(default_factory=dict)  # DELETED event
    phases: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)
    events: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def __enter__(self) -> PodEvents:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="pod events", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise BenchError(f"cannot list pods {self.selector} in namespace {self.namespace}: "
                             f"{self.errors[-1] if self.errors else 'no answer in 30 s'}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=20)

    def record(self, kind: str, pod: dict[str, Any], now: float) -> None:
        meta, status, spec = pod.get("metadata") or {}, pod.get("status") or {}, pod.get("spec") or {}
        name = meta.get("name")
        if not name:
            return
        with self._lock:
            self.seen.setdefault(name, now)
            if meta.get("creationTimestamp") and name not in self.created:
                self.created[name] = _ts(meta["creationTimestamp"])
            phase = status.get("phase") or ""
            self.phases[name] = phase
            if spec.get("nodeName"):
                self.nodes[name] = spec["nodeName"]
            if phase == "Running":
                self.running.setdefault(name, now)
            if phase in ("Succeeded", "Failed"):
                self.terminal.setdefault(name, now)
            if kind == "DELETED":
                self.deleted.setdefault(name, now)

    def _list(self) -> str:
        resp = self.clients.core.list_namespaced_pod(self.namespace, label_selector=self.selector,
                                                     _preload_content=False, _request_timeout=60)
        data = json.loads(resp.data)
        now = time.time()
        for pod in data.get("items", []):
            self.record("LISTED", pod, now)
        return str(data["metadata"]["resourceVersion"])

    def _run(self, ready: threading.Event) -> None:
        rv: str | None = None
        while not self._stop.is_set():
            try:
                if rv is None:
                    rv = self._list()
                    ready.set()
                resp = self.clients.core.list_namespaced_pod(
                    self.namespace, label_selector=self.selector, watch=True, resource_version=rv,
                    allow_watch_bookmarks=True, timeout_seconds=5, _preload_content=False, _request_timeout=(5, 30))
                buf = b""
                for chunk in resp.stream(65536):
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        if line.strip():
                            rv = self._event(json.loads(line), rv)
                    if self._stop.is_set():
                        break
                resp.release_conn()
            except _Gone:
                rv = None
            except Exception as exc:  # noqa: BLE001 - a dropped watch resumes from the last resourceVersion
                self.errors.append(str(exc)[:200])
                time.sleep(0.2)

    def _event(self, event: dict[str, Any], rv: str | None) -> str | None:
        kind, obj = event.get("type", ""), event.get("object") or {}
        if kind == "ERROR":
            raise _Gone(str(obj.get("message", "")))
        self.events += 1
        new_rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
        if kind != "BOOKMARK":
            self.record(kind, obj, time.time())
        return new_rv

    def counts(self) -> tuple[int, int, int]:
        """(pods seen, seen terminal, seen deleted)."""
        with self._lock:
            return len(self.seen), len(self.terminal), len(self.deleted)


class _Gone(Exception):
    """The watch's resourceVersion expired (410): list again."""
