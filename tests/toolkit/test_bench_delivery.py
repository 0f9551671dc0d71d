"""P1 per delivery mode (`airkube bench --deliveries`): each mode's values rendered by the real helm over
values/local.yaml switch the task pods to that delivery, and the report is built from real figures' shape."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from airkube.bench.airflow_runs import DagTiming
from airkube.bench.delivery import MODES, ModeResult, figures, markdown, mode_values, parse_modes
from airkube.bench.podwatch import PodTimes
from airkube.errors import BenchError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import Helm  # noqa: E402

GIT = "git://airkube-git.airkube-bench-x.svc.cluster.local:9418/dags.git"


def render(helm: Helm, mode: str) -> dict:
    rendered = helm.template(values_files=["local.yaml"], values=mode_values(mode, GIT) or None)
    return {"pod": rendered.pod_template()["spec"], "cfg": rendered.airflow_cfg(),
            "claims": [d["metadata"]["name"] for d in rendered.all("PersistentVolumeClaim")]}


def test_each_mode_switches_the_task_pods_to_its_delivery(helm: Helm) -> None:
    pvc, git_sync, bundle = (render(helm, m) for m in MODES)
    # pvc: the DAGs claim is mounted, nothing is fetched
    assert not pvc["pod"].get("initContainers")
    assert any(v.get("persistentVolumeClaim", {}).get("claimName", "").endswith("-dags") for v in pvc["pod"]["volumes"])
    # git-sync: one init container that clones the in-cluster server's main, no DAGs claim
    inits = git_sync["pod"].get("initContainers") or []
    assert [c["name"] for c in inits] == ["git-sync"] or any("git-sync" in c["name"] for c in inits)
    env = {e["name"]: e.get("value") for c in inits for e in c.get("env", [])}
    assert GIT in env.values()
    assert not any(v.get("persistentVolumeClaim", {}).get("claimName", "").endswith("-dags")
                   for v in git_sync["pod"]["volumes"])
    # bundle: no init container; the bundle list names the server; an emptyDir with a size limit holds the checkout
    assert not bundle["pod"].get("initContainers")
    assert "GitDagBundle" in bundle["cfg"] and "dag_bundle_config_list" in bundle["cfg"]
    assert any(v.get("emptyDir", {}).get("sizeLimit") for v in bundle["pod"]["volumes"])


def test_modes_are_checked() -> None:
    assert parse_modes("all") == MODES
    assert parse_modes("bundle, pvc") == ("bundle", "pvc")
    with pytest.raises(BenchError, match="unknown mode.*gitsync"):
        parse_modes("pvc,gitsync")
    with pytest.raises(BenchError, match="none given"):
        parse_modes(" , ")
    with pytest.raises(BenchError, match="git server"):
        mode_values("bundle", None)


def _timing(total: float, created: datetime, started: datetime) -> DagTiming:
    t0 = created.timestamp() - 1.0
    ti = {"queued_when": _iso(t0 + 0.5), "start_date": _iso(started.timestamp() + 1.0),
          "end_date": _iso(started.timestamp() + 1.2)}
    pod = PodTimes(name="p", labels={}, created=created, started=started, seen_at=created.timestamp())
    return DagTiming("bench_p1", "r", total, "success", [ti], [pod], t0)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


def test_figures_and_page_carry_every_mode() -> None:
    now = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    results = []
    for i, mode in enumerate(MODES):
        r = ModeResult(mode, install_s=60.0 + i)
        for k in range(3):
            created = now + timedelta(minutes=10 * i + k)
            r.runs.append(_timing(3.0 + i + k * 0.1, created, created + timedelta(seconds=1 + 2 * (mode == "git-sync"))))
            r.bare.append(2.0)
            r.startup_ms.append({"bundle_prepare_ms": 300.0 + k, "dag_file_parse_ms": 20.0} if mode == "bundle" else {})
        results.append(r)
    figs = figures(results)
    assert list(figs["modes"]) == list(MODES)
    assert figs["modes"]["bundle"]["p1_s"]["median"] == pytest.approx(5.1)
    assert figs["modes"]["pvc"]["p1_ratio"] == pytest.approx(3.1 / 2.0, abs=1e-3)
    assert results[1].init_s() == [3.0, 3.0, 3.0]  # git-sync's pods: created → task container started
    assert figs["modes"]["bundle"]["task_startup_ms"] == {"bundle_prepare_ms": 301.0, "dag_file_parse_ms": 20.0}
    assert figs["modes"]["pvc"]["task_startup_ms"] == {}
    page = markdown(figs, "airkube bench --deliveries all", {"start": [1.0], "end": [2.0]})
    for mode in MODES:
        assert f"| {mode} | " in page
    assert "airkube bench --deliveries all" in page
    assert "| 301.0 ms | 20.0 ms |" in page
