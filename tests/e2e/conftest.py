"""Real-cluster fixtures: the local cluster (or an existing one), images loaded, releases installed for real.

By default the suite brings up the Docker-free `local` provider (root on Linux), builds the images and loads them.
`AIRKUBE_E2E_KUBECONFIG=/path` runs it against an existing cluster instead (images must already be there).
`AIRKUBE_KEEP_CLUSTER=1` leaves the local cluster running afterwards (faster reruns).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterator

import pytest
from kubernetes import client, config

from e2e_helpers import TIMINGS


# The cluster bring-up/teardown checks run first (they purge the state); then the releases, in this order.
E2E_ORDER = ("test_cluster.py", "test_airflow_pvc.py", "test_airflow_git_sync.py", "test_logs_remote.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = Path(str(item.fspath)).name
        return E2E_ORDER.index(name) if name in E2E_ORDER else len(E2E_ORDER)

    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=rank)  # stable: file order kept inside each module


@pytest.fixture(scope="session")
def kubeconfig() -> Iterator[Path]:
    existing = os.environ.get("AIRKUBE_E2E_KUBECONFIG")
    if existing:
        os.environ["KUBECONFIG"] = existing
        yield Path(existing)
        return
    if os.geteuid() != 0:
        pytest.fail("the e2e suite brings up the local cluster, which needs root (or set AIRKUBE_E2E_KUBECONFIG)")
    from airkube.cluster.local import LocalProvider
    from airkube.images import build_images

    provider = LocalProvider()
    t0 = time.monotonic()
    provider.create()
    TIMINGS["cluster_up_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    archives = build_images()
    TIMINGS["images_build_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    provider.load_images(list(archives.values()))
    TIMINGS["images_load_s"] = time.monotonic() - t0
    path = provider.kubeconfig()
    os.environ["KUBECONFIG"] = str(path)
    os.environ.setdefault("ATS_CLUSTER_TYPE", "existing")  # pytest-helm-charts' kube_cluster fixture
    yield path
    print("\n[e2e timings] " + ", ".join(f"{k}={v:.0f}s" for k, v in TIMINGS.items()))
    if os.environ.get("AIRKUBE_KEEP_CLUSTER") != "1":
        provider.delete()


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


@pytest.fixture(scope="session")
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


