"""What P6 reads besides the pods: the API server's request counter, the scheduler pod's CPU and memory from the
kubelet's stats summary, and the scheduler's own log lines (with the container runtime's timestamps)."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airkube.kube import Clients, get_raw

# ------------------------------------------------------------------------------------ API server requests
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def request_totals(metrics_text: str) -> dict[tuple[str, str], float]:
    """``apiserver_request_total`` of a /metrics text, summed per (verb, resource[/subresource])."""
    totals: dict[tuple[str, str], float] = {}
    for line in metrics_text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_text, _, value = line[len("apiserver_request_total{"):].rpartition("} ")
        labels = dict(_LABEL.findall(labels_text))
        resource = labels.get("resource", "")
        if labels.get("subresource"):
            resource = f"{resource}/{labels['subresource']}"
        key = (labels.get("verb", ""), resource)
        totals[key] = totals.get(key, 0.0) + float(value.split()[0])
    return totals


@dataclass(frozen=True)
class RequestSnapshot:
    at: float  # client wall clock
    totals: dict[tuple[str, str], float]


def snapshot_requests(clients: Clients) -> RequestSnapshot:
    text = get_raw(clients.api, "/metrics").decode(errors="replace")
    return RequestSnapshot(time.time(), request_totals(text))


@dataclass(frozen=True)
class RequestRate:
    seconds: float
    per_s: float  # every request the API server counted (the bench's own watch and polls included)
    pods_per_s: float  # requests on pods and their subresources (create, get, patch, delete, watch, binding …)
    top: list[tuple[str, float]] = field(default_factory=list)  # "VERB resource" → req/s, the busiest five

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 1), "per_s": round(self.per_s, 1),
                "pods_per_s": round(self.pods_per_s, 1), "top": [[k, round(v, 1)] for k, v in self.top]}


def request_rate(before: RequestSnapshot, after: RequestSnapshot) -> RequestRate:
    seconds = max(after.at - before.at, 1e-9)
    delta = {k: after.totals[k] - before.totals.get(k, 0.0) for k in after.totals}
    pods = sum(v for (_, res), v in delta.items() if res == "pods" or res.startswith("pods/"))
    busiest = sorted(delta.items(), key=lambda kv: -kv[1])[:5]
    top = [(f"{verb} {res}", v / seconds) for (verb, res), v in busiest if v > 0]
    return RequestRate(seconds, sum(delta.values()) / seconds, pods / seconds, top)


# ------------------------------------------------------------------------------------ kubelet stats summary
@dataclass(frozen=True)
class PodStats:
    taken: float  # client wall clock of the request
    stats_time: float  # when the kubelet measured (its cAdvisor housekeeping, ~10 s apart)
    cpu_ns: int  # usageCoreNanoSeconds, cumulative
    working_set: int
    rss: int


def _ts(text: str) -> float:
    """RFC 3339 with any number of fraction digits (Kubernetes, containerd) → epoch seconds."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    main, plus, tz = text.partition("+")
    if "." in main:
        whole, frac = main.split(".", 1)
        main = f"{whole}.{frac[:6]}"
    return datetime.fromisoformat(main + plus + tz).timestamp()


def pod_stats(summary: dict[str, Any], namespace: str, pod: str, taken: float) -> PodStats | None:
    """The pod's CPU and memory from a kubelet stats summary (pod-level figures, else the sum of containers)."""
    for entry in summary.get("pods", []):
        ref = entry.get("podRef", {})
        if ref.get("namespace") != namespace or ref.get("name") != pod:
            continue
        cpu, mem = entry.get("cpu") or {}, entry.get("memory") or {}
        containers = entry.get("containers") or []
        if "usageCoreNanoSeconds" not in cpu:
            cpu = {"usageCoreNanoSeconds": sum((c.get("cpu") or {}).get("usageCoreNanoSeconds", 0)
                                               for c in containers),
                   "time": next(((c.get("cpu") or {}).get("time") for c in containers), None)}
        if "workingSetBytes" not in mem:
            mem = {key: sum((c.get("memory") or {}).get(key, 0) for c in containers)
                   for key in ("workingSetBytes", "rssBytes")}
        stamp = cpu.get("time")
        return PodStats(taken, _ts(stamp) if stamp else taken, int(cpu.get("usageCoreNanoSeconds") or 0),
                        int(mem.get("workingSetBytes") or 0), int(mem.get("rssBytes") or 0))
    return None


@dataclass(frozen=True)
class Footprint:
    cpu_s: float  # CPU-seconds between the two kubelet measurements that bracket the run
    interval_s: float  # seconds between those two measurements
    peak_rss: int  # max rssBytes of the samples in between (kubelet measures every ~10 s)
    peak_working_set: int
    samples: int

    def to_dict(self) -> dict[str, Any]:
        return {"cpu_s": round(self.cpu_s, 2), "interval_s": round(self.interval_s, 1),
                "peak_rss_mib": round(self.peak_rss / 2**20, 1),
                "peak_working_set_mib": round(self.peak_working_set / 2**20, 1), "samples": self.samples}


def footprint(samples: list[PodStats], start: float, end: float) -> Footprint | None:
    """CPU-seconds from the last kubelet measurement at or before ``start`` to the first at or after ``end``
    (the run is inside that interval), and the peak memory of the measurements in it."""
    by_time = sorted({s.stats_time: s for s in samples}.values(), key=lambda s: s.stats_time)
    if len(by_time) < 2:
        return None
    before = [s for s in by_time if s.stats_time <= start]
    after = [s for s in by_time if s.stats_time >= end]
    first = before[-1] if before else by_time[0]
    last = after[0] if after else by_time[-1]
    inside = [s for s in by_time if first.stats_time <= s.stats_time <= last.stats_time]
    return Footprint((last.cpu_ns - first.cpu_ns) / 1e9, last.stats_time - first.stats_time,
                     max(s.rss for s in inside), max(s.working_set for s in inside), len(inside))


class StatsSampler:
    """A thread reading the stats summary of ``node`` every ``every`` seconds, keeping ``pod``'s figures."""

    def __init__(self, clients: Clients, node: str, namespace: str, pod: str, every: float = 2.0) -> None:
        self.clients, self.node, self.namespace, self.pod, self.every = clients, node, namespace, pod, every
        self.samples: list[PodStats] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> PodStats | None:
        path = f"/api/v1/nodes/{self.node}/proxy/stats/summary"
        taken = time.time()
        raw = get_raw(self.clients.api, path, {"only_cpu_and_memory": "true"}, timeout=20)
        stats = pod_stats(json.loads(raw), self.namespace, self.pod, taken)
        if stats:
            self.samples.append(stats)
        return stats

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.sample()
            except Exception as exc:  # noqa: BLE001 - a missed sample is reported, the next one may work
                self.errors.append(str(exc)[:200])

    def latest_time(self) -> float:
        return max((s.stats_time for s in self.samples), default=0.0)

    def wait_measured_after(self, t: float, timeout: float = 30.0) -> bool:
        """Wait until the kubelet has measured once after ``t`` (its housekeeping runs every ~10-15 s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.latest_time() >= t:
                return True
            time.sleep(0.5)
        return False

    def __enter__(self) -> StatsSampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, name=f"stats {self.pod}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=25)


# ------------------------------------------------------------------------------------------ scheduler log
WATCHER_SUCCEEDED = re.compile(r"Event: (\S+) Succeeded, annotations:")
RESULT_PROCESSED = re.compile(r"Changing state of KubernetesResults\(.*?pod_name='([^']+)'")
POD_REQUESTED = re.compile(r"Creating kubernetes pod for job is .*, with pod name (\S+), annotations")


@dataclass
class SchedulerLog:
    """Per pod name, the runtime timestamp (epoch s) of the first line of each kind."""

    requested: dict[str, float] = field(default_factory=dict)  # the executor builds the pod (just before create)
    watcher_succeeded: dict[str, float] = field(default_factory=dict)  # its watcher saw phase Succeeded
    processed: dict[str, float] = field(default_factory=dict)  # the scheduler loop took the watcher's result
    lines: int = 0


def parse_scheduler_log(text: str) -> SchedulerLog:
    """Lines as ``kubectl logs --timestamps`` gives them: ``<RFC 3339 nano> <the line>``."""
    out = SchedulerLog()
    for line in text.splitlines():
        stamp, _, rest = line.partition(" ")
        out.lines += 1
        for pattern, table in ((WATCHER_SUCCEEDED, out.watcher_succeeded), (RESULT_PROCESSED, out.processed),
                               (POD_REQUESTED, out.requested)):
            m = pattern.search(rest)
            if m and m.group(1) not in table:
                try:
                    table[m.group(1)] = _ts(stamp)
                except ValueError:
                    pass
                break
    return out


def scheduler_log(clients: Clients, namespace: str, pod: str, container: str, since_s: int) -> str:
    resp = clients.core.read_namespaced_pod_log(pod, namespace, container=container, timestamps=True,
                                                since_seconds=max(1, since_s), _preload_content=False,
                                                _request_timeout=120)
    data: bytes = resp.data
    return data.decode(errors="replace")
