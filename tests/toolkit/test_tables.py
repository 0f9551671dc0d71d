"""Issue 14, "tables wrap badly": the smoke and deploy tables fit the width and stay readable off a TTY; and the
deploy's last lines name the real api-server Service and auth Secret (from the chart rendered by real helm)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from airkube.deploy import Access, DeployReport, StepResult, access_lines, find_access, kubectl_prefix
from airkube.progress import NOT_A_TTY_COLUMNS, fit_output
from airkube.smoke.report import POD_COLUMN_MIN_WIDTH, DagResult, SmokeResult, TaskResult, render

ROOT = Path(__file__).resolve().parents[2]


def smoke_result() -> SmokeResult:
    """Shaped like a real run of the five smoke DAGs (names and evidence keys as they print them)."""
    def task(task_id: str, pod: str, *keys: str, missing: tuple[str, ...] = ()) -> TaskResult:
        return TaskResult("", task_id, state="success", try_number=1, duration=12.3, pod=pod,
                          evidence={k: "x" for k in keys}, missing=list(missing))

    dags = [
        DagResult("smoke_executor", "manual__2026-12-02T04:00:00+00:00", "success", [
            task("where_am_i", "smoke-executor-where-am-i-3k2j1h4g", "where_am_i.hostname", "where_am_i.namespace",
                 "where_am_i.service_account", "where_am_i.executor_pod"),
            task("fan_out", "smoke-executor-fan-out-8s7d6f5g", "pods", "distinct_pods")]),
        DagResult("smoke_kpo_seed", "manual__2026-12-02T04:00:01+00:00", "success", [
            task("seed", "smoke-kpo-seed-seed-0a9s8d7f", "hostname", "pvc_mount", "xcom_sidecar")]),
        DagResult("smoke_logs", "manual__2026-12-02T04:00:02+00:00", "failed", [
            task("write_logs", "smoke-logs-write-logs-1q2w3e4r", "log_lines", missing=("remote_log_url",))]),
    ]
    for dag in dags:
        for t in dag.tasks:
            t.dag_id = dag.dag_id
    dags[0].tasks[0].map_index = 3
    return SmokeResult("e2e-airflow", "airflow", "pvc", dags)


def printed(width: int, draw) -> list[str]:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=width)  # as in CI: not a terminal
    draw(console)
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", [80, 100, 120, 160, 220])
def test_smoke_table_fits_and_keeps_names_whole(width: int) -> None:
    result = smoke_result()
    lines = printed(width, lambda c: render(result, c, show_logs=False))
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    text = "\n".join(lines)
    for dag in result.dags:
        assert dag.dag_id in text, f"{dag.dag_id} folded at width {width}"
        for t in dag.tasks:
            assert t.label in text and t.state in text
    if width >= POD_COLUMN_MIN_WIDTH:
        assert "smoke-executor-where-am-i-3k2j1h4g" in text and "pod column left out" not in text
    else:
        assert "pod column left out" in text
    header = next(line for line in lines if "dag" in line and "evidence" in line)
    assert "duration" in header and "state" in header, "no header cut into slivers"
    assert "missing: remote_log_url" in text.replace("\n", " ") or "remote_log_url" in text
    assert "where_am_i[3]" in text, "the [3] of a mapped task is text, not markup"


def test_deploy_table_fits() -> None:
    report = DeployReport("local", "requested", [
        StepResult("cluster", 412.0, "ok", "local cluster created"),
        StepResult("images", 95.2, "ok", "9 images built and loaded"),
        StepResult("install", 8.1, "ok", "revision 1 (values/local.yaml)"),
        StepResult("wait", 88.0, "failed", "pod airflow-scheduler-5d8f7c9b6-x2x4z failed: CrashLoopBackOff [scheduler]"),
    ])
    for width in (80, 160):
        lines = printed(width, lambda c: c.print(report.table()))
        assert all(len(line) <= width for line in lines)
        text = "\n".join(lines)
        assert all(step in text for step in ("cluster", "images", "install", "wait", "total"))
        assert "[scheduler]" in text.replace("\n", "")  or "scheduler]" in text


def test_fit_output_off_a_tty() -> None:
    env: dict[str, str] = {}
    fit_output(env, isatty=lambda: False)
    assert env["COLUMNS"] == str(NOT_A_TTY_COLUMNS)
    env = {"COLUMNS": "100"}
    fit_output(env, isatty=lambda: False)
    assert env["COLUMNS"] == "100", "an explicit COLUMNS wins"
    env = {}
    fit_output(env, isatty=lambda: True)
    assert "COLUMNS" not in env, "a terminal has its own width"
    # and the real CLI, piped as in CI: help tables are laid out for 160 columns, not 80
    out = subprocess.run([sys.executable, "-c", "from airkube.cli import main; main()", "cluster", "up", "--help"],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
                         check=False)
    assert out.returncode == 0, out.stderr
    assert max(len(line) for line in out.stdout.splitlines()) > 80, out.stdout


def test_deploy_last_lines_name_the_real_service_and_secret(tmp_path: Path) -> None:
    """The chart rendered by real helm 4; the lookup runs on its Service and Secret objects."""
    from kubernetes.client import ApiClient

    from airkube.binaries import venv_tool

    helm = venv_tool("helm")
    if not helm:
        pytest.skip("helm not installed (make setup)")
    from airkube.helm import ensure_dependencies

    ensure_dependencies(ROOT / "charts" / "airflow", helm)  # under the toolkit's lock: other runs share the dir
    rendered = subprocess.run([helm, "template", "airflow", str(ROOT / "charts" / "airflow"), "-n", "airflow"],
                              capture_output=True, text=True, check=False)
    assert rendered.returncode == 0, rendered.stderr
    import yaml

    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]

    def objects(kind: str, model: str) -> list:  # type: ignore[type-arg]
        class _Resp:
            def __init__(self, doc: dict) -> None:  # type: ignore[type-arg]
                self.data = json.dumps(doc)

        return [ApiClient().deserialize(_Resp(d), model) for d in docs if d.get("kind") == kind]

    services, secrets = objects("Service", "V1Service"), objects("Secret", "V1Secret")

    def select(items, selector):  # type: ignore[no-untyped-def]
        wanted = dict(kv.split("=", 1) for kv in selector.split(",")) if selector else {}
        matched = [i for i in items if all((i.metadata.labels or {}).get(k) == v for k, v in wanted.items())]
        return type("L", (), {"items": matched})()

    class Core:
        def list_namespaced_service(self, ns, label_selector=""):  # type: ignore[no-untyped-def]
            return select(services, label_selector)

        def list_namespaced_secret(self, ns, label_selector=""):  # type: ignore[no-untyped-def]
            return select(secrets, label_selector)

    access = find_access(Core(), "airflow", "airflow")
    assert access.service in {s.metadata.name for s in services}
    auth = next(s for s in secrets if (s.metadata.labels or {}).get("app.kubernetes.io/component") == "auth")
    assert access.secret == auth.metadata.name and access.key == "password" and access.key in auth.data
    assert access.username == "admin"
    lines = access_lines(access, "kubectl")
    assert lines[0] == (f"UI:        kubectl -n airflow port-forward svc/{access.service} 8080:{access.port}"
                        "   then open http://localhost:8080/")
    assert lines[1] == (f"password:  kubectl -n airflow get secret {auth.metadata.name} -o jsonpath='{{.data.password}}'"
                        " | base64 -d; echo   (user admin)")
    assert find_access(Core(), "airflow", "airflow", "http://localhost:8080/airflow").base_path == "/airflow/"
    assert access_lines(Access("ns", "svc", 8080, "s", "passwords.json"), "kubectl")[1].startswith(
        "passwords: kubectl -n ns get secret s -o jsonpath='{.data.passwords\\.json}'")


def test_kubectl_prefix(tmp_path: Path) -> None:
    user = tmp_path / "config"
    assert kubectl_prefix(None, None, user)[0] == "kubectl"
    admin = Path("/var/lib/airkube/local/kubeconfig")
    assert kubectl_prefix("airkube-local", admin, user)[0] == f"kubectl --kubeconfig {admin} --context airkube-local"
    user.write_text("contexts: [{name: airkube-local, context: {cluster: a, user: a}}, {name: prod}]\n"
                    "current-context: prod\n")
    assert kubectl_prefix("airkube-local", admin, user)[0] == "kubectl --context airkube-local"
    user.write_text("contexts: [{name: airkube-local}]\ncurrent-context: airkube-local\n")
    assert kubectl_prefix("airkube-local", admin, user) == (
        "kubectl", f"kubectl: context airkube-local is the current context in {user}")
