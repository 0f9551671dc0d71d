"""kwok (sigs.k8s.io/kwok v0.8.0) as a host process of the P6 bench: fake nodes whose pods never run a container.

kwok watches only the nodes annotated ``kwok.x-k8s.io/node=fake`` (``--manage-all-nodes=false``) and plays the
Stages written here on the pods bound to them: Pending → Running → Succeeded after a few hundred milliseconds, and a
pod being deleted is removed at once (there is no kubelet to finish the deletion). It opens no port (no
``serverAddress``, no ``nodePort``), gives fake nodes no address and fake pods no IP, so nothing ever sends traffic
to them; it talks only to the API server of the kubeconfig it is given. The fake nodes carry a NoSchedule taint,
so only pods that tolerate it (the bench's task pods) land there.

    binary = kwok_binary()                    # builds it once with scripts/build-go.sh kwok (~3.5 min cold)
    with KwokController(binary, kubeconfig, state_dir) as kwok:
        create_fake_nodes(core, node_names(50))
        ...
        delete_fake_nodes(core)
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import yaml

from airkube.errors import BenchError, KubeError, WaitTimeout
from airkube.kube import poll_until

KWOK_VERSION = "v0.8.0"  # scripts/build-go.sh KWOK_VERSION (the same)
MANAGE_ANNOTATION = "kwok.x-k8s.io/node"  # =fake: the nodes kwok manages
FAKE_NODE_LABEL = "airkube.io/fake-node"  # =kwok: the nodeSelector of the bench's task pods
BENCH_LABEL = "airkube.io/bench"  # =scale: every object the bench creates (nodes, namespace)
BENCH_LABEL_VALUE = "scale"
TAINT_KEY = "kwok.x-k8s.io/node"  # NoSchedule: only pods tolerating it land on fake nodes
NODE_PREFIX = "kwok-bench-"


# ------------------------------------------------------------------------------------------------- the binary
def cache_dir() -> Path:
    return Path(os.environ.get("AIRKUBE_CACHE") or Path.home() / ".cache" / "airkube")


def repo_root() -> Path:
    for parent in Path(__file__).resolve().parents:
        if (parent / "scripts" / "build-go.sh").is_file():
            return parent
    raise BenchError("scripts/build-go.sh not found: run airkube bench --scale from a checkout of the repo")


def kwok_binary(build: bool = True, say: Callable[[str], None] | None = None) -> Path:
    """``<cache>/bin/kwok-v0.8.0``; built once with ``scripts/build-go.sh kwok`` (nice 10) when missing."""
    path = cache_dir() / "bin" / f"kwok-{KWOK_VERSION}"
    if os.access(path, os.X_OK):
        return path
    if not build:
        raise BenchError(f"{path} is missing: build it with `scripts/build-go.sh kwok`")
    if say:
        say(f"building kwok {KWOK_VERSION} from the Go module proxy (once; ~3.5 min cold on 2 cores) ...")
    started = time.monotonic()
    proc = subprocess.run(["nice", "-n", "10", str(repo_root() / "scripts" / "build-go.sh"), "kwok"])
    if proc.returncode != 0 or not os.access(path, os.X_OK):
        raise BenchError(f"`scripts/build-go.sh kwok` failed (exit {proc.returncode}): see its output above; it needs "
                         "Go and the Go module proxy")
    if say:
        say(f"built {path} in {time.monotonic() - started:.0f}s")
    return path


# -------------------------------------------------------------------------------------- configuration (pure)
@dataclass(frozen=True)
class Timing:
    """How long a fake pod stays in each phase (milliseconds after the previous stage)."""

    running_ms: int = 300  # bound → Running
    succeeded_ms: int = 1000  # Running → Succeeded


POD_RUNNING_TEMPLATE = """\
{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: true
  restartCount: 0
  started: true
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
phase: Running
startTime: {{ $now | Quote }}
"""

POD_SUCCEEDED_TEMPLATE = """\
{{ $now := Now }}
{{ $started := or .status.startTime $now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  reason: PodCompleted
  status: "False"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  reason: PodCompleted
  status: "False"
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  restartCount: 0
  started: false
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $started | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
phase: Succeeded
"""

# kwok's own node-initialize (kustomize/stage/node/fast) without addresses and kubelet endpoint: nothing may try to
# reach a fake node
NODE_HEARTBEAT_TEMPLATE = """\
{{ $now := Now }}
{{ $lastTransitionTime := or .metadata.creationTimestamp $now }}
conditions:
{{ range NodeConditions }}
- lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $lastTransitionTime | Quote }}
  message: {{ .message | Quote }}
  reason: {{ .reason | Quote }}
  status: {{ .status | Quote }}
  type: {{ .type | Quote }}
{{ end }}
"""

NODE_READY_TEMPLATE = NODE_HEARTBEAT_TEMPLATE + """\
allocatable:
{{ with .status.allocatable }}
{{ YAML . 1 }}
{{ else }}
  cpu: "32"
  memory: 256Gi
  pods: "1000"
{{ end }}
capacity:
{{ with .status.capacity }}
{{ YAML . 1 }}
{{ else }}
  cpu: "32"
  memory: 256Gi
  pods: "1000"
{{ end }}
nodeInfo:
  architecture: amd64
  containerRuntimeVersion: kwok-v0.8.0
  kernelVersion: kwok-v0.8.0
  kubeProxyVersion: kwok-v0.8.0
  kubeletVersion: kwok-v0.8.0
  operatingSystem: linux
phase: Running
"""



def _stage(name: str, kind: str, expressions: list[dict[str, Any]], nxt: dict[str, Any],
           delay_ms: int = 0, jitter_ms: int = 0) -> dict[str, Any]:
    spec: dict[str, Any] = {"resourceRef": {"apiGroup": "v1", "kind": kind},
                            "selector": {"matchExpressions": expressions}, "next": nxt}
    if delay_ms or jitter_ms:
        spec["delay"] = {"durationMilliseconds": delay_ms, **({"jitterDurationMilliseconds": jitter_ms}
                                                               if jitter_ms else {})}
    return {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage", "metadata": {"name": name}, "spec": spec}


def _expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": operator, **({"values": list(values)} if values else {})}


def stages(timing: Timing = Timing()) -> list[dict[str, Any]]:
    """The Stage objects kwok plays: node ready (+ a slow heartbeat), pod Running, Succeeded, and deleted."""
    live = _expr(".metadata.deletionTimestamp", "DoesNotExist")
    ready = '.status.conditions.[] | select( .type == "Ready" ) | .status'
    return [
        _stage("node-initialize", "Node", [_expr(ready, "NotIn", "True")],
               {"statusTemplate": NODE_READY_TEMPLATE}),
        _stage("node-heartbeat", "Node", [_expr(".status.phase", "In", "Running"), _expr(ready, "In", "True")],
               {"statusTemplate": NODE_HEARTBEAT_TEMPLATE}, delay_ms=600_000, jitter_ms=610_000),
        _stage("pod-running", "Pod", [live, _expr(".status.phase", "In", "Pending")],
               {"statusTemplate": POD_RUNNING_TEMPLATE}, delay_ms=timing.running_ms),
        _stage("pod-succeeded", "Pod", [live, _expr(".status.phase", "In", "Running")],
               {"statusTemplate": POD_SUCCEEDED_TEMPLATE}, delay_ms=timing.succeeded_ms),
        _stage("pod-delete", "Pod", [_expr(".metadata.deletionTimestamp", "Exists"),
                                     _expr(".metadata.finalizers", "DoesNotExist")], {"delete": True}),
    ]


def kwok_configuration() -> dict[str, Any]:
    """kwok's own options: the annotated nodes only, no server (so no listening port), node leases on."""
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokConfiguration",
        "metadata": {"name": "airkube-bench-scale"},
        "options": {
            "manageAllNodes": False,
            "manageNodesWithAnnotationSelector": f"{MANAGE_ANNOTATION}=fake",
            "nodeLeaseDurationSeconds": 40,
            # kwok's defaults spelled out: a config file's options are taken as they are (0 = no workers)
            "nodeLeaseParallelism": 4,
            "podPlayStageParallelism": 16,
            "nodePlayStageParallelism": 4,
            "podsOnNodeSyncParallelism": 1,
            "enablePodsOnNodeSyncListPager": True,
            "enablePodsOnNodeSyncStreamWatch": False,
            "enableDebuggingHandlers": False,
            "enableProfilingHandler": False,
        },
    }


def config_text(timing: Timing = Timing()) -> str:
    """The file given to ``kwok --config``: the KwokConfiguration, then the Stages (no CRDs in the cluster)."""
    return yaml.safe_dump_all([kwok_configuration(), *stages(timing)], sort_keys=False)


def kwok_argv(binary: Path, kubeconfig: Path, config: Path) -> list[str]:
    return [str(binary), "--kubeconfig", str(kubeconfig), "--config", str(config),
            "--manage-all-nodes=false", f"--manage-nodes-with-annotation-selector={MANAGE_ANNOTATION}=fake",
            "--node-lease-duration-seconds=40"]


def node_names(count: int) -> list[str]:
    if not 1 <= count <= 999:
        raise BenchError(f"--scale-nodes must be between 1 and 999, got {count}")
    return [f"{NODE_PREFIX}{i:03d}" for i in range(count)]


def fake_node(name: str, pods: int = 1000) -> dict[str, Any]:
    """A Node kwok manages: annotated for kwok, labelled for the task pods' nodeSelector, tainted NoSchedule."""
    # ephemeral-storage too: the chart's task pods request some, and a node without it fits none of them
    resources = {"cpu": "32", "memory": "256Gi", "ephemeral-storage": "1Ti", "pods": str(pods)}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {MANAGE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {FAKE_NODE_LABEL: "kwok", BENCH_LABEL: BENCH_LABEL_VALUE, "kubernetes.io/hostname": name,
                       "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"},
        },
        "spec": {"taints": [{"key": TAINT_KEY, "value": "fake", "effect": "NoSchedule"}]},
        "status": {"allocatable": resources, "capacity": resources},
    }


def task_pod_scheduling() -> dict[str, Any]:
    """The worker values that put the task pods (and only them) on the fake nodes."""
    return {"nodeSelector": {FAKE_NODE_LABEL: "kwok"},
            "tolerations": [{"key": TAINT_KEY, "operator": "Equal", "value": "fake", "effect": "NoSchedule"}]}


# ------------------------------------------------------------------------------------------ the fake nodes
def node_selector() -> str:
    return f"{BENCH_LABEL}={BENCH_LABEL_VALUE},{FAKE_NODE_LABEL}=kwok"


def create_fake_nodes(core: Any, names: list[str]) -> None:
    for name in names:
        core.create_node(fake_node(name))


def node_ready(node: Any) -> bool:
    """Ready=True and no ``node.kubernetes.io/not-ready`` taint left (the scheduler would skip the node)."""
    conditions = (node.status.conditions if node.status else None) or []
    ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
    taints = (node.spec.taints if node.spec else None) or []
    return ready and not any(t.key.startswith("node.kubernetes.io/") for t in taints)


def wait_fake_nodes_ready(core: Any, count: int, timeout: float = 180.0) -> None:
    seen: list[int] = [0]

    def ready() -> bool:
        nodes = core.list_node(label_selector=node_selector()).items
        seen[0] = sum(node_ready(n) for n in nodes)
        return seen[0] >= count

    try:
        poll_until(ready, timeout, lambda: f"{seen[0]}/{count} fake nodes Ready", interval=2.0)
    except WaitTimeout as exc:
        raise BenchError(f"{exc}: is kwok running (see its log)? The node lifecycle controller removes the "
                         "not-ready taint only once kwok reports the node Ready") from None


def delete_fake_nodes(core: Any, timeout: float = 180.0) -> int:
    """Delete every node the bench created (by label) and wait until they are gone. Returns how many."""
    names = [n.metadata.name for n in core.list_node(label_selector=node_selector()).items]
    for name in names:
        try:
            core.delete_node(name)
        except Exception as exc:  # noqa: BLE001 - a 404 (already gone) is fine; others show in the wait
            if getattr(exc, "status", None) != 404:
                raise
    poll_until(lambda: not core.list_node(label_selector=node_selector()).items, timeout,
               "fake nodes still exist", interval=2.0)
    return len(names)


# --------------------------------------------------------------------------------------------- the process
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class KwokController:
    """``with KwokController(binary, kubeconfig, state_dir):`` runs kwok with a PID file, stops it by that PID.

    A PID file left by a crashed bench is honoured first: that process is stopped if it is still our kwok
    (its command line names our binary), the file removed otherwise.
    """

    def __init__(self, binary: Path, kubeconfig: Path, state_dir: Path, timing: Timing = Timing()) -> None:
        self.binary = binary
        self.kubeconfig = kubeconfig
        self.state_dir = state_dir
        self.timing = timing
        self.pid_file = state_dir / "kwok.pid"
        self.log_file = state_dir / "kwok.log"
        self.config_file = state_dir / "kwok.yaml"
        self.proc: subprocess.Popen[bytes] | None = None

    def stop_stale(self) -> int | None:
        """Stop a kwok left running by an earlier bench (from its PID file). Returns its PID, if one was stopped."""
        if not self.pid_file.is_file():
            return None
        try:
            pid = int(self.pid_file.read_text().strip())
        except ValueError:
            self.pid_file.unlink(missing_ok=True)
            return None
        stopped = None
        if _alive(pid) and str(self.binary) in _cmdline(pid):
            self._terminate(pid)
            stopped = pid
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def start(self, timeout: float = 60.0) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.stop_stale()
        self.config_file.write_text(config_text(self.timing))
        env = {**os.environ, "HOME": str(self.state_dir)}  # no ~/.kwok/kwok.yaml of the user's
        with open(self.log_file, "wb") as log:
            self.proc = subprocess.Popen(kwok_argv(self.binary, self.kubeconfig, self.config_file), stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                         start_new_session=True)
        self.pid_file.write_text(f"{self.proc.pid}\n")

        def started() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise KubeError(f"kwok exited with {self.proc.returncode} at start:\n{self.log_tail()}")
            return "Watch nodes" in self.log_file.read_text(errors="replace")

        try:
            poll_until(started, timeout, "kwok did not report `Watch nodes`", interval=0.5)
        except WaitTimeout as exc:
            self.stop()
            raise KubeError(f"{exc}:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @staticmethod
    def _terminate(pid: int, grace: float = 10.0) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.2)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            self.proc = None
        self.pid_file.unlink(missing_ok=True)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
