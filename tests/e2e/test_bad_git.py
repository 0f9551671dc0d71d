"""R5 bad git input on a real cluster: git-sync fails loudly, never loops silently.

One release (installed without waiting: it cannot become healthy), two phases:
1. dags.gitSync.repo names a repository the in-cluster git server (airkube.smoke.gitserver) does not have;
2. upgrade: an http URL to an in-namespace server that demands HTTP basic auth, with wrong credentials from
   dags.gitSync.credentialsSecret (the git server of phase 1 speaks only git://, so the auth check is a small
   basic-auth HTTP endpoint next to it).
Each phase asserts, within a bounded time, that the dag-processor's git-sync container logs git's own error text
and exits (restart count / CrashLoopBackOff visible on the pod), and that the password never reaches the log.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from airkube.kube import create_or_update
from e2e_helpers import ROOT, TIMINGS, Release, ensure_namespace

pytestmark = pytest.mark.reliability

NS = "e2e-badgit"
RELEASE = "airflow"
SELECTOR = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=dag-processor"
AUTH_NAME, AUTH_PORT = "git-http-auth", 8080
RIGHT_USER, RIGHT_PASSWORD, WRONG_PASSWORD = "airkube", "right-password-1", "wrong-password-7f3a"
FIRST_START_TIMEOUT = 900.0  # postgres + migrations before the component containers start (2 shared cores)
FAIL_VISIBLE_TIMEOUT = 240.0  # from git-sync's start to a visible failure (maxFailures=2, period 5s)

AUTH_SERVER = f"""
import base64, http.server, sys
EXPECTED = "Basic " + base64.b64encode(b"{RIGHT_USER}:{RIGHT_PASSWORD}").decode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("Authorization") != EXPECTED:
            who = self.headers.get("Authorization", "none")[:6]
            print(f"401 {{self.path}} auth={{who}}", flush=True)
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="airkube-git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
    do_POST = do_GET
http.server.ThreadingHTTPServer(("0.0.0.0", {AUTH_PORT}), H).serve_forever()
"""


def _install_no_wait(rel: Release) -> float:
    from airkube.helm import Target
    from airkube.release import InstallRequest, install
    from airkube.values.inputs import ValuesInput

    target = Target(release=rel.name, namespace=rel.namespace, kubeconfig=rel.kubeconfig, timeout="10m")
    values = ValuesInput(files=tuple(rel.values_files), sets=tuple(rel.sets))
    t0 = time.monotonic()
    install(rel.console, InstallRequest(target=target, values=values, wait=False))
    return time.monotonic() - t0


def _git_sync_status(pod: client.V1Pod) -> Any:
    return next((s for s in pod.status.container_statuses or [] if s.name == "git-sync"), None)


def _repo_of(pod: client.V1Pod) -> str:
    for c in pod.spec.containers:
        if c.name == "git-sync":
            return next((e.value for e in c.env or [] if e.name == "GITSYNC_REPO"), "")
    return ""


def _pods_for(core: client.CoreV1Api, repo: str) -> list[client.V1Pod]:
    return [p for p in core.list_namespaced_pod(NS, label_selector=SELECTOR).items
            if _repo_of(p) == repo and not p.metadata.deletion_timestamp]


def _git_sync_logs(core: client.CoreV1Api, pod: str) -> str:
    text = []
    for previous in (True, False):
        try:
            resp = core.read_namespaced_pod_log(pod, NS, container="git-sync", previous=previous, tail_lines=400,
                                                _preload_content=False)
            text.append(resp.data.decode("utf-8", "replace"))
        except client.ApiException:
            pass
    return "\n".join(text)


def _wait_failure_visible(core: client.CoreV1Api, repo: str) -> tuple[client.V1Pod, float, float]:
    """Wait until git-sync of the dag-processor pod following ``repo`` has started, then until it has exited
    non-zero at least once. Returns the pod, seconds until the container first ran, seconds from then to failure."""
    t0 = time.monotonic()
    started_at: float | None = None
    while True:
        now = time.monotonic()
        for pod in _pods_for(core, repo):
            st = _git_sync_status(pod)
            if st is None:
                continue
            ran = st.state.running or st.state.terminated or (st.last_state and st.last_state.terminated)
            if ran and started_at is None:
                started_at = now
            failed = st.restart_count >= 1 or (st.state.terminated and st.state.terminated.exit_code != 0)
            if failed:
                return pod, (started_at or now) - t0, now - (started_at or now)
        if started_at is None and now - t0 > FIRST_START_TIMEOUT:
            pytest.fail(f"git-sync of the dag-processor never started within {FIRST_START_TIMEOUT:.0f}s")
        if started_at is not None and now - started_at > FAIL_VISIBLE_TIMEOUT:
            pods = _pods_for(core, repo)
            logs = _git_sync_logs(core, pods[0].metadata.name) if pods else ""
            pytest.fail(f"git-sync kept running {FAIL_VISIBLE_TIMEOUT:.0f}s without a visible failure "
                        f"(silent loop?); logs:\n{logs[-2000:]}")
        time.sleep(3)


def _events(core: client.CoreV1Api, pod: str) -> list[str]:
    items = core.list_namespaced_event(NS, field_selector=f"involvedObject.name={pod}").items
    return [f"{e.reason}: {e.message}" for e in items]


def _assert_loud_failure(core: client.CoreV1Api, repo: str, needles: tuple[str, ...], label: str) -> None:
    pod, to_start, to_fail = _wait_failure_visible(core, repo)
    name = pod.metadata.name
    time.sleep(2)
    logs = _git_sync_logs(core, name)
    st = _git_sync_status(core.read_namespaced_pod(name, NS))
    assert "ERROR: sync failed" in logs, logs[-2000:]
    assert any(n.lower() in logs.lower() for n in needles), \
        f"git's error text ({needles}) not in the git-sync log:\n{logs[-2000:]}"
    assert WRONG_PASSWORD not in logs and RIGHT_PASSWORD not in logs, "a password reached the git-sync log"
    ready = next((c.status for c in core.read_namespaced_pod(name, NS).status.conditions or []
                  if c.type == "ContainersReady"), "?")
    git_error = next((ln.strip() for ln in logs.splitlines() if any(n.lower() in ln.lower() for n in needles)), "")
    events = [e for e in _events(core, name) if "git-sync" in e or "BackOff" in e]
    TIMINGS[f"bad_git_{label}_fail_s"] = to_fail
    print(f"\n[R5 git {label}] git-sync started {to_start:.0f}s after install/upgrade and failed visibly "
          f"{to_fail:.0f}s later: restarts={st.restart_count}, waiting="
          f"{st.state.waiting.reason if st.state.waiting else '-'}, ContainersReady={ready}\n"
          f"  git error: {git_error[:220]}\n  events: {events[-3:]}")


@pytest.fixture(scope="module")
def setup(kubeconfig: Path, core: client.CoreV1Api, api_client: client.ApiClient) -> dict[str, str]:
    from airkube.images import IMAGES
    from airkube.smoke import SMOKE_DAGS_DIR
    from airkube.smoke.gitserver import ensure_git_server, push_to_git_server

    ensure_namespace(core, NS)
    apps = client.AppsV1Api(api_client)
    server, pod = ensure_git_server(namespace=NS, core=core, apps=apps)
    push_to_git_server(SMOKE_DAGS_DIR, server, pod, core=core)  # the server works; only the repo name is wrong
    labels = {"app.kubernetes.io/name": AUTH_NAME, "app.kubernetes.io/part-of": "airkube-e2e"}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": AUTH_NAME, "namespace": NS},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"automountServiceAccountToken": False, "terminationGracePeriodSeconds": 1,
                     "securityContext": {"runAsNonRoot": True, "runAsUser": 50000,
                                         "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [{"name": "http", "image": IMAGES["airflow"].ref, "imagePullPolicy": "IfNotPresent",
                                     "command": ["/home/airflow/.local/bin/python", "-u", "-c", AUTH_SERVER],
                                     "ports": [{"name": "http", "containerPort": AUTH_PORT}],
                                     "readinessProbe": {"tcpSocket": {"port": AUTH_PORT}, "periodSeconds": 2},
                                     "securityContext": {"allowPrivilegeEscalation": False,
                                                         "capabilities": {"drop": ["ALL"]}}}]}}},
    }
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": AUTH_NAME, "namespace": NS},
               "spec": {"selector": labels, "ports": [{"name": "http", "port": AUTH_PORT, "targetPort": "http"}]}}
    for create in (lambda: apps.create_namespaced_deployment(NS, deployment),
                   lambda: core.create_namespaced_service(NS, service),
                   lambda: core.create_namespaced_secret(NS, client.V1Secret(
                       metadata=client.V1ObjectMeta(name="git-creds"),
                       string_data={"GITSYNC_USERNAME": RIGHT_USER, "GITSYNC_PASSWORD": WRONG_PASSWORD}))):
        create_or_update(create)
    base = [ROOT / "values" / "local.yaml", ROOT / "values" / "dags-git-sync.yaml"]
    sets = ["dags.persistence.enabled=false", "dags.gitSync.subPath=''", "dags.gitSync.branch=main",
            "dags.gitSync.period=5s", "dags.gitSync.maxFailures=2"]
    missing = f"git://{server.name}.{NS}.svc.cluster.local:9418/does-not-exist.git"
    http = f"http://{AUTH_NAME}.{NS}.svc.cluster.local:{AUTH_PORT}/dags.git"
    return {"missing": missing, "http": http, "base": base, "sets": sets}  # type: ignore[dict-item]


def test_missing_repository_fails_loudly(kubeconfig: Path, core: client.CoreV1Api, setup: dict) -> None:
    rel = Release(RELEASE, NS, kubeconfig, setup["base"], sets=[*setup["sets"], f"dags.gitSync.repo={setup['missing']}"])
    TIMINGS["bad_git_install_s"] = _install_no_wait(rel)
    _assert_loud_failure(core, setup["missing"],
                         ("no such repository", "not exported", "does not appear to be a git repository"),
                         "missing-repo")


def test_wrong_credentials_fail_loudly(kubeconfig: Path, core: client.CoreV1Api, setup: dict) -> None:
    rel = Release(RELEASE, NS, kubeconfig, setup["base"],
                  sets=[*setup["sets"], f"dags.gitSync.repo={setup['http']}", "dags.gitSync.credentialsSecret=git-creds"])
    _install_no_wait(rel)
    _assert_loud_failure(core, setup["http"], ("Authentication failed", "returned error: 401"), "wrong-credentials")
    server = core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/name={AUTH_NAME}").items
    if server:
        seen = core.read_namespaced_pod_log(server[0].metadata.name, NS, tail_lines=20,
                                            _preload_content=False).data.decode("utf-8", "replace")
        print(f"  auth server saw: {' | '.join(ln for ln in seen.splitlines() if ln.startswith('401'))[-300:]}")
        assert "auth=Basic" in seen, "git-sync never presented credentials to the http git server"


def test_uninstall(kubeconfig: Path, core: client.CoreV1Api) -> None:
    Release(RELEASE, NS, kubeconfig, []).uninstall()
    deadline = time.monotonic() + 300
    while core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/instance={RELEASE}").items:
        assert time.monotonic() < deadline, "release pods still present 300s after uninstall"
        time.sleep(3)
    core.delete_namespace(NS)
