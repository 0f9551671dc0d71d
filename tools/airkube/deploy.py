"""`airkube deploy`: cluster (create if missing) → images (local) → install → wait → smoke, timed per step."""

from __future__ import annotations

import base64
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .cluster.base import ClusterProvider
from .cluster.select import Choice, choose
from .durations import parse_duration
from .helm import Target
from .release import InstallRequest, install, print_failure, values_files_for, wait_with_progress
from .values.chart import repo_root
from .values.inputs import ValuesInput

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
        table = Table(title=f"airkube deploy ({escape(self.provider)})", title_justify="left", show_lines=False)
        table.add_column("step", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("seconds", justify="right", no_wrap=True)
        table.add_column("detail", overflow="fold", ratio=1, min_width=20)  # the only column that may fold
        colours = {"ok": "green", "skipped": "dim", "failed": "red"}
        for s in self.steps:
            table.add_row(s.name, f"[{colours[s.status]}]{s.status}[/]", f"{s.seconds:.1f}", escape(s.detail))
        table.add_row("[bold]total[/]", "", f"{sum(s.seconds for s in self.steps):.1f}", "")
        return table


Step = Callable[[], str | None]  # returns a detail line; None means skipped; raises on failure


# --- the last lines: how to reach the UI and read the admin password ------------------------------------------

@dataclass(frozen=True)
class Access:
    """What the release really created: the api-server Service and the auth Secret (found by the chart's labels)."""

    namespace: str
    service: str
    port: int
    secret: str | None = None
    key: str | None = None  # `password` (first user's password alone) or `passwords.json`
    username: str | None = None
    base_path: str = "/"


def find_access(core: Any, namespace: str, release: str, base_url: str | None = None) -> Access:
    """Look the objects up in the cluster (so the lines name what exists, whatever the values said)."""
    from .smoke.discovery import find_api_service

    service, port = find_api_service(core, namespace, release)
    selector = f"app.kubernetes.io/instance={release},app.kubernetes.io/component=auth"
    secrets = core.list_namespaced_secret(namespace, label_selector=selector).items
    secret = key = username = None
    for item in secrets:
        data = item.data or {}
        if "password" in data or "passwords.json" in data:
            secret, key = item.metadata.name, ("password" if "password" in data else "passwords.json")
            if "passwords.json" in data:
                try:
                    users = json.loads(base64.b64decode(data["passwords.json"]))
                    username = "admin" if "admin" in users else next(iter(users), None)
                except (ValueError, TypeError):
                    username = None
            break
    path = urlparse(base_url).path if base_url else ""
    return Access(namespace, service, port, secret, key, username, (path.rstrip("/") or "") + "/")


def kubectl_prefix(context: str | None, kubeconfig: Path | None, user_file: Path) -> tuple[str, str]:
    """(`kubectl` with the flags needed to reach the cluster, a line saying why): none when `context` is the
    current context of the user's kubeconfig (merged by `cluster up`, or kind's)."""
    contexts, current = _contexts(user_file)
    if context is None and kubeconfig is None:
        return "kubectl", "kubectl: the current context of your kubeconfig"
    if context and current == context:
        return "kubectl", f"kubectl: context {context} is the current context in {user_file}"
    if context and context in contexts:
        return f"kubectl --context {context}", f"kubectl: context {context} is in {user_file} (not current)"
    flags = f" --kubeconfig {kubeconfig}" if kubeconfig else ""
    flags += f" --context {context}" if context else ""
    return f"kubectl{flags}", f"kubectl: not merged into {user_file}; export KUBECONFIG={kubeconfig} to drop the flag"


def access_lines(access: Access, kubectl: str, local_port: int = 8080) -> list[str]:
    ns = access.namespace
    ui = (f"UI:        {kubectl} -n {ns} port-forward svc/{access.service} {local_port}:{access.port}"
          f"   then open http://localhost:{local_port}{access.base_path}")
    lines = [ui]
    if access.secret and access.key == "password":
        lines.append(f"password:  {kubectl} -n {ns} get secret {access.secret} -o jsonpath='{{.data.password}}'"
                     f" | base64 -d; echo   (user {access.username or 'admin'})")
    elif access.secret:
        lines.append(f"passwords: {kubectl} -n {ns} get secret {access.secret} -o jsonpath='{{.data.passwords\\.json}}'"
                     " | base64 -d; echo   (JSON: user → password)")
    else:
        lines.append(f"password:  no generated auth Secret (auth.existingSecret is yours); see "
                     f"`helm get notes -n {ns} <release>`")
    return lines


def _contexts(user_file: Path) -> tuple[set[str], str | None]:
    try:
        data = yaml.safe_load(user_file.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return set(), None
    if not isinstance(data, dict):
        return set(), None
    names = {c.get("name") for c in data.get("contexts") or [] if isinstance(c, dict)}
    return {n for n in names if n}, data.get("current-context") or None


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
            if self.provider.name == "local":  # `up` merges the context; an earlier `up` may have predated that
                from .cluster.kubeconfig import after_up

                after_up(self.provider.kubeconfig(), lambda text: self.console.print(f"  {escape(text)}"))
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
        result = wait_with_progress(self.console, self.target(), parse_duration(self.options.timeout))
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
        if all(any(s.name == n and s.status == "ok" for s in self.report.steps) for n in ("install", "wait")):
            self.print_access()
        return self.report

    def print_access(self) -> None:
        """The last lines: the port-forward command and the exact command that prints the admin password."""
        from .cluster.kubeconfig import user_kubeconfig
        from .kube import connect

        kubeconfig = self.provider.kubeconfig()
        context = self.provider.kube_context()
        try:
            core = connect(kubeconfig, context).core
            base_url = ((ValuesInput(self.value_files(), self.options.sets).merged().get("config") or {})
                        .get("api") or {}).get("base_url")
            access = find_access(core, self.options.namespace, self.options.release, base_url)
        except Exception as exc:  # noqa: BLE001 - the release is up: never fail the deploy over a hint
            self.console.print(f"[yellow]could not look up the UI Service / auth Secret:[/] {escape(str(exc))}; "
                               f"see `helm get notes -n {self.options.namespace} {self.options.release}`")
            return
        kubectl, why = kubectl_prefix(context, kubeconfig, user_kubeconfig())
        self.console.rule("[bold]next")
        for line in [*access_lines(access, kubectl), why]:
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)  # one line each: copy-paste


def deploy(console: Console, options: DeployOptions) -> DeployReport:
    choice = choose(options.provider, options.kube_context)
    return Deployer(console, options, choice).run()
