"""Shared e2e helpers: an installed release and polling (imported by the e2e test modules and conftest)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
TIMINGS: dict[str, float] = {}


@dataclass
class Release:
    """An installed release of charts/airflow and how to change it."""

    name: str
    namespace: str
    kubeconfig: Path
    values_files: list[Path]
    sets: list[str] = field(default_factory=list)
    console: Console = field(default_factory=lambda: Console(stderr=True))

    def install(self, extra_sets: list[str] | None = None, timeout: str = "15m") -> float:
        """helm upgrade --install, then wait for every workload (airkube.release.install); returns seconds."""
        from airkube.helm import Target
        from airkube.release import InstallRequest, install
        from airkube.values.inputs import ValuesInput

        target = Target(release=self.name, namespace=self.namespace, kubeconfig=self.kubeconfig, timeout=timeout)
        values = ValuesInput(files=tuple(self.values_files), sets=tuple(self.sets + (extra_sets or [])))
        t0 = time.monotonic()
        install(self.console, InstallRequest(target=target, values=values))
        return time.monotonic() - t0

    def uninstall(self) -> None:
        from airkube.helm import Helm, Target

        asyncio.run(Helm(Target(release=self.name, namespace=self.namespace, kubeconfig=self.kubeconfig)).uninstall())

    def smoke(self, **kwargs: Any):  # -> airkube.smoke.SmokeResult
        from airkube.smoke import SmokeOptions, run_smoke

        opts = SmokeOptions(namespace=self.namespace, release=self.name, kubeconfig=str(self.kubeconfig), **kwargs)
        result = run_smoke(opts, console=self.console)
        return result


def wait_for(predicate, timeout: float, what: str, interval: float = 2.0) -> float:  # type: ignore[no-untyped-def]
    """Poll until predicate() is truthy; return the seconds it took, fail the test naming ``what`` otherwise."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def ensure_namespace(core: Any, name: str) -> None:
    """Create the namespace unless it exists."""
    from kubernetes import client

    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    except client.ApiException as exc:
        if exc.status != 409:
            raise
