"""Provider choice and the deploy step runner (with a fake provider; no cluster here)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from airkube.cluster.base import ClusterError, ClusterProvider
from airkube.cluster.select import Choice, Probes, choose
from airkube.deploy import STEPS, Deployer, DeployOptions
from airkube.release import values_files_for

ROOT = Path(__file__).resolve().parents[2]


def test_auto_prefers_kind_when_docker_answers() -> None:
    choice = choose("auto", probes=Probes(docker=lambda: True, local_blocker=lambda: None))
    assert choice.provider.name == "kind" and "Docker" in choice.reason


def test_auto_uses_local_without_docker() -> None:
    pytest.importorskip("airkube.cluster.local")
    choice = choose(None, probes=Probes(docker=lambda: False, local_blocker=lambda: None))
    assert choice.provider.name == "local" and "no Docker" in choice.reason


def test_auto_falls_back_to_the_kubeconfig() -> None:
    choice = choose("auto", probes=Probes(docker=lambda: False, local_blocker=lambda: "the local provider needs root"))
    assert choice.provider.name == "existing" and "needs root" in choice.reason
    assert "\n" not in choice.reason


def test_explicit_and_unknown_providers() -> None:
    assert choose("existing", kube_context="ctx").provider.kube_context() == "ctx"
    with pytest.raises(ClusterError, match="unknown provider"):
        choose("minikube")


class FakeProvider(ClusterProvider):
    name = "existing"

    def __init__(self, up: bool = False, fail_create: bool = False):
        self.up, self.fail_create, self.created = up, fail_create, False

    def exists(self) -> bool:
        return self.up

    def create(self) -> None:
        if self.fail_create:
            raise ClusterError("cannot create: start Docker")
        self.created = self.up = True

    def delete(self) -> None:
        self.up = False

    def kubeconfig(self) -> Path:
        return Path("/tmp/kubeconfig")

    def load_images(self, archives: list[Path]) -> None:
        pass


def _deployer(provider: FakeProvider, **steps) -> Deployer:
    console = Console(file=io.StringIO(), width=120)
    deployer = Deployer(console, DeployOptions(), Choice(provider, "fake provider for the test"))
    for name, fn in steps.items():
        setattr(deployer, name, fn)
    return deployer


def test_all_steps_run_in_order_and_are_timed() -> None:
    order = []
    fakes = {name: (lambda n=name: order.append(n) or f"{n} done") for name in STEPS if name != "cluster"}
    provider = FakeProvider()
    report = _deployer(provider, **fakes).run()
    assert provider.created and report.ok
    assert [s.name for s in report.steps] == list(STEPS) and order == list(STEPS[1:])
    assert all(s.seconds >= 0 for s in report.steps)


def test_failure_stops_and_names_the_step() -> None:
    def broken_wait() -> str:
        raise RuntimeError("deployment/airflow-scheduler 0/1")

    ran = []
    deployer = _deployer(FakeProvider(up=True), images=lambda: None, install=lambda: "ok", wait=broken_wait,
                         smoke=lambda: ran.append("smoke") or "x")
    report = deployer.run()
    assert not report.ok and report.failed_step == "wait" and ran == []
    assert [(s.name, s.status) for s in report.steps] == [("cluster", "ok"), ("images", "skipped"),
                                                          ("install", "ok"), ("wait", "failed")]
    output = deployer.console.file.getvalue()
    assert "total" in output and "deployment/airflow-scheduler 0/1" in output


def test_cluster_errors_fail_the_cluster_step() -> None:
    report = _deployer(FakeProvider(fail_create=True)).run()
    assert report.failed_step == "cluster" and "start Docker" in report.steps[0].detail


def test_smoke_missing_module_is_a_clear_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def fake_import(name: str, *a, **k):
        if name == "airkube.smoke":
            raise ImportError("No module named 'airkube.smoke'")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    deployer = _deployer(FakeProvider(up=True), images=lambda: None, install=lambda: "ok", wait=lambda: "ok")
    report = deployer.run()
    assert report.failed_step == "smoke" and "airkube.smoke is not available" in report.steps[-1].detail


def test_provider_values_files() -> None:
    assert values_files_for("kind", ROOT) == [ROOT / "values" / "kind.yaml"]
    assert values_files_for("local", ROOT) == [ROOT / "values" / "local.yaml"]
    assert values_files_for("existing", ROOT) == []


def test_cli_rejects_unknown_provider() -> None:
    from typer.testing import CliRunner

    from airkube.cli import app

    assert CliRunner().invoke(app, ["deploy", "--provider", "minikube"]).exit_code == 2
