"""kind for real: airkube's private Docker engine, the offline node image, a 3-node kind cluster.

The session starts the private engine only if it is not up already, and stops it again only then. When the cluster
of `make deploy-kind` (`airkube`, state in .state/kind) is already up and answers, the suite uses it as it is (its
own namespace) and leaves it; otherwise it creates its own cluster `airkube-e2e` (own state dir and shared host dirs
under pytest's tmp dir, no published host port) and deletes it afterwards: it removes only what it created. The node image stays in the engine's data root as a cache (keyed by its recipe).
`AIRKUBE_KEEP_KIND=1` leaves the cluster (and engine) up for reruns.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kind_helpers import NAME, TIMINGS, USER_NAME


@pytest.fixture(scope="session")
def kind_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if os.geteuid() != 0:
        pytest.fail("the kind suite starts a Docker engine and builds a node image: it needs root")
    from airkube.cluster import docker as engine
    from airkube.cluster.kind import KindProvider, KindSettings
    from airkube.cluster.kind_node_image import build_node_image

    started_engine = not engine.private_engine_up()
    t0 = time.monotonic()
    if started_engine:
        engine.up()
    TIMINGS["engine_up_s"] = time.monotonic() - t0
    os.environ["DOCKER_HOST"] = engine.PRIVATE_HOST
    t0 = time.monotonic()
    image = build_node_image()
    TIMINGS["node_image_s"] = time.monotonic() - t0
    keep = os.environ.get("AIRKUBE_KEEP_KIND") == "1"
    users = KindProvider(KindSettings(name=USER_NAME, image=image))
    if users.exists():  # the user's cluster: used as found, never created, resized or deleted by the suite
        provider, created = users, False
        print(f"\n[e2e-kind] kind cluster {USER_NAME} is already up: using it as is (the suite will leave it)")
    else:
        state = Path("/var/lib/airkube/kind-e2e") if keep else tmp_path_factory.mktemp("kind")
        provider = KindProvider(KindSettings(name=NAME, state_dir=state, mount_base=state, publish_ports=False,
                                             nodes=3, image=image))
        created = not provider.exists()
        t0 = time.monotonic()
        provider.create()
        TIMINGS["kind_create_s"] = time.monotonic() - t0
    os.environ["KUBECONFIG"] = str(provider.kubeconfig())
    yield provider
    print("\n[e2e-kind timings] " + ", ".join(f"{k}={v:.0f}s" for k, v in TIMINGS.items()))
    if keep or not created:
        return
    provider.delete()
    if started_engine:
        engine.down()
        # with the bridge gone, the kind network's addresses must not follow the default route off this machine
        probe = subprocess.run(["ip", "route", "get", "10.87.0.5"], capture_output=True, text=True)
        assert probe.returncode != 0, f"10.87.0.0/24 routes off the machine after engine down: {probe.stdout}"
