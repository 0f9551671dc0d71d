"""P3: `helm upgrade --install --wait` of a fresh release to healthy (images present), then an unchanged upgrade."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from airkube.helm import Helm, Target, ValuesInput


@dataclass(frozen=True)
class InstallTiming:
    install_s: float
    upgrade_s: float


async def _install_wait(helm: Helm, values: dict, timeout: str) -> float:
    chart = await helm._chart()  # dependencies built before the clock starts
    t0 = time.monotonic()
    await helm.client.install_or_upgrade_release(
        helm.target.release, chart, values, namespace=helm.target.namespace, create_namespace=True,
        wait=True, timeout=timeout,
    )
    return time.monotonic() - t0


def time_install(kubeconfig: Path | None, kube_context: str | None, values_files: list[Path],
                 namespace: str = "airkube-bench", release: str = "bench", timeout: str = "10m") -> InstallTiming:
    """Install into a namespace of its own, upgrade it unchanged, then uninstall it again."""
    target = Target(release=release, namespace=namespace, kubeconfig=kubeconfig, kube_context=kube_context,
                    timeout=timeout)
    helm = Helm(target)
    values = ValuesInput(files=tuple(values_files)).merged()
    try:
        install_s = asyncio.run(_install_wait(helm, values, timeout))
        upgrade_s = asyncio.run(_install_wait(helm, values, timeout))
    finally:
        asyncio.run(helm.uninstall(wait=True))
    return InstallTiming(install_s, upgrade_s)
