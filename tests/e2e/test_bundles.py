"""Airflow 3 DAG bundles (dags.bundles) on a real cluster, one release for every check.

1. Versioning: v1 of a DAG is pushed to the in-cluster git server (git://) and run; v2 (prints another text, has
   another tag) is pushed and run; the v1 run's task is cleared and rerun. The task logs show that the rerun ran
   v1's code and the new run v2's (each task pod clones the bundle at the run's version: no git-sync, no PVC), and
   the REST API lists two DAG versions of the bundle, at the two commits.
2. A bundle change (helm upgrade) restarts the dag-processor alone: every other pod keeps its UID.
3. Failures are loud: a bundle whose repository does not exist and one whose https server refuses the token
   (a basic-auth HTTP stub, as in test_bad_git: the git server speaks only git://) are named in the
   dag-processor's log with git's own error, on every refresh; the token never reaches the log. When task pods
   cannot fetch the bundle (the repository is gone), the task fails and its log, read through the REST API,
   carries the bundle error.
4. ssh: the git server also runs sshd (its own host key, public keys only). A bundle whose knownHosts holds the
   server's key and whose key comes from a Secret is cloned over ssh:// and its DAG parsed; the same repository
   with another host key in knownHosts is refused ("Host key verification failed", named in the dag-processor log).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from airkube.kube import create_or_update, exec_in_pod
from e2e_helpers import ROOT, TIMINGS, Release, ensure_namespace, wait_for

NS = "e2e-bundles"
RELEASE = "airflow"
SELECTOR = f"app.kubernetes.io/instance={RELEASE}"
DAG_ID = "bundle_versioned"
TASK_ID = "say"
AUTH_NAME, AUTH_PORT = "git-http-auth", 8080
SSH_DAG_ID = "bundle_over_ssh"
SSH_SECRET = "git-ssh"
WRONG_TOKEN = "wrong-token-5c1e"

DAG_TEXT = '''"""e2e: which version of the bundle does the task run?"""
from airflow.sdk import dag, task

CODE = "{code}"


@dag(dag_id="{dag_id}", schedule=None, catchup=False, tags=["airkube-e2e", CODE])
def bundle_versioned():
    @task
    def {task_id}():
        print(f"AIRKUBE-BUNDLE-CODE {{CODE}}", flush=True)

    {task_id}()


bundle_versioned()
'''

# 401 for every request (the wrong-token case needs nothing more): same stub as test_bad_git
AUTH_SERVER = f"""
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print(f"401 {{self.path}} auth={{self.headers.get('Authorization', 'none')[:6]}}", flush=True)
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="airkube-git"')
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_POST = do_GET
http.server.ThreadingHTTPServer(("0.0.0.0", {AUTH_PORT}), H).serve_forever()
"""


def _auth_stub(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    from airkube.images import IMAGES

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
    secret = client.V1Secret(metadata=client.V1ObjectMeta(name="git-creds-wrong"),
                             string_data={"username": "airkube", "token": WRONG_TOKEN})
    for create in (lambda: apps.create_namespaced_deployment(NS, deployment),
                   lambda: core.create_namespaced_service(NS, service),
                   lambda: core.create_namespaced_secret(NS, secret)):
        create_or_update(create)


class World:
    """The release, the git server and what the tests learn on the way."""

    def __init__(self, kubeconfig: Path, core: client.CoreV1Api, api_client: client.ApiClient) -> None:
        from airkube.smoke.gitserver import ensure_git_server

        self.core = core
        ensure_namespace(core, NS)
        apps = client.AppsV1Api(api_client)
        self.server, self.git_pod = ensure_git_server(namespace=NS, core=core, apps=apps, repo="bundle", ssh=True)
        _auth_stub(core, apps)
        self.tmp = Path(tempfile.mkdtemp(prefix="e2e-bundles-"))
        self.ssh_repo, self.known_hosts, self.other_host_key = self._ssh_world()
        self.values = self.tmp / "bundles.yaml"
        self.commits: dict[str, str] = {}
        self.runs: dict[str, str] = {}
        self.release = Release(RELEASE, NS, kubeconfig, [ROOT / "values" / "local.yaml", self.values],
                               sets=["dags.persistence.enabled=false",
                                     # the `airflow jobs check` probes need > 45 s on a 2-core node under load 30+
                                     *(f"{c}.{p}.timeoutSeconds=120" for c in ("dagProcessor", "triggerer")
                                       for p in ("startupProbe", "readinessProbe", "livenessProbe"))])

    def _ssh_world(self) -> tuple[Any, str, str]:
        """A client key (private half in a Secret, public half authorized on the server), the server's real host
        key line and a line with the same host and another key; a repository `ssh` holding one DAG."""
        from airkube.smoke.gitserver import GitServer, authorize_ssh_key, push_to_git_server, ssh_known_hosts_line

        private, public = _ed25519()
        authorize_ssh_key(self.core, self.server, self.git_pod, public)
        secret = client.V1Secret(metadata=client.V1ObjectMeta(name=SSH_SECRET), string_data={"gitSshKey": private})
        create_or_update(lambda: self.core.create_namespaced_secret(NS, secret),
                         lambda: self.core.replace_namespaced_secret(SSH_SECRET, NS, secret))
        known = ssh_known_hosts_line(self.core, self.server, self.git_pod)
        other = " ".join([known.split()[0], *_ed25519()[1].split()[:2]])
        repo = GitServer(self.server.name, NS, repo="ssh")
        src = self.tmp / "src-ssh"
        src.mkdir()
        (src / "bundle_over_ssh.py").write_text(DAG_TEXT.format(code="ssh", dag_id=SSH_DAG_ID, task_id=TASK_ID))
        push_to_git_server(src, repo, self.git_pod, core=self.core, message="ssh")
        return repo, known, other

    def push(self, code: str) -> str:
        from airkube.smoke.gitserver import push_to_git_server

        src = self.tmp / f"src-{code}"
        src.mkdir(exist_ok=True)
        (src / "bundle_versioned.py").write_text(DAG_TEXT.format(code=code, dag_id=DAG_ID, task_id=TASK_ID))
        self.commits[code] = push_to_git_server(src, self.server, self.git_pod, core=self.core, message=code)
        return self.commits[code]

    def write_values(self, bundles: list[dict[str, Any]]) -> None:
        self.values.write_text(yaml.safe_dump({"dags": {"bundles": bundles}}))

    def bundles(self, *, second: str) -> list[dict[str, Any]]:
        host = f"{NS}.svc.cluster.local"
        good = {"name": "versioned", "repo": self.server.url, "refreshInterval": 5}
        missing = {"name": "missing", "repo": f"git://{self.server.name}.{host}:9418/does-not-exist.git",
                   "refreshInterval": 20}
        token = {"name": "badtoken", "repo": f"http://{AUTH_NAME}.{host}:{AUTH_PORT}/dags.git",
                 "credentialsSecret": "git-creds-wrong", "refreshInterval": 20}
        smoke = {"name": "smoke", "repo": f"git://{self.server.name}.{host}:9418/dags.git", "refreshInterval": 10}
        if second == "missing":
            return [good, smoke, missing]
        ssh = {"repo": self.ssh_repo.ssh_url, "sshKeySecret": SSH_SECRET, "refreshInterval": 20}
        return [good, smoke, token, {"name": "sshgood", "knownHosts": self.known_hosts, **ssh},
                {"name": "sshhost", "knownHosts": self.other_host_key, **ssh}]

    def pods(self) -> dict[str, str]:
        """component -> uid of the running release pods (task pods excluded)."""
        out = {}
        for p in self.core.list_namespaced_pod(NS, label_selector=SELECTOR).items:
            labels = p.metadata.labels or {}
            component = labels.get("app.kubernetes.io/component") or labels.get("app.kubernetes.io/name", "?")
            if component == "worker" or p.metadata.deletion_timestamp or p.status.phase != "Running":
                continue
            out[component] = p.metadata.uid
        return out

    def dag_processor_log(self, since_seconds: int | None = None) -> str:
        pods = self.core.list_namespaced_pod(
            NS, label_selector=f"{SELECTOR},app.kubernetes.io/component=dag-processor").items
        pods = [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
        if not pods:
            return ""
        resp = self.core.read_namespaced_pod_log(pods[0].metadata.name, NS, container="dag-processor",
                                                 since_seconds=since_seconds, _preload_content=False)
        return resp.data.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def world(kubeconfig: Path, core: client.CoreV1Api, api_client: client.ApiClient) -> World:
    w = World(kubeconfig, core, api_client)
    w.push("v1")
    w.write_values(w.bundles(second="missing"))
    TIMINGS["bundles_install_s"] = w.release.install(timeout="30m")
    return w


def _task_log(api: Any, run_id: str, try_number: int) -> str:
    return "\n".join(api.task_log(DAG_ID, run_id, TASK_ID, try_number))


def _run(api: Any, run_id: str, timeout: float = 420) -> str:
    api.trigger(DAG_ID, run_id)
    return api.wait_run(DAG_ID, run_id, timeout=timeout)


def _prepare_ms(api: Any, run_id: str) -> float:
    """Airflow's bundle_prepare_ms for the run's task: fetching the bundle at the run's version in the task pod."""
    from airkube.bench.airflow_runs import startup_parse_ms

    return startup_parse_ms(api, DAG_ID, run_id, TASK_ID).get("bundle_prepare_ms", -1.0)


def _versions(api: Any) -> list[dict[str, Any]]:
    _, data = api.request("GET", f"/api/v2/dags/{DAG_ID}/dagVersions", params={"limit": 50})
    return list(data.get("dag_versions", []))


def test_task_reruns_the_version_its_run_was_parsed_with(world: World) -> None:
    from e2e_api import api_session

    t0 = time.monotonic()
    with api_session(world.release) as api:
        wait_for(lambda: api.get_dag(DAG_ID) is not None, 420, f"the dag-processor to parse {DAG_ID} from the bundle")
        api.set_paused(DAG_ID, False)
        run1 = f"e2e__v1__{int(time.time())}"
        assert _run(api, run1) == "success", api.task_instances(DAG_ID, run1)
        assert "AIRKUBE-BUNDLE-CODE v1" in _task_log(api, run1, 1)

        world.push("v2")
        wait_for(lambda: len(_versions(api)) >= 2, 300, "a second DAG version after pushing v2")
        run2 = f"e2e__v2__{int(time.time())}"
        assert _run(api, run2) == "success", api.task_instances(DAG_ID, run2)
        log2 = _task_log(api, run2, 1)
        assert "AIRKUBE-BUNDLE-CODE v2" in log2 and "AIRKUBE-BUNDLE-CODE v1" not in log2
        TIMINGS["bundle_prepare_ms_in_task_pod"] = _prepare_ms(api, run2)
        ti2 = next(t for t in api.task_instances(DAG_ID, run2) if t["task_id"] == TASK_ID)
        TIMINGS["bundle_task_duration_s"] = float(ti2.get("duration") or -1)

        api.request("POST", f"/api/v2/dags/{DAG_ID}/clearTaskInstances",
                    body={"dry_run": False, "dag_run_id": run1, "task_ids": [TASK_ID], "only_failed": False,
                          "reset_dag_runs": True, "run_on_latest_version": False})
        wait_for(lambda: api.get_run(DAG_ID, run1).get("state") not in ("success",), 60, "run 1 to be reset")
        assert api.wait_run(DAG_ID, run1, timeout=420) == "success", api.task_instances(DAG_ID, run1)
        ti = next(t for t in api.task_instances(DAG_ID, run1) if t["task_id"] == TASK_ID)
        assert ti["try_number"] == 2, ti
        rerun = _task_log(api, run1, 2)
        assert "AIRKUBE-BUNDLE-CODE v1" in rerun and "AIRKUBE-BUNDLE-CODE v2" not in rerun, rerun[-2000:]

        versions = _versions(api)
        assert len(versions) == 2, versions
        assert {v["bundle_name"] for v in versions} == {"versioned"}
        assert {v["bundle_version"] for v in versions} == {world.commits["v1"], world.commits["v2"]}, versions
        world.runs.update(v1=run1, v2=run2)
    TIMINGS["bundles_versioning_s"] = time.monotonic() - t0
    print(f"\n[bundles] v1 {world.commits['v1'][:10]} / v2 {world.commits['v2'][:10]}: run1 (v1), run2 (v2), run1 "
          f"cleared and rerun on v1; {len(versions)} DAG versions; {TIMINGS['bundles_versioning_s']:.0f}s")


def test_smoke_bundle_passes(world: World) -> None:
    """`airkube smoke` detects the bundle delivery, pushes the smoke DAGs to the git server and runs smoke_bundle."""
    from airkube.smoke.report import render

    t0 = time.monotonic()
    result = world.release.smoke(dags=("smoke_executor", "smoke_bundle"), fixtures=False)
    TIMINGS["bundles_smoke_s"] = time.monotonic() - t0
    render(result)
    assert result.delivery == "bundle"
    assert result.ok, result.to_dict()


def _bundle_error_logged(world: World, name: str, what: str, timeout: float) -> str:
    """Wait until the dag-processor logs that bundle ``name`` failed; return its log."""
    def logged() -> bool:
        text = world.dag_processor_log()
        return f"Error initializing bundle {name}" in text or f"Error refreshing bundle {name}" in text

    wait_for(logged, timeout, f"the dag-processor to log the {what} of bundle `{name}`")
    return world.dag_processor_log()


def test_missing_repository_is_named_in_the_dag_processor_log(world: World) -> None:
    text = _bundle_error_logged(world, "missing", "missing repository", 120)
    assert any(n in text.lower() for n in ("no such repository", "not exported", "does not appear to be a git")), \
        text[-3000:]


def test_bundle_change_restarts_only_the_dag_processor(world: World) -> None:
    before = world.pods()
    assert {"dag-processor", "scheduler", "api-server", "triggerer"} <= set(before), before
    world.write_values(world.bundles(second="badtoken"))
    t0 = time.monotonic()
    TIMINGS["bundles_upgrade_s"] = world.release.install(timeout="30m")
    wait_for(lambda: world.pods().get("dag-processor") not in (None, before["dag-processor"]), 300,
             "a new dag-processor pod after the bundle change")
    after = world.pods()
    kept = {c: uid for c, uid in before.items() if c != "dag-processor"}
    assert {c: after.get(c) for c in kept} == kept, f"pods other than the dag-processor restarted: {before} -> {after}"
    print(f"\n[bundles] bundle list changed: dag-processor replaced in {time.monotonic() - t0:.0f}s, "
          f"kept: {sorted(kept)}")


def test_wrong_token_is_named_in_the_dag_processor_log(world: World) -> None:
    text = _bundle_error_logged(world, "badtoken", "refused token", 240)
    assert any(n in text for n in ("Authentication failed", "401", "could not read Username")), text[-3000:]
    assert WRONG_TOKEN not in text, "the token reached the dag-processor log"
    stub = world.core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/name={AUTH_NAME}").items
    seen = world.core.read_namespaced_pod_log(stub[0].metadata.name, NS, tail_lines=50,
                                              _preload_content=False).data.decode("utf-8", "replace")
    assert "auth=Basic" in seen, f"git never presented the token from the Secret: {seen[-500:]}"


def test_ssh_bundle_with_the_servers_host_key_is_cloned_and_parsed(world: World) -> None:
    from e2e_api import api_session

    with api_session(world.release) as api:
        wait_for(lambda: api.get_dag(SSH_DAG_ID) is not None, 300,
                 f"the dag-processor to parse {SSH_DAG_ID} from bundle `sshgood` (ssh://, key from a Secret)")
        dag = api.get_dag(SSH_DAG_ID) or {}
    assert dag.get("bundle_name") == "sshgood", dag
    assert "Error initializing bundle sshgood" not in world.dag_processor_log()
    print(f"\n[bundles] ssh bundle cloned over {world.ssh_repo.ssh_url}: {SSH_DAG_ID} parsed, "
          f"version {str(dag.get('bundle_version'))[:10]}")


def test_unknown_ssh_host_key_is_named_in_the_dag_processor_log(world: World) -> None:
    text = _bundle_error_logged(world, "sshhost", "refused host key", 240)
    assert "Host key verification failed" in text, text[-3000:]
    line = next(ln for ln in text.splitlines() if "Host key verification failed" in ln)
    print(f"\n[bundles] unknown host key refused: {line.strip()[:200]}")


def test_task_fails_loudly_when_its_bundle_cannot_be_fetched(world: World) -> None:
    from e2e_api import api_session

    # the repository disappears: the dag-processor keeps its clone, but every new task pod must fetch the bundle
    exec_in_pod(world.core, NS, world.git_pod, ["sh", "-c", "rm -rf /srv/git/bundle.git"], "git")
    with api_session(world.release) as api:
        run3 = f"e2e__gone__{int(time.time())}"
        state = _run(api, run3, timeout=300)
        assert state == "failed", api.task_instances(DAG_ID, run3)
        log = _task_log(api, run3, 1)
    # the flattened REST log holds the events: "Cloning bare repository", "Bare repository clone/open/fetch failed,
    # cleaning up and retrying", "Top level error" (git's own text is in the events' fields)
    assert any(n in log for n in ("clone/open/fetch failed", "Error cloning repository")), log[-3000:]
    assert "bundle" in log.lower(), log[-3000:]  # the failure is about the bundle, not the task's code
    print(f"\n[bundles] task without its bundle: run {state}; log: "
          f"{next((ln for ln in log.splitlines() if 'clon' in ln.lower()), log[-200:])[:200]}")


def test_uninstall(world: World, core: client.CoreV1Api) -> None:
    world.release.uninstall()
    # the failed task's pod (test_task_fails_loudly…) is kept by Airflow (delete_worker_pods_on_failure is off), not
    # by Helm: nothing is left to delete it once the scheduler is gone, so the test removes it
    core.delete_collection_namespaced_pod(NS, label_selector=f"{SELECTOR},kubernetes_executor=True")
    wait_for(lambda: not core.list_namespaced_pod(NS, label_selector=SELECTOR).items, 300,
             "release pods to go away after uninstall")
    core.delete_namespace(NS)


def _ed25519() -> tuple[str, str]:
    """A fresh key pair: (OpenSSH private key text, ``ssh-ed25519 AAAA… airkube-e2e`` public line)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} airkube-e2e"
