"""A real release with DAGs from git-sync (an in-cluster git server; no internet) and logs on a PVC.

Smoke DAGs (incl. smoke_git_sync) pass, logs are read back after the worker pods are gone, `helm test`,
two unchanged upgrades keep every Secret, then uninstall leaves no pods.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from kubernetes import client

from e2e_helpers import ROOT, TIMINGS, Release, ensure_namespace, wait_for

NS = "e2e-git"
RELEASE = "airflow"
SELECTOR = f"app.kubernetes.io/instance={RELEASE}"


@pytest.fixture(scope="module")
def release(kubeconfig: Path, core: client.CoreV1Api, api_client: client.ApiClient) -> Release:
    from airkube.smoke import SMOKE_DAGS_DIR
    from airkube.smoke.gitserver import ensure_git_server, push_to_git_server

    ensure_namespace(core, NS)
    server, pod = ensure_git_server(namespace=NS, core=core, apps=client.AppsV1Api(api_client))
    push_to_git_server(SMOKE_DAGS_DIR, server, pod, core=core)
    rel = Release(RELEASE, NS, kubeconfig, [ROOT / "values" / "local.yaml", ROOT / "values" / "dags-git-sync.yaml"],
                  sets=["dags.persistence.enabled=false", f"dags.gitSync.repo={server.url}", "dags.gitSync.subPath=''",
                        "dags.gitSync.branch=main", "dags.gitSync.period=10s"])
    TIMINGS["install_git_sync_s"] = rel.install()
    return rel


def _secrets(core: client.CoreV1Api) -> dict[str, dict[str, str]]:
    found = core.list_namespaced_secret(NS, label_selector=SELECTOR).items
    return {s.metadata.name: dict(s.data or {}) for s in found if s.type != "helm.sh/release.v1"}


def test_smoke_dags_pass_with_git_sync(release: Release) -> None:
    from airkube.smoke.report import render

    t0 = time.monotonic()
    result = release.smoke()
    TIMINGS["smoke_git_sync_s"] = time.monotonic() - t0
    render(result)
    assert result.ok, result.to_dict()
    assert result.delivery == "git"
    assert "smoke_git_sync" in {d.dag_id for d in result.dags}


def test_helm_test_passes(release: Release, kubeconfig: Path) -> None:
    proc = subprocess.run([str(ROOT / ".venv/bin/helm"), "test", RELEASE, "-n", NS, "--kubeconfig", str(kubeconfig),
                           "--timeout", "5m"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_two_unchanged_upgrades_keep_secrets(release: Release, core: client.CoreV1Api) -> None:
    before = _secrets(core)
    release.install()
    release.install()
    assert _secrets(core) == before
    from airkube.smoke.report import render

    result = release.smoke(dags=("smoke_executor", "smoke_git_sync"), fixtures=False)
    render(result)
    assert result.ok, result.to_dict()


def test_uninstall_leaves_no_pods(release: Release, core: client.CoreV1Api) -> None:
    release.uninstall()
    wait_for(lambda: not core.list_namespaced_pod(NS, label_selector=SELECTOR).items, 300,
             "release pods to go away after uninstall")
    wait_for(lambda: not core.list_namespaced_pod(NS, label_selector="kubernetes_executor=True").items, 120,
             "task pods to go away")
