"""`LocalProvider`: a real one-node Kubernetes (containerd + etcd + kube-* host processes) without Docker."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kubernetes.client import ApiClient

from ...errors import WaitTimeout
from ...kube import connect, poll_until
from ...progress import Heartbeat
from .. import kubeconfig as user_kubeconfig
from ..base import ClusterError, ClusterProvider, ComponentReport, ComponentStatus
from . import addons, binaries, config, host_deps, mounts, network, pki, processes
from .containerd import Containerd
from .layout import KUBE_ROUTER_VERSION, Layout

BASE_IMAGES = ("pause", "coredns")  # what the cluster itself runs (sandbox + DNS)
CGROUP_ROOT = Path("/sys/fs/cgroup")


class Reporter:
    """Progress sink: `start(step)` then `done(step, seconds)`; `note(text)` for anything else. Plain lines, so a
    log file shows them too; a step quiet for AIRKUBE_HEARTBEAT_S (20 s) says it still runs, with the time."""

    _beat: Heartbeat | None = None

    def start(self, step: str) -> None:
        self._stop_beat()
        print(f"… {step}", flush=True)
        self._beat = Heartbeat(step, self._say).start()

    def done(self, step: str, seconds: float) -> None:
        self._stop_beat()
        print(f"✓ {step} ({seconds:.1f}s)", flush=True)

    def note(self, text: str) -> None:
        if self._beat is not None:
            self._beat.touch()
        self._say(text)

    def _say(self, text: str) -> None:
        print(f"  {text}", flush=True)

    def _stop_beat(self) -> None:
        if self._beat is not None:
            self._beat.stop()
            self._beat = None


class LocalProvider(ClusterProvider):
    name = "local"

    def __init__(self, layout: Layout | None = None, reporter: Reporter | None = None,
                 load_base_images: bool = True, merge_kubeconfig: bool | None = None) -> None:
        self.layout = layout or Layout.from_env()
        self.reporter = reporter or Reporter()
        self.load_base_images = load_base_images
        self.merge_kubeconfig = merge_kubeconfig  # None: unless AIRKUBE_NO_KUBECONFIG is set
        self.timings: dict[str, float] = {}
        self.containerd = Containerd(self.layout.containerd_socket)

    # --- helpers ---------------------------------------------------------------------------------------
    @contextmanager
    def _step(self, name: str) -> Iterator[None]:
        self.reporter.start(name)
        started = time.monotonic()
        yield
        self.timings[name] = time.monotonic() - started
        self.reporter.done(name, self.timings[name])

    def _components(self) -> list[config.Component]:
        return config.components(self.layout)

    def api_client(self) -> ApiClient:
        return connect(self.layout.admin_kubeconfig, in_cluster=False).api

    # --- interface ---------------------------------------------------------------------------------------
    def kubeconfig(self) -> Path:
        return self.layout.admin_kubeconfig

    def kube_context(self) -> str | None:
        return "airkube-local"

    def exists(self) -> bool:
        if not all(processes.alive(self.layout.pid_file(c.name)) for c in self._components()):
            return False
        apiserver = next(c for c in self._components() if c.name == "kube-apiserver")
        return processes.probe(apiserver.health)[0]

    def report(self) -> list[ComponentReport]:
        rows = []
        for component in self._components():
            pid = processes.alive(self.layout.pid_file(component.name))
            if pid is None:
                rows.append(ComponentReport(component.name, None, False, False, "not running", 0))
                continue
            if component.name == "containerd":
                ok, detail = self.containerd.answers(), "ctr version"
            else:
                ok, detail = processes.probe(component.health)
                url = component.health.url
                detail = f"{url.split('//', 1)[1] if url else 'process'} → {detail[:24]}"
            rows.append(ComponentReport(component.name, pid, True, ok, detail, processes.rss_bytes(pid)))
        return rows

    def status(self) -> list[ComponentStatus]:
        return [ComponentStatus(r.name, r.alive and r.healthy, f"pid={r.pid} {r.health}") for r in self.report()]

    def memory(self, measure: Callable[[int], int] = processes.rss_bytes) -> dict[str, int]:
        """RSS (or `processes.pss_bytes`) of every cluster process: ours, the containerd shims, and the pod
        processes under them."""
        usage = {}
        for component in self._components():
            pid = processes.alive(self.layout.pid_file(component.name))
            if pid:
                usage[component.name] = measure(pid)
        shims = processes.find_by_argument("-address", str(self.layout.containerd_socket))
        usage["containerd-shims"] = sum(measure(pid) for pid in shims)
        usage["pods"] = sum(measure(pid) for pid in _descendants(shims))
        return usage

    # --- create --------------------------------------------------------------------------------------------
    def create(self) -> None:
        if os.geteuid() != 0:
            raise ClusterError("the local provider needs root (bridge, iptables, mounts, containerd): run as root")
        started = time.monotonic()
        if self.exists():
            self.reporter.note(f"cluster already up (state {self.layout.state})")
            with self._step("add-ons"):
                self._apply_addons()
            self._wait_cluster()
            user_kubeconfig.after_up(self.kubeconfig(), self.reporter.note, self.merge_kubeconfig)
            return
        if not any(processes.alive(self.layout.pid_file(c.name)) for c in self._components()):
            with self._step("clean leftovers of a previous run"):
                self._teardown(quiet=True)
        with self._step("host packages (apt)"):
            installed = host_deps.ensure(self.reporter.note)
            if installed:
                self.reporter.note(f"installed {', '.join(installed)}")
            network.check_iptables()
        with self._step("binaries (scripts/build-go.sh, cached)"):
            binaries.ensure(self.layout, say=self.reporter.note)
        with self._step("state dir, certificates, kubeconfigs, configs"):
            for path in self.layout.dirs():
                path.mkdir(parents=True, exist_ok=True)
            os.chmod(self.layout.etcd_data, 0o700)
            pki.ensure_all(self.layout)
            config.write_all(self.layout)
        with self._step(f"network (bridge {self.layout.net.bridge} {self.layout.net.node_cidr}, guard rules)"):
            previous = network.set_sysctls()
            saved = self.layout.run / "sysctl.json"
            if not saved.exists():
                saved.write_text(json.dumps(previous))
            network.ensure_unreachable(self.layout.net)
            network.ensure_bridge(self.layout.net)
            network.ensure_guard(self.layout.net)
        for component in self._components():
            if component.name == config.ENFORCER:
                continue  # needs the registered node: started below
            if component.name == "kubelet":
                self._before_kubelet()
            with self._step(component.name):
                self._start(component)
        self._wait_cluster()
        self._start_enforcer()
        self.timings["total"] = time.monotonic() - started
        (self.layout.run / "timings.json").write_text(json.dumps(self.timings, indent=2))
        self.reporter.note(f"cluster up in {self.timings['total']:.1f}s; kubeconfig: {self.kubeconfig()}")
        user_kubeconfig.after_up(self.kubeconfig(), self.reporter.note, self.merge_kubeconfig)

    def _start_enforcer(self) -> None:
        """kube-router's NetworkPolicy firewall (test clusters only). A failure is reported loudly but does not
        fail the bring-up: the cluster works, NetworkPolicies are then simply not enforced (as before), and
        tests/e2e/test_security.py fails on it."""
        with self._step(f"NetworkPolicy enforcer ({config.ENFORCER} {KUBE_ROUTER_VERSION}, test clusters only)"):
            try:
                self._start(next(c for c in self._components() if c.name == config.ENFORCER))
            except (RuntimeError, OSError) as exc:
                self.reporter.note(f"WARNING: NetworkPolicies are NOT enforced, {config.ENFORCER} did not start: "
                                   f"{exc}")

    def _start(self, component: config.Component) -> None:
        pid_file, log_file = self.layout.pid_file(component.name), self.layout.log_file(component.name)
        processes.start(component, pid_file, log_file)
        extra = {"containerd": self.containerd.answers,
                 config.ENFORCER: lambda: network.chain_exists("KUBE-ROUTER-FORWARD")}.get(component.name)
        processes.wait_ready(component, pid_file, log_file, extra_check=extra)

    def _before_kubelet(self) -> None:
        with self._step("add-ons (StorageClass, CoreDNS)"):
            self._apply_addons()
        if self.load_base_images:
            with self._step("base images (pause, coredns)"):
                self._ensure_base_images()

    def _apply_addons(self) -> None:
        api = self.api_client()

        def applied() -> bool:
            addons.apply(api, addons.all_manifests(self.layout))
            return True

        # the default service account / RBAC bootstrap may lag /readyz by a moment
        _wait(applied, 60, "applying add-ons failed")

    def _ensure_base_images(self) -> None:
        try:
            from airkube import images as image_builder  # written by the images part of the toolkit
        except ModuleNotFoundError:
            self.reporter.note("airkube.images is not available: CoreDNS stays Pending until the pause and "
                               "coredns images are loaded (`airkube images build` then `airkube images load`)")
            return
        archives = image_builder.build_images(list(BASE_IMAGES))  # cached: returns at once when built
        self.load_images([archives[name] for name in BASE_IMAGES])

    def load_images(self, archives: list[Path]) -> None:
        """Import OCI archives into containerd (k8s.io namespace), skipping those already there."""
        self.containerd.import_archives(archives, self.reporter.note)

    def _kubelet_started(self) -> dt.datetime:
        """When the running kubelet started: status older than that is stale (left in etcd by a previous run)."""
        pid_file = self.layout.pid_file("kubelet")
        return dt.datetime.fromtimestamp(pid_file.stat().st_mtime, dt.UTC) - dt.timedelta(seconds=2)

    def _wait_cluster(self, timeout: float = 180) -> None:
        from kubernetes import client

        api = self.api_client()
        core = client.CoreV1Api(api)
        since = self._kubelet_started()
        with self._step(f"node {self.layout.node_name} Ready"):
            _wait(lambda: _node_ready(core, self.layout.node_name, since), timeout,
                  f"node {self.layout.node_name} not Ready; see {self.layout.log_file('kubelet')}")
        refs = self.containerd.images()
        if config.COREDNS_IMAGE not in refs or config.SANDBOX_IMAGE not in refs:
            self.reporter.note("pause/coredns images not loaded yet: not waiting for CoreDNS")
            return
        with self._step("CoreDNS available"):
            _wait(lambda: _pod_ready(core, "kube-system", "k8s-app=kube-dns", self.containerd.running_tasks()), timeout,
                  "CoreDNS not available: `kubectl -n kube-system describe pod -l k8s-app=kube-dns`")

    # --- delete --------------------------------------------------------------------------------------------
    def delete(self, purge: bool = False) -> None:
        user_kubeconfig.before_down(self.kubeconfig(), self.layout.net.apiserver_url, self.reporter.note)
        with self._step("stop cluster"):
            self._teardown(quiet=False)
        if purge:
            with self._step(f"purge {self.layout.state}"):
                mounts.unmount_all(self.layout.state)
                shutil.rmtree(self.layout.state, ignore_errors=True)

    def _teardown(self, quiet: bool) -> None:
        say = (lambda _t: None) if quiet else self.reporter.note
        layout = self.layout
        by_name = {c.name: c for c in self._components()}
        # 1. clients of the runtime first, so nothing restarts containers while we remove them
        for name in (config.ENFORCER, "provisioner", "kube-proxy", "kubelet", "kube-scheduler",
                     "kube-controller-manager"):
            if processes.stop(layout.pid_file(name)):
                say(f"stopped {name}")
        # 2. every pod container, through our containerd (if it still runs)
        if processes.alive(layout.pid_file("containerd")) and self.containerd.answers():
            self.containerd.remove_all(say)
        for name in ("containerd", "kube-apiserver", "etcd"):
            if name in by_name and processes.stop(layout.pid_file(name), grace=15):
                say(f"stopped {name}")
        # 3. shims our containerd started (they outlive it) and their containers
        shims = processes.find_by_argument("-address", str(layout.containerd_socket))
        for pid in _descendants(shims) + shims:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        if shims:
            say(f"killed {len(shims)} leftover containerd shim(s)")
            time.sleep(0.5)
        # 4. mounts, netns, network, iptables, cgroups, sysctls
        unmounted = mounts.unmount_all(layout.state)
        if unmounted:
            say(f"unmounted {len(unmounted)} mount(s) under {layout.state}")
        for transient in (layout.containerd_state, layout.runc_root, layout.cni_ipam_dir):
            shutil.rmtree(transient, ignore_errors=True)
        if network.delete_bridge(layout.net):
            say(f"deleted bridge {layout.net.bridge}")
        network.ensure_unreachable(layout.net)  # nothing may route to the cluster's subnets off this machine
        chains = network.cleanup_iptables()
        if chains:
            say(f"removed {len(chains)} iptables chain(s)")
        sets = network.cleanup_ipsets()
        if sets:
            say(f"destroyed {len(sets)} ipset(s) of the NetworkPolicy enforcer")
        removed = _remove_cgroups("kubepods")
        if removed:
            say(f"removed {removed} kubelet cgroup(s)")
        saved = layout.run / "sysctl.json"
        if saved.exists():
            network.restore_sysctls(json.loads(saved.read_text()))
            saved.unlink()


# --- module helpers ------------------------------------------------------------------------------------------

def _wait(predicate: Callable[[], bool], timeout: float, message: str) -> None:
    """`poll_until` that retries through errors (404 while objects are being created, API restarts)."""
    last: list[Exception] = []

    def attempt() -> bool:
        try:
            return predicate()
        except Exception as exc:  # noqa: BLE001 - kept and named if the wait times out
            last[:] = [exc]
            return False

    try:
        poll_until(attempt, timeout, message)
    except WaitTimeout:
        raise ClusterError(f"{message} (waited {timeout:.0f}s{'; last error: ' + str(last[0]) if last else ''})") \
            from None


def _node_ready(core, name: str, since: dt.datetime) -> bool:
    node = core.read_node(name)
    return any(c.type == "Ready" and c.status == "True" and c.last_heartbeat_time >= since
               for c in node.status.conditions or [])


def _pod_ready(core, namespace: str, selector: str, running_tasks: set[str]) -> bool:
    """A matching pod is Ready and its containers really run in our containerd (API status can be stale
    after a crash: it is whatever the previous kubelet reported last)."""
    for pod in core.list_namespaced_pod(namespace, label_selector=selector).items:
        ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
        ids = [s.container_id.split("://", 1)[-1] for s in pod.status.container_statuses or [] if s.container_id]
        if ready and ids and all(i in running_tasks for i in ids):
            return True
    return False


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(roots: list[int]) -> list[int]:
    tree, found, stack = _children(), [], list(roots)
    while stack:
        for child in tree.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _remove_cgroups(name: str) -> int:
    """rmdir the (empty) cgroup trees the kubelet created, in every v1 hierarchy; deepest first."""
    removed = 0
    if not CGROUP_ROOT.exists():
        return 0
    for hierarchy in CGROUP_ROOT.iterdir():
        top = hierarchy / name
        if not top.is_dir():
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: t[0].count("/"), reverse=True):
            try:
                os.rmdir(dirpath)
                removed += 1
            except OSError:
                pass
    return removed
