"""Shared e2e helpers: an installed release and polling (imported by the e2e test modules and conftest)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from airkube.kube import create_or_update

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
        enforce_restricted(self.kubeconfig, self.namespace)  # every pod of the release must pass PSA "restricted"
        t0 = time.monotonic()
        install(self.console, InstallRequest(target=target, values=values))
        seconds = time.monotonic() - t0
        for ns in release_namespaces(self.kubeconfig, self.name):  # e.g. the KubernetesPodOperator namespace
            enforce_restricted(self.kubeconfig, ns)
        return seconds

    def uninstall(self) -> None:
        from airkube.helm import Helm, Target

        asyncio.run(Helm(Target(release=self.name, namespace=self.namespace, kubeconfig=self.kubeconfig)).uninstall())

    def smoke(self, **kwargs: Any):  # -> airkube.smoke.SmokeResult
        from airkube.smoke import SmokeOptions, run_smoke

        opts = SmokeOptions(namespace=self.namespace, release=self.name, kubeconfig=str(self.kubeconfig), **kwargs)
        result = run_smoke(opts, console=self.console)
        return result


PSA_RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted",
                  "pod-security.kubernetes.io/enforce-version": "latest",
                  "pod-security.kubernetes.io/warn": "restricted"}


def enforce_restricted(kubeconfig: Path, namespace: str) -> None:
    """Create or label the namespace so that the API server admits only Pod Security "restricted" pods."""
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    meta = client.V1ObjectMeta(name=namespace, labels=PSA_RESTRICTED)
    create_or_update(lambda: core.create_namespace(client.V1Namespace(metadata=meta)),
                     lambda: core.patch_namespace(namespace, {"metadata": {"labels": PSA_RESTRICTED}}))


def release_namespaces(kubeconfig: Path, release: str) -> list[str]:
    """Namespaces the chart itself created for the release (labelled app.kubernetes.io/instance=<release>)."""
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    found = core.list_namespace(label_selector=f"app.kubernetes.io/instance={release}").items
    return [n.metadata.name for n in found]


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
    from airkube.kube import ensure_namespace as ensure

    ensure(core, name)
