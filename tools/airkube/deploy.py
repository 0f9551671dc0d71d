"""`airkube deploy`: cluster (create if missing) → images (local) → install → wait → smoke, timed per step."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .cluster.base import ClusterProvider
from .cluster.select import Choice, choose
from .helm import Target
from .values.inputs import ValuesInput
from .release import InstallRequest, install, parse_timeout, print_failure, values_files_for, wait_with_progress
from .values.chart import repo_root

STEPS = ("cluster", "images", "install", "wait", "smoke")


@dataclass(frozen=True)
class DeployOptions:
    provider: str = "auto"
    files: tuple[Path, ...] = ()
    sets: tuple[str, ...] = ()
    release: str = "airflow"
    namespace: str = "airflow"
    kube_context: str | None = None
    timeout: str = "15m"
    smoke: bool = True


@dataclass
class StepResult:
    name: str
    seconds: float
    status: str  # ok | skipped | failed
    detail: str = ""


@dataclass
class DeployReport:
    provider: str
    reason: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" for s in self.steps)

    @property
    def failed_step(self) -> str | None:
        return next((s.name for s in self.steps if s.status == "failed"), None)

    def table(self) -> Table:
        table = Table(title=f"airkube deploy ({self.provider})", show_lines=False)
        table.add_column("step")
        table.add_column("status")
        table.add_column("seconds", justify="right")
        table.add_column("detail", overflow="fold")
        colours = {"ok": "green", "skipped": "dim", "failed": "red"}
        for s in self.steps:
            table.add_row(s.name, f"[{colours[s.status]}]{s.status}[/]", f"{s.seconds:.1f}", escape(s.detail))
        table.add_row("[bold]total[/]", "", f"{sum(s.seconds for s in self.steps):.1f}", "")
        return table


Step = Callable[[], str | None]  # returns a detail line; None means skipped; raises on failure


class Deployer:
    """Runs the steps for one provider; each step is a method so tests can drive them one by one."""

    def __init__(self, console: Console, options: DeployOptions, choice: Choice):
        self.console = console
        self.options = options
        self.provider: ClusterProvider = choice.provider
        self.report = DeployReport(choice.provider.name, choice.reason)

    def target(self) -> Target:
        return Target(self.options.release, self.options.namespace, self.provider.kube_context(),
                      self.provider.kubeconfig(), None, self.options.timeout)

    def value_files(self) -> tuple[Path, ...]:
        extra = tuple(getattr(self.provider, "extra_value_files", lambda: [])())  # kind offline: local images
        return tuple(values_files_for(self.provider.name, repo_root())) + extra + self.options.files

    # -- steps -------------------------------------------------------------------------------------
    def cluster(self) -> str | None:
        if self.provider.exists():
            return f"{self.provider.name} cluster already up"
        self.provider.create()
        return f"{self.provider.name} cluster created"

    def images(self) -> str | None:
        if self.provider.name != "local" and not getattr(self.provider, "offline", lambda: False)():
            return None  # kind (kindest/node) / existing pull the images named in the values
        from .images import build_images  # the images module is optional until the local provider is used

        archives = build_images(console=self.console)
        self.provider.load_images(list(archives.values()))
        return f"{len(archives)} images built and loaded"

    def install(self) -> str | None:
        files = self.value_files()
        rendered = install(self.console, InstallRequest(self.target(), ValuesInput(files, self.options.sets), wait=False))
        return f"revision {rendered.revision} ({', '.join(str(f) for f in files) or 'chart defaults'})"

    def wait(self) -> str | None:
        result = wait_with_progress(self.console, self.target(), parse_timeout(self.options.timeout))
        if not result.ok:
            print_failure(self.console, result)
            raise RuntimeError(result.reason)
        return f"{len(result.snapshot.workloads)} workloads ready"

    def smoke(self) -> str | None:
        if not self.options.smoke:
            return None
        try:
            smoke = importlib.import_module("airkube.smoke")
        except ImportError as exc:
            raise RuntimeError(f"airkube.smoke is not available ({exc}); deploy without it: --no-smoke") from exc
        kubeconfig = self.provider.kubeconfig()
        opts = smoke.SmokeOptions(namespace=self.options.namespace, release=self.options.release,
                                  kube_context=self.provider.kube_context(),
                                  kubeconfig=str(kubeconfig) if kubeconfig else None)
        result = smoke.run_smoke(opts, console=self.console)
        if not result.ok:
            raise RuntimeError("smoke DAGs failed (see the report above)")
        return "smoke DAGs passed"

    # -- driver ------------------------------------------------------------------------------------
    def run(self) -> DeployReport:
        self.console.print(f"[bold]provider:[/] {escape(self.report.reason)}")
        for name in STEPS:
            step: Step = getattr(self, name)
            self.console.rule(f"[bold]{name}")
            start = time.monotonic()
            try:
                detail = step()
            except Exception as exc:  # every failure ends the run with the step named
                self.report.steps.append(StepResult(name, time.monotonic() - start, "failed", str(exc)))
                break
            status = "skipped" if detail is None else "ok"
            self.report.steps.append(StepResult(name, time.monotonic() - start, status, detail or ""))
        self.console.print(self.report.table())
        return self.report


def deploy(console: Console, options: DeployOptions) -> DeployReport:
    choice = choose(options.provider, options.kube_context)
    return Deployer(console, options, choice).run()
