"""REST helpers for the e2e tests, on top of the toolkit's AirflowClient (port-forward + token login)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airkube.errors import AirflowAPIError, WaitTimeout
from airkube.kube import connect, poll_until
from airkube.smoke.api import AirflowClient


@dataclass
class E2EApi:
    api: AirflowClient

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    def healthy(self) -> bool:
        try:
            health = self.api.health()
        except (AirflowAPIError, OSError):
            return False
        return health.get("metadatabase", {}).get("status") == "healthy"

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        _, data = self.api.request("GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100})
        return list(data.get("dag_runs", []))

    def trigger_and_wait_running(self, dag_id: str, conf: dict[str, Any], running: int, timeout: float) -> str:
        """Unpause, trigger, and wait until ``running`` mapped task instances have started and are still running.

        On a small node the first pods may finish before the last one starts: the sleepers must be long enough
        (conf ``seconds``) for all of them to overlap, otherwise this raises rather than waiting in vain.
        """
        self.api.set_paused(dag_id, False)
        run_id = f"e2e__{dag_id}__{int(time.time())}"
        self.api.trigger(dag_id, run_id, conf)

        def enough_running() -> bool:
            tis = [ti for ti in self.api.task_instances(dag_id, run_id) if ti.get("map_index", -1) >= 0]
            states = [ti.get("state") for ti in tis]
            if any(s in ("success", "failed") for s in states) and states.count("running") < running:
                raise AssertionError(f"{dag_id}: a mapped task ended before {running} were running at once "
                                     f"({states.count('running')} running); raise conf seconds")
            return states.count("running") >= running

        poll_until(enough_running, timeout, f"{dag_id}: fewer than {running} tasks running")
        return run_id

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        state = ""

        def ended() -> bool:
            nonlocal state
            try:
                state = self.api.get_run(dag_id, run_id).get("state", "")
            except (AirflowAPIError, OSError):
                state = "unreachable"  # api-server restarting with the DB: keep polling
            return state in ("success", "failed")

        try:
            poll_until(ended, timeout, f"run {run_id}", interval=3)
        except WaitTimeout:
            return state or "timeout"
        return state


@contextmanager
def api_session(release: Any) -> Iterator[E2EApi]:
    from airkube.portforward import PortForward
    from airkube.smoke.discovery import admin_credentials, find_api_service

    core = connect(release.kubeconfig, in_cluster=False).core
    svc, port = find_api_service(core, release.namespace, release.name)
    user, password = admin_credentials(core, release.namespace, release.name)
    with PortForward(f"svc/{svc}", port, namespace=release.namespace, kubeconfig=str(release.kubeconfig)) as pf:
        api = AirflowClient(pf.url, user, password)
        api.login()
        yield E2EApi(api)
