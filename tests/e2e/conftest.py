"""Real-cluster fixtures: the local cluster (or an existing one), images loaded, releases installed for real.

The suite leaves a cluster it did not create exactly as it found it:
- a local cluster already running when the session starts (say, the user's `make deploy`) is used as it is: never
  re-created, never restarted, never `delete()`d; test_cluster.py (it purges and restarts the cluster) skips;
- every test works in namespaces of its own, named `e2e-*`; at the end the suite deletes the `e2e-*` namespaces it
  created, and nothing else (the user's `airflow` namespace and release are never touched);
- it never edits the user's kubeconfig (AIRKUBE_NO_KUBECONFIG=1 for the session);
- test_zz_user_state.py proves it: a sentinel namespace with a ConfigMap (one per session), and a snapshot of the
  system namespaces and of the `airflow` release, taken before the first release test and compared after the last.
With no local cluster running, the suite brings one up (root on Linux), and takes it down at the end unless
`AIRKUBE_KEEP_CLUSTER=1`. `AIRKUBE_E2E_KUBECONFIG=/path` runs it against an existing cluster instead (images must
already be there); that cluster is never taken down either.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from kubernetes import client, config

from e2e_helpers import TIMINGS

# The cluster bring-up/teardown checks run first (they purge the state); then the releases, in this order; the
# check that the suite left everything else alone runs last.
E2E_ORDER = ("test_cluster.py", "test_airflow_pvc.py", "test_airflow_git_sync.py", "test_logs_remote.py")
E2E_LAST = ("test_zz_user_state.py",)
OWN_PREFIX = "e2e-"  # every namespace the suite creates
# stands for the user's own work: created first, checked last, then removed; one per session (a name shared by
# two sessions on one cluster would be removed by the first one to end, under the other's feet)
SENTINEL_NS = f"sentinel-user-{uuid.uuid4().hex[:8]}"
USER_NAMESPACE = "airflow"  # where `make deploy` installs the user's release
WATCHED = ("default", "kube-system", "kube-public", "kube-node-lease", USER_NAMESPACE)


@dataclass
class Session:
    """What the suite found when it started, and what it made."""

    found_running: bool | None = None  # a local cluster answered before any test ran (None: not the local provider)
    created_cluster: bool = False
    foreign: ForeignState | None = None
    reason: str = ""


SESSION = Session()


def pytest_configure(config: pytest.Config) -> None:
    os.environ["AIRKUBE_NO_KUBECONFIG"] = "1"  # the user's ~/.kube/config is theirs
    if os.environ.get("AIRKUBE_E2E_KUBECONFIG") or os.geteuid() != 0:
        return
    from airkube.cluster.local import LocalProvider

    provider = LocalProvider()
    SESSION.found_running = provider.exists()
    if SESSION.found_running:
        SESSION.reason = (f"a local cluster was already running when the session started (state "
                          f"{provider.layout.state}); the suite uses it as it is and never takes it down")


def pytest_report_header(config: pytest.Config) -> str:
    if SESSION.found_running is None:
        return "e2e: existing cluster (AIRKUBE_E2E_KUBECONFIG)" if os.environ.get("AIRKUBE_E2E_KUBECONFIG") else ""
    return f"e2e: {SESSION.reason}" if SESSION.found_running else "e2e: no local cluster running: the suite owns one"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = Path(str(item.fspath)).name
        if name in E2E_LAST:
            return len(E2E_ORDER) + 1
        return E2E_ORDER.index(name) if name in E2E_ORDER else len(E2E_ORDER)

    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=rank)  # stable: file order kept inside each module


@pytest.fixture(scope="session")
def e2e_session() -> Session:
    return SESSION


# --- what is not ours: snapshot before, compare after ----------------------------------------------------

@dataclass
class ForeignState:
    """Everything outside the suite's `e2e-*` namespaces, as found before the first release test."""

    namespaces: dict[str, str] = field(default_factory=dict)  # name -> uid
    workloads: dict[str, tuple[str, int]] = field(default_factory=dict)  # ns/Kind/name -> (uid, generation)
    helm_releases: dict[str, str] = field(default_factory=dict)  # ns/secret -> resourceVersion
    sentinel: tuple[str, str] = ("", "")  # ConfigMap (uid, resourceVersion)


def foreign_snapshot(api: client.ApiClient) -> ForeignState:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    state = ForeignState()
    for ns in core.list_namespace().items:  # the user's: the system ones, `airflow`, the sentinel (other
        if ns.metadata.name in WATCHED or ns.metadata.name == SENTINEL_NS:  # test runs may come and go meanwhile)
            state.namespaces[ns.metadata.name] = ns.metadata.uid
    for ns in (USER_NAMESPACE, SENTINEL_NS):
        if ns not in state.namespaces:
            continue
        for kind, items in (("Deployment", apps.list_namespaced_deployment(ns).items),
                            ("StatefulSet", apps.list_namespaced_stateful_set(ns).items)):
            for item in items:
                state.workloads[f"{ns}/{kind}/{item.metadata.name}"] = (item.metadata.uid, item.metadata.generation)
        for secret in core.list_namespaced_secret(ns, label_selector="owner=helm").items:
            state.helm_releases[f"{ns}/{secret.metadata.name}"] = secret.metadata.resource_version
    try:
        cm = core.read_namespaced_config_map("keep-me", SENTINEL_NS)
        state.sentinel = (cm.metadata.uid, cm.metadata.resource_version)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    return state


def _create_sentinel(core: client.CoreV1Api) -> None:
    labels = {"airkube.io/e2e-sentinel": "true"}
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=SENTINEL_NS, labels=labels)))
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="keep-me", labels=labels),
                              data={"what": "the e2e suite must leave this alone until it removes it last"})
    try:
        core.create_namespaced_config_map(SENTINEL_NS, body)
    except client.ApiException as exc:
        if exc.status != 409:
            raise


def _delete_namespaces(core: client.CoreV1Api, names: list[str], timeout: float = 300) -> list[str]:
    """Delete and wait until they are gone; returns the ones still there at the deadline."""
    for name in names:
        try:
            core.delete_namespace(name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + timeout
    left = list(names)
    while left and time.monotonic() < deadline:
        present = {ns.metadata.name for ns in core.list_namespace().items}
        left = [n for n in left if n in present]
        if left:
            time.sleep(2)
    return left


# --- the cluster -------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[Path]:
    existing = os.environ.get("AIRKUBE_E2E_KUBECONFIG")
    if existing:
        os.environ["KUBECONFIG"] = existing
        yield from _with_foreign_state(Path(existing))
        return
    if os.geteuid() != 0:
        pytest.fail("the e2e suite brings up the local cluster, which needs root (or set AIRKUBE_E2E_KUBECONFIG)")
    from airkube.cluster.local import LocalProvider
    from airkube.images import build_images

    provider = LocalProvider(merge_kubeconfig=False)
    if provider.exists():
        print(f"\n[e2e] using the local cluster that is already running ({provider.layout.state}): "
              "it stays up, only the suite's e2e-* namespaces are removed at the end")
    else:
        t0 = time.monotonic()
        provider.create()
        SESSION.created_cluster = True
        TIMINGS["cluster_up_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    archives = build_images()
    TIMINGS["images_build_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    provider.load_images(list(archives.values()))  # same refs as `make deploy`: unchanged archives are skipped
    TIMINGS["images_load_s"] = time.monotonic() - t0
    path = provider.kubeconfig()
    os.environ["KUBECONFIG"] = str(path)
    os.environ.setdefault("ATS_CLUSTER_TYPE", "existing")  # pytest-helm-charts' kube_cluster fixture
    yield from _with_foreign_state(path)
    print("\n[e2e timings] " + ", ".join(f"{k}={v:.0f}s" for k, v in TIMINGS.items()))
    if SESSION.created_cluster and os.environ.get("AIRKUBE_KEEP_CLUSTER") != "1":
        provider.delete()
    elif not SESSION.created_cluster:
        print("[e2e] the local cluster was running before the suite: left running")


def _with_foreign_state(path: Path) -> Iterator[Path]:
    """Snapshot what is not ours (after a sentinel of the user's is in place), yield, then remove only the `e2e-*`
    namespaces this session created, and the sentinel."""
    api = config.new_client_from_config(config_file=str(path))
    core = client.CoreV1Api(api)
    before = {ns.metadata.name for ns in core.list_namespace().items}
    _create_sentinel(core)
    SESSION.foreign = foreign_snapshot(api)
    yield path
    made = sorted({ns.metadata.name for ns in core.list_namespace().items
                   if ns.metadata.name.startswith(OWN_PREFIX)} - before)
    left = _delete_namespaces(core, [*made, SENTINEL_NS])
    print(f"\n[e2e] removed the namespaces the suite made: {', '.join(made) or 'none'}"
          + (f"; still terminating: {', '.join(left)}" if left else ""))


@pytest.fixture(scope="session")
def foreign_state(kubeconfig: Path) -> ForeignState:
    assert SESSION.foreign is not None
    return SESSION.foreign


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


@pytest.fixture(scope="session")
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)
