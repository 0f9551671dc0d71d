"""Smoke runner pieces without a cluster: REST client against a real local HTTP server, fixtures, discovery
against the chart's rendered objects, evidence checks."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from airkube.errors import SmokeError
from airkube.smoke import fixtures
from airkube.smoke.api import AirflowAPIError, AirflowClient, flatten_log
from airkube.smoke.checks import CheckContext, check_dag
from airkube.smoke.discovery import credentials_from_secret_data, default_bash_image, detect_delivery
from airkube.smoke.options import ALL_DAGS
from airkube.smoke.report import DagResult, SmokeResult, TaskResult, parse_evidence, render
from airkube.smoke.runner import new_run_id, select_dags


# --- REST client ----------------------------------------------------------------------------------------
def test_build_request_paths_headers_and_body():
    c = AirflowClient("http://127.0.0.1:1234/", token="tok")
    req = c.build_request("post", "/api/v2/dags/smoke_logs/dagRuns", body={"dag_run_id": "r", "logical_date": None})
    assert req.full_url == "http://127.0.0.1:1234/api/v2/dags/smoke_logs/dagRuns"
    assert req.get_method() == "POST"
    assert req.headers["Authorization"] == "Bearer tok"
    assert req.headers["Content-type"] == "application/json"
    assert json.loads(req.data) == {"dag_run_id": "r", "logical_date": None}
    req = c.build_request("GET", "/auth/token", auth=False)
    assert "Authorization" not in req.headers
    assert c.url("/x", {"full_content": True, "map_index": -1, "skip": None}) == "http://127.0.0.1:1234/x?full_content=true&map_index=-1"


def test_flatten_log_structured_and_text():
    data = {"content": [{"event": "a\nb", "timestamp": "t"}, {"event": "AIRKUBE-EVIDENCE k=v"}, "plain"], "continuation_token": None}
    assert flatten_log(data) == ["a", "b", "AIRKUBE-EVIDENCE k=v", "plain"]
    assert flatten_log("x\ny") == ["x", "y"]


class _FakeAirflow(BaseHTTPRequestHandler):
    """Just enough of the Airflow 3 REST API (paths and shapes of the 3.3.2 OpenAPI spec)."""

    calls: list[tuple[str, str, dict | None, str | None]] = []
    tokens_issued = 0

    def log_message(self, *args):  # quiet
        pass

    def _send(self, code, body):
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n)) if n else None

    def do_POST(self):
        body = self._body()
        type(self).calls.append(("POST", self.path, body, self.headers.get("Authorization")))
        if self.path == "/auth/token":
            if body == {"username": "admin", "password": "pw"}:
                type(self).tokens_issued += 1
                return self._send(201, {"access_token": f"t{type(self).tokens_issued}"})
            return self._send(401, {"detail": "Invalid credentials"})
        if self.headers.get("Authorization") != f"Bearer t{type(self).tokens_issued}":
            return self._send(401, {"detail": "expired"})
        if re.fullmatch(r"/api/v2/dags/[^/]+/dagRuns", self.path):
            return self._send(200, {"dag_run_id": body["dag_run_id"], "state": "queued"})
        self._send(404, {"detail": "nope"})

    def do_PATCH(self):
        body = self._body()
        type(self).calls.append(("PATCH", self.path, body, self.headers.get("Authorization")))
        self._send(200, {"dag_id": "x", "is_paused": body["is_paused"]})

    def do_GET(self):
        type(self).calls.append(("GET", self.path, None, self.headers.get("Authorization")))
        if self.path.startswith("/api/v2/dags/missing"):
            return self._send(404, {"detail": "DAG not found"})
        if self.path.startswith("/api/v2/dags/smoke_logs/dagRuns/r1/taskInstances/write_marker/logs/1"):
            return self._send(200, {"content": [{"event": "AIRKUBE-LOG-MARKER run_id=r1 pod=p"}], "continuation_token": None})
        if self.path.startswith("/api/v2/dags/smoke_logs"):
            return self._send(200, {"dag_id": "smoke_logs"})
        self._send(404, {})


@pytest.fixture
def fake_api():
    _FakeAirflow.calls = []
    _FakeAirflow.tokens_issued = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeAirflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_client_login_trigger_and_relogin_on_401(fake_api):
    c = AirflowClient(fake_api, "admin", "pw", timeout=5)
    assert c.login() == "t1"
    assert c.get_dag("smoke_logs") == {"dag_id": "smoke_logs"}
    assert c.get_dag("missing") is None
    _FakeAirflow.tokens_issued += 1  # server rotates: our token is now stale → 401 → login again
    run = c.trigger("smoke_logs", "r1", {"image": "i"})
    assert run["dag_run_id"] == "r1"
    posts = [x for x in _FakeAirflow.calls if x[0] == "POST" and "dagRuns" in x[1]]
    assert posts[-1][2] == {"dag_run_id": "r1", "logical_date": None, "conf": {"image": "i"}}
    assert posts[-1][3] == "Bearer t3"
    c.set_paused("smoke_logs", False)
    patch = [x for x in _FakeAirflow.calls if x[0] == "PATCH"][-1]
    assert patch[1] == "/api/v2/dags/smoke_logs?update_mask=is_paused" and patch[2] == {"is_paused": False}
    lines = c.task_log("smoke_logs", "r1", "write_marker", 1)
    assert lines == ["AIRKUBE-LOG-MARKER run_id=r1 pod=p"]
    assert "full_content=true" in _FakeAirflow.calls[-1][1] and "map_index=-1" in _FakeAirflow.calls[-1][1]


def test_client_wrong_password_is_an_error(fake_api):
    with pytest.raises(AirflowAPIError) as err:
        AirflowClient(fake_api, "admin", "wrong", timeout=5).login()
    assert err.value.status == 401


def test_client_unreachable_says_what_to_check():
    with pytest.raises(AirflowAPIError, match="port-forward"):
        AirflowClient("http://127.0.0.1:9", timeout=1).request("GET", "/api/v2/version", retries=0)


# --- fixtures ---------------------------------------------------------------------------------------------
def test_fixture_manifests_match_the_seed():
    opts = fixtures.FixtureOptions(namespace="ns", image="airkube.local/bash:5.2")
    docs = {(d["kind"], d["metadata"]["name"]): d for d in fixtures.all_manifests(opts)}
    assert set(docs) == {("Secret", "airflow-secrets"), ("Secret", "airflow-secrets-2"), ("ConfigMap", "test-configmap-1"),
                         ("ConfigMap", "test-configmap-2"), ("PersistentVolumeClaim", "test-volume"),
                         ("Pod", fixtures.ANCHOR_POD)}
    assert "sql_alchemy_conn" in docs["Secret", "airflow-secrets"]["stringData"]
    pvc = docs["PersistentVolumeClaim", "test-volume"]["spec"]
    assert pvc["accessModes"] == ["ReadWriteOnce"] and "storageClassName" not in pvc
    assert fixtures.pvc_manifest("ns", "local-path")["spec"]["storageClassName"] == "local-path"
    anchor = docs["Pod", fixtures.ANCHOR_POD]
    assert anchor["metadata"]["labels"]["security"] == "S1"
    assert anchor["spec"]["securityContext"]["runAsNonRoot"] is True
    assert anchor["spec"]["containers"][0]["image"] == "airkube.local/bash:5.2"
    for d in docs.values():
        assert d["metadata"]["namespace"] == "ns"
        assert d["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "airkube"


def test_fixture_manifests_are_valid_kubernetes():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for doc in fixtures.all_manifests(fixtures.FixtureOptions(namespace="ns", image="bash:5.2")):
        kubernetes_validate.validate(doc, "1.34.0", strict=True)


def test_nodes_needing_zone():
    nodes = [{"metadata": {"name": "a", "labels": {"topology.kubernetes.io/zone": "z"}}},
             {"metadata": {"name": "b", "labels": {}}}, {"metadata": {"name": "c"}}]
    assert fixtures.nodes_needing_zone(nodes) == ["b", "c"]


def test_evidence_expected_values_come_from_the_fixtures():
    secrets = {d["metadata"]["name"]: d for d in fixtures.secret_manifests("ns")}
    cms = {d["metadata"]["name"]: d for d in fixtures.configmap_manifests("ns")}
    assert fixtures.EXPECTED_EVIDENCE["secret_file"] == secrets["airflow-secrets"]["stringData"]["sql_alchemy_conn"]
    assert fixtures.EXPECTED_EVIDENCE["secret_all_keys"] in secrets["airflow-secrets-2"]["stringData"].values()
    assert fixtures.EXPECTED_EVIDENCE["configmap_1"] in cms["test-configmap-1"]["data"].values()
    assert fixtures.EXPECTED_EVIDENCE["configmap_2"] in cms["test-configmap-2"]["data"].values()


# --- discovery against the chart's rendered objects -------------------------------------------------------------
def _deployment(doc):
    from kubernetes.client import ApiClient

    class _Resp:
        data = json.dumps(doc)

    return ApiClient().deserialize(_Resp(), "V1Deployment")


class _Apps:
    def __init__(self, deployments):
        self.deployments = deployments

    def list_namespaced_deployment(self, ns, label_selector):
        wanted = dict(kv.split("=", 1) for kv in label_selector.split(","))
        items = [d for d in self.deployments if all((d.metadata.labels or {}).get(k) == v for k, v in wanted.items())]
        return type("L", (), {"items": items})()


def test_detect_delivery_on_rendered_chart(helm):
    pvc = helm.template(set_values={"dags.persistence.enabled": True})
    deps = [_deployment(d) for d in pvc.all("Deployment")]
    info = detect_delivery(_Apps(deps), "airflow", "airflow")
    assert info.mode == "pvc" and info.claim and info.claim.endswith("dags")
    git = helm.template(set_values={"dags.gitSync.enabled": True, "dags.gitSync.repo": "https://example.invalid/dags.git"})
    info = detect_delivery(_Apps([_deployment(d) for d in git.all("Deployment")]), "airflow", "airflow")
    assert info.mode == "git"
    plain = helm.template()
    info = detect_delivery(_Apps([_deployment(d) for d in plain.all("Deployment")]), "airflow", "airflow")
    assert info.mode == "image"


def test_chart_accepts_the_in_cluster_git_server_url(helm):
    """`airkube dags git-server` serves git:// (git daemon); the chart must accept that URL for dags.gitSync.repo."""
    from airkube.smoke.gitserver import GitServer
    from conftest import HelmError

    url = GitServer("airkube-git", "airflow").url
    try:
        rendered = helm.template(set_values={"dags.gitSync.enabled": True, "dags.gitSync.repo": url})
    except HelmError as exc:
        if "does not match pattern" in exc.stderr:
            pytest.xfail(f"charts/airflow values.schema.json rejects git:// URLs for dags.gitSync.repo: {url}")
        raise
    info = detect_delivery(_Apps([_deployment(d) for d in rendered.all("Deployment")]), "airflow", "airflow")
    assert info.mode == "git" and info.git_repo == url


def test_api_service_and_auth_secret_on_rendered_chart(helm):
    import base64

    from kubernetes.client import ApiClient

    from airkube.smoke.discovery import admin_credentials, find_api_service

    rendered = helm.template()

    def obj(doc, kind):
        class _Resp:
            data = json.dumps(doc)

        return ApiClient().deserialize(_Resp(), kind)

    services = [obj(d, "V1Service") for d in rendered.all("Service")]
    secrets = [obj(d, "V1Secret") for d in rendered.all("Secret")]

    def select(items, sel):
        wanted = dict(kv.split("=", 1) for kv in sel.split(",")) if sel else {}
        return type("L", (), {"items": [i for i in items if all((i.metadata.labels or {}).get(k) == v for k, v in wanted.items())]})()

    class _Core:
        def list_namespaced_service(self, ns, label_selector=""):
            return select(services, label_selector)

        def list_namespaced_secret(self, ns, label_selector=""):
            return select(secrets, label_selector)

    name, port = find_api_service(_Core(), "airflow", "airflow")
    assert (name, port) == ("airflow-api-server", 8080)
    user, password = admin_credentials(_Core(), "airflow", "airflow")
    auth = next(s for s in secrets if s.metadata.name.endswith("-auth"))
    assert user == "admin"
    assert json.loads(base64.b64decode(auth.data["passwords.json"]))["admin"] == password
    with pytest.raises(SmokeError, match="api-server Service"):
        find_api_service(_Core(), "airflow", "other-release")


def test_credentials_from_secret_data():
    assert credentials_from_secret_data({"passwords.json": '{"viewer": "v", "admin": "a"}'}) == ("admin", "a")
    assert credentials_from_secret_data({"passwords.json": '{"viewer": "v"}'}, "viewer") == ("viewer", "v")
    assert credentials_from_secret_data({"password": "p"}) == ("admin", "p")
    assert credentials_from_secret_data({"other": "x"}) is None


# --- run logic --------------------------------------------------------------------------------------------------
def test_run_ids_are_label_safe():
    rid = new_run_id("smoke_kpo_seed")
    assert len(rid) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", rid)
    assert new_run_id("x") != new_run_id("x")


def test_select_dags():
    assert select_dags((), "pvc") == ["smoke_kpo_seed", "smoke_executor", "smoke_logs"]
    assert select_dags((), "git")[-1] == "smoke_git_sync"
    assert select_dags(("smoke_logs",), "pvc") == ["smoke_logs"]
    with pytest.raises(SmokeError, match="unknown"):
        select_dags(("nope",), "pvc")
    assert select_dags((), "bundle") == ["smoke_kpo_seed", "smoke_executor", "smoke_logs", "smoke_bundle"]
    assert set(ALL_DAGS) == {"smoke_kpo_seed", "smoke_executor", "smoke_logs", "smoke_git_sync", "smoke_bundle"}


def test_default_bash_image():
    assert default_bash_image("airkube.local/airflow:3.3.2") == "airkube.local/bash:5.2"
    assert default_bash_image("apache/airflow:3.3.2") == "docker.io/library/bash:5.2"
    assert default_bash_image(None) == "docker.io/library/bash:5.2"


def _kpo_result(**overrides) -> DagResult:
    ev = dict(fixtures.EXPECTED_EVIDENCE, hostname="test-abc")
    ev.update(overrides)
    lines = [f"[base] AIRKUBE-EVIDENCE {k}={v}" for k, v in ev.items()]
    found, missing = parse_evidence(lines)
    task = TaskResult("smoke_kpo_seed", "task", state="success", try_number=1, pod="smoke-kpo-seed-task-x",
                      evidence=found, missing=missing, log=lines)
    return DagResult("smoke_kpo_seed", "r", "success", [task])


def test_check_kpo_evidence():
    ok = _kpo_result()
    check_dag(ok, CheckContext())
    assert ok.ok, ok.problems
    bad = _kpo_result(pvc_mount="rw")
    check_dag(bad, CheckContext())
    assert not bad.ok and any("pvc_mount" in p for p in bad.problems)


def test_check_executor_needs_distinct_pods_not_the_scheduler():
    def ti(label, pod, mi=-1):
        return TaskResult("smoke_executor", label, map_index=mi, state="success", pod=pod)

    tasks = [ti("start", "p0"), *[ti("fan", f"p{i}", i) for i in range(1, 5)], ti("check", "p5")]
    tasks[-1].evidence = {"distinct_pods": "6"}
    good = DagResult("smoke_executor", "r", "success", tasks)
    check_dag(good, CheckContext(scheduler_pods=("airflow-scheduler-abc",)))
    assert good.ok, good.problems
    tasks2 = [ti("start", "airflow-scheduler-abc"), *[ti("fan", "p1", i) for i in range(1, 5)], ti("check", "p5")]
    bad = DagResult("smoke_executor", "r", "success", tasks2)
    check_dag(bad, CheckContext(scheduler_pods=("airflow-scheduler-abc",)))
    assert any("own" in p for p in bad.problems) and any("scheduler" in p for p in bad.problems)


def test_check_logs_marker_must_be_this_run():
    t = TaskResult("smoke_logs", "write_marker", state="success", log=["AIRKUBE-LOG-MARKER run_id=old pod=p"])
    d = DagResult("smoke_logs", "new", "success", [t])
    check_dag(d, CheckContext())
    assert not d.ok
    t.log.append("AIRKUBE-LOG-MARKER run_id=new pod=p")
    d.problems = []
    check_dag(d, CheckContext())
    assert d.ok


def test_report_renders_failures_with_logs():
    from rich.console import Console

    res = SmokeResult("airflow", "airflow", "pvc", [_kpo_result(pvc_mount="rw")])
    check_dag(res.dags[0], CheckContext())
    res.dags[0].tasks[0].state = "failed"
    console = Console(record=True, width=200)
    render(res, console)
    out = console.export_text()
    assert "FAILED" in out and "smoke_kpo_seed" in out and "log of smoke_kpo_seed.task" in out
    assert res.to_dict()["ok"] is False


# --- the whole run_smoke flow against the fake REST API and a fake (empty) cluster ------------------------------
class _RunAirflow(_FakeAirflow):
    runs: dict[str, str] = {}

    def do_POST(self):
        if re.fullmatch(r"/api/v2/dags/[^/]+/dagRuns", self.path):
            body = self._body()
            type(self).runs[body["dag_run_id"]] = self.path.split("/")[4]
            return self._send(200, {"dag_run_id": body["dag_run_id"], "state": "queued"})
        return super().do_POST()

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/api/v2/importErrors":
            return self._send(200, {"import_errors": [], "total_entries": 0})
        m = re.fullmatch(r"/api/v2/dags/smoke_logs/dagRuns/([^/]+)", path)
        if m:
            return self._send(200, {"dag_run_id": m.group(1), "state": "success"})
        m = re.fullmatch(r"/api/v2/dags/smoke_logs/dagRuns/([^/]+)/taskInstances", path)
        if m:
            return self._send(200, {"task_instances": [{"task_id": "write_marker", "map_index": -1, "state": "success",
                                                         "try_number": 1, "duration": 1.5, "hostname": "smoke-logs-pod"}],
                                    "total_entries": 1})
        m = re.fullmatch(r"/api/v2/dags/smoke_logs/dagRuns/([^/]+)/taskInstances/write_marker/logs/1", path)
        if m:
            return self._send(200, {"content": [{"event": f"AIRKUBE-LOG-MARKER run_id={m.group(1)} pod=p"}],
                                    "continuation_token": None})
        return super().do_GET()


def test_run_smoke_flow_end_to_end_with_fakes():
    from types import SimpleNamespace

    from rich.console import Console

    from airkube.smoke import SmokeOptions, run_smoke

    server = ThreadingHTTPServer(("127.0.0.1", 0), _RunAirflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _RunAirflow.tokens_issued = 0
    empty = SimpleNamespace(items=[])
    core = SimpleNamespace(list_namespaced_pod=lambda *a, **k: empty)
    try:
        result = run_smoke(
            SmokeOptions(dags=("smoke_logs",), delivery="none", fixtures=False, username="admin", password="pw",
                         api_url=f"http://127.0.0.1:{server.server_address[1]}", timeout=30, poll_interval=0.1),
            console=Console(quiet=True), core=core, apps=SimpleNamespace(),
        )
    finally:
        server.shutdown()
    assert result.error is None, result.error
    assert result.ok, result.to_dict()
    (dag,) = result.dags
    assert dag.tasks[0].pod == "smoke-logs-pod" and dag.run_id in _RunAirflow.runs


def test_port_forward_with_a_stand_in_kubectl(tmp_path, monkeypatch):
    """The PortForward life cycle against a script that behaves like `kubectl port-forward`."""
    import os
    import time

    from airkube import portforward

    fake = tmp_path / "kubectl"
    fake.write_text("#!/bin/sh\necho \"Forwarding from 127.0.0.1:45678 -> 8080\"\nexec sleep 300\n")
    fake.chmod(0o755)
    monkeypatch.setattr(portforward, "kubectl_binary", lambda: str(fake))
    pf = portforward.PortForward("svc/airflow-api-server", 8080, namespace="airflow", kube_context="ctx")
    assert pf.command()[1:] == ["port-forward", "--address", "127.0.0.1", "-n", "airflow", "--context", "ctx",
                                "svc/airflow-api-server", ":8080"]
    with pf:
        assert pf.url == "http://127.0.0.1:45678"
        pid = pf.process.pid
        os.kill(pid, 0)  # alive
    time.sleep(0.1)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_port_forward_failure_is_reported(tmp_path, monkeypatch):
    from airkube import portforward

    fake = tmp_path / "kubectl"
    fake.write_text("#!/bin/sh\necho 'error: services \"x\" not found' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(portforward, "kubectl_binary", lambda: str(fake))
    with pytest.raises(portforward.PortForwardError, match="not found"):
        portforward.PortForward("svc/x", 8080, timeout=5).start()


def test_cli_smoke_help_lists_the_options():
    from typer.testing import CliRunner

    from airkube.cli import app

    res = CliRunner().invoke(app, ["smoke", "--help"])
    assert res.exit_code == 0
    for opt in ("--dag", "--namespace", "--release", "--kube-context", "--timeout"):
        assert opt in res.output
    res = CliRunner().invoke(app, ["dags", "--help"])
    assert res.exit_code == 0 and "push" in res.output and "git-server" in res.output


@pytest.mark.parametrize(("dag_id", "task_id", "key"), [("smoke_git_sync", "came_through_git", "git_commit"),
                                                          ("smoke_bundle", "came_through_bundle", "bundle_version")])
def test_commit_judges_compare_with_the_git_server(dag_id: str, task_id: str, key: str) -> None:
    from airkube.smoke.checks import CHECKS, CheckContext
    from airkube.smoke.report import DagResult, TaskResult

    def judged(evidence: dict[str, str], commit: str | None) -> list[str]:
        dag = DagResult(dag_id, "r", "success", [TaskResult(dag_id, task_id, state="success", evidence=evidence)])
        CHECKS[dag_id].judge(dag, CheckContext(git_commit=commit))
        return dag.problems

    assert judged({key: "abc"}, "abc") == []
    assert judged({key: "abc"}, None) == []
    (wrong,) = judged({key: "abc"}, "def")
    assert "abc" in wrong and "def" in wrong
    (absent,) = judged({}, "def")
    assert "reported" in absent


def test_git_server_with_ssh_is_valid_restricted_and_its_url_is_a_bundle_the_chart_opens(helm) -> None:
    from airkube.smoke.gitserver import SSH_PORT, GitServer, deployment_manifest, service_manifest
    from conftest import kube_validate

    dep = deployment_manifest("airkube-git", "e2e-x", "airkube.local/git-sync:v4.4.2", ssh=True)
    svc = service_manifest("airkube-git", "e2e-x", ssh=True)
    for doc in (dep, svc):
        kube_validate(doc, "1.34.0")
    pod = dep["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["git", "sshd"]
    for c in pod["containers"]:  # Pod Security "restricted" container rules
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"], c["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    sshd = pod["containers"][1]
    assert "UsePAM no" in sshd["command"][-1] and "PasswordAuthentication no" in sshd["command"][-1]
    assert {p["port"] for p in svc["spec"]["ports"]} == {9418, SSH_PORT}
    assert [p["port"] for p in service_manifest("g", "n")["spec"]["ports"]] == [9418]  # ssh is opt-in

    url = GitServer("airkube-git", "e2e-x").ssh_url
    assert url == f"ssh://git-sync@airkube-git.e2e-x.svc.cluster.local:{SSH_PORT}/srv/git/dags.git"
    rendered = helm.template(values={
        "dags": {"persistence": {"enabled": False},
                 "bundles": [{"name": "ssh", "repo": url, "sshKeySecret": "git-ssh",
                              "knownHosts": f"[airkube-git.e2e-x.svc.cluster.local]:{SSH_PORT} ssh-ed25519 AAAAC3Nz"}]},
        "networkPolicies": {"enabled": True, "egressPorts": []}})
    np = rendered.get("NetworkPolicy", "airflow-worker-egress")
    assert SSH_PORT in {p["port"] for rule in np["spec"]["egress"] if "to" not in rule for p in rule.get("ports", [])}
