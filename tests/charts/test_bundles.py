"""dags.bundles (Airflow 3 DAG bundles), real helm + real Airflow code, no cluster.

- Airflow's own DagBundlesManager builds the bundle objects from the rendered airflow.cfg, with the env the chart
  gives the dag-processor (secretKeyRef values filled in and `$(VAR)` expanded the way the kubelet does): the
  GitDagBundle's hook gets the token from the Secret, the ssh key/known_hosts paths and strict host key checking.
- A rendered git bundle pointed at a real local repository clones, and a task-side `get_bundle(name, version)`
  checks out the older version's code after a newer commit (what a task pod of a rerun does).
- Task pods: the bundle env, the storage emptyDir (sizeLimit), the key/known_hosts projected volume; no git-sync.
- Credentials never appear as literals; only the dag-processor carries checksum/bundles and a bundle change
  leaves every other Deployment's pod template as it was.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import Helm, Rendered  # noqa: E402

pytestmark = pytest.mark.helm3

TOKEN, USER = "tok-3f9a-never-literal", "bundle-bot"
KNOWN_HOSTS = "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
SECRETS = {("git-creds", "username"): USER, ("git-creds", "token"): TOKEN, ("git-ssh", "gitSshKey"): "KEY"}


def bundles(repo_https: str = "https://git.example.com/org/dags.git", **first: Any) -> dict:
    return {"dags": {"bundles": [
        {"name": "main-dags", "repo": repo_https, "trackingRef": "main", "subdir": "dags", "refreshInterval": 30,
         "credentialsSecret": "git-creds", **first},
        {"name": "ssh-dags", "repo": "git@git.example.com:org/more.git", "sshKeySecret": "git-ssh",
         "knownHosts": KNOWN_HOSTS},
        {"name": "baked", "kind": "local"},
    ]}}


def kube_env(container: dict) -> dict[str, str]:
    """The container's env as the kubelet builds it: secretKeyRef from SECRETS, `$(VAR)` from earlier vars."""
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        if "valueFrom" in item:
            ref = item["valueFrom"].get("secretKeyRef")
            if not ref:
                continue
            env[item["name"]] = SECRETS.get((ref["name"], ref["key"]), "other-secret")
        else:
            value = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)),
                           str(item.get("value", "")))
            env[item["name"]] = value
    return env


def container(rendered: Rendered, component: str) -> dict:
    spec = rendered.deployment(component)["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] if c["name"] == component)


PROBE = r'''
import json, os, sys
from airflow.dag_processing.bundles.manager import DagBundlesManager

out = {}
for b in DagBundlesManager().get_all_dag_bundles():
    info = {"class": type(b).__name__, "refresh_interval": b.refresh_interval}
    if type(b).__name__ == "GitDagBundle":
        h = b.hook
        info.update(repo_url=b.repo_url, tracking_ref=b.tracking_ref, subdir=str(b.subdir) if b.subdir else None,
                    user=h.user_name, token=h.auth_token, key_file=h.key_file, known_hosts=h.known_hosts_file,
                    strict=h.strict_host_key_checking, ssh=h._build_ssh_command(h.key_file) if h.key_file else None)
    else:
        info["path"] = str(b.path)
    out[b.name] = info
print(json.dumps(out))
'''

VERSIONED = r'''
import json, sys
from airflow.dag_processing.bundles.manager import DagBundlesManager

name, version = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
b = DagBundlesManager().get_bundle(name=name, version=version)
b.initialize()
v = b.get_current_version()
print(json.dumps({"version": getattr(v, "version", v), "text": (b.path / "hello.py").read_text()}))
'''


def run_airflow(rendered: Rendered, tmp: Path, env: dict[str, str], probe: str, *args: str) -> dict:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    cfg = home / "airflow.cfg"
    cfg.write_text(rendered.airflow_cfg())
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    # the connections the chart renders (the database/secret env of the pod is not what this test is about)
    clean.update({k: v for k, v in env.items() if k.startswith("AIRFLOW_CONN_")})
    # the only path the test moves: the pods' emptyDir mount point does not exist on this machine
    clean.update(AIRFLOW_HOME=str(home), AIRFLOW_CONFIG=str(cfg),
                 AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH=str(tmp / "bundles"),
                 AIRFLOW__CORE__DAGS_FOLDER=str(tmp / "dags"), PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", probe, *args], capture_output=True, text=True,
                            env=clean, cwd=home, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def rendered(helm: Helm) -> Rendered:
    return helm.template(values=bundles())


def test_dag_bundles_manager_builds_the_rendered_bundles(rendered: Rendered, tmp_path: Path) -> None:
    cfg = rendered.airflow_cfg()
    assert "dag_bundle_storage_path = /opt/airflow/dag-bundles" in cfg
    env = kube_env(container(rendered, "dag-processor"))
    got = run_airflow(rendered, tmp_path, env, PROBE)
    assert list(got) == ["main-dags", "ssh-dags", "baked"]
    main, ssh, baked = got["main-dags"], got["ssh-dags"], got["baked"]
    assert main["class"] == "GitDagBundle" and main["repo_url"] == "https://git.example.com/org/dags.git"
    assert (main["tracking_ref"], main["subdir"], main["refresh_interval"]) == ("main", "dags", 30)
    assert (main["user"], main["token"]) == (USER, TOKEN)  # from the Secret, through $(VAR) expansion
    assert ssh["key_file"] == "/opt/airflow/git-bundles/ssh-dags/ssh"
    assert ssh["known_hosts"] == "/opt/airflow/git-bundles/ssh-dags/known_hosts"
    assert ssh["strict"] == "yes" and "StrictHostKeyChecking=yes" in ssh["ssh"]
    assert ssh["refresh_interval"] == 60  # a git bundle fetches once a minute unless refreshInterval is set
    # a local folder is listed every 10 s: the chart's [dag_processor] refresh_interval (P3, first task)
    assert baked == {"class": "LocalDagBundle", "refresh_interval": 10, "path": "/opt/airflow/dags"}


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def test_rendered_git_bundle_clones_and_checks_out_an_older_version(helm: Helm, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "dags").mkdir()
    (repo / "dags" / "hello.py").write_text("print('v1')\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")
    v1 = _git(repo, "rev-parse", "HEAD")
    rendered = helm.template(values=bundles(repo_https=f"file://{repo}"), cache=False)
    env = kube_env(container(rendered, "dag-processor"))
    first = run_airflow(rendered, tmp_path, env, VERSIONED, "main-dags")
    assert first == {"version": v1, "text": "print('v1')\n"}
    (repo / "dags" / "hello.py").write_text("print('v2')\n")
    _git(repo, "commit", "-q", "-am", "v2")
    task_env = kube_env(next(c for c in rendered.pod_template()["spec"]["containers"] if c["name"] == "base"))
    latest = run_airflow(rendered, tmp_path, task_env, VERSIONED, "main-dags")
    older = run_airflow(rendered, tmp_path, task_env, VERSIONED, "main-dags", v1)
    assert latest["text"] == "print('v2')\n" and latest["version"] != v1
    assert older == {"version": v1, "text": "print('v1')\n"}  # a rerun of a v1 task runs v1's code


def test_task_pods_get_bundle_env_storage_and_keys(rendered: Rendered) -> None:
    pod = rendered.pod_template()["spec"]
    assert not pod.get("initContainers"), "no git-sync init container with bundles"
    base = next(c for c in pod["containers"] if c["name"] == "base")
    assert kube_env(base) == {**kube_env(base), "AIRFLOW_CONN_AIRKUBE_BUNDLE_MAIN_DAGS": json.dumps(
        {"conn_type": "git", "login": USER, "password": TOKEN}, separators=(",", ":"))}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["dag-bundles"]["emptyDir"] == {"sizeLimit": "1Gi"}
    sources = volumes["git-bundles"]["projected"]["sources"]
    assert {"secret": {"name": "git-ssh", "items": [{"key": "gitSshKey", "path": "ssh-dags/ssh"}]}} in sources
    cm = next(s["configMap"] for s in sources if "configMap" in s)
    assert cm["items"] == [{"key": "ssh-dags", "path": "ssh-dags/known_hosts"}]
    assert rendered.get("ConfigMap", cm["name"])["data"] == {"ssh-dags": KNOWN_HOSTS + "\n"}
    mounts = {m["name"]: m for m in base["volumeMounts"]}
    assert mounts["dag-bundles"]["mountPath"] == "/opt/airflow/dag-bundles"
    assert mounts["git-bundles"] == {"name": "git-bundles", "mountPath": "/opt/airflow/git-bundles",
                                     "readOnly": True}
    for component in ("dag-processor",):
        spec = rendered.deployment(component)["spec"]["template"]["spec"]
        assert {"dag-bundles", "git-bundles"} <= {v["name"] for v in spec["volumes"]}


def test_no_literal_credentials(rendered: Rendered) -> None:
    assert TOKEN not in rendered.stdout and USER not in rendered.stdout
    for c in [container(rendered, "dag-processor"),
              next(c for c in rendered.pod_template()["spec"]["containers"] if c["name"] == "base")]:
        conn = next(e for e in c["env"] if e["name"] == "AIRFLOW_CONN_AIRKUBE_BUNDLE_MAIN_DAGS")
        assert "$(AIRKUBE_BUNDLE_MAIN_DAGS_TOKEN)" in conn["value"]
        names = [e["name"] for e in c["env"]]
        assert names.index("AIRKUBE_BUNDLE_MAIN_DAGS_TOKEN") < names.index("AIRFLOW_CONN_AIRKUBE_BUNDLE_MAIN_DAGS")


def _pod_templates(rendered: Rendered) -> dict[str, Any]:
    out = {}
    for d in rendered.all("Deployment"):
        template = json.loads(json.dumps(d["spec"]["template"]))
        template["metadata"].get("annotations", {}).pop("checksum/secrets", None)  # random per `helm template`
        out[d["metadata"]["name"]] = template
    return out


def test_a_bundle_change_rolls_only_the_dag_processor(helm: Helm, rendered: Rendered) -> None:
    before = _pod_templates(rendered)
    changed = bundles(trackingRef="release", refreshInterval=120)
    changed["dags"]["bundles"].append({"name": "extra", "repo": "https://git.example.com/org/x.git",
                                       "credentialsSecret": "git-creds"})
    after = _pod_templates(helm.template(values=changed))
    differ = sorted(name for name in before if before[name] != after[name])
    assert differ == ["airflow-dag-processor"], differ
    ann = lambda t: t["metadata"]["annotations"]  # noqa: E731
    dp = "airflow-dag-processor"
    assert ann(before[dp])["checksum/bundles"] != ann(after[dp])["checksum/bundles"]
    assert ann(before[dp])["checksum/config"] == ann(after[dp])["checksum/config"]
    # without bundles at all, the other components' config checksum is the same too
    plain = _pod_templates(helm.template())
    assert ann(plain["airflow-scheduler"]) == ann(before["airflow-scheduler"])
    assert "checksum/bundles" not in ann(plain[dp])


@pytest.mark.parametrize("values, needle", [
    ({"dags": {"bundles": [{"name": "Bad_Name", "repo": "https://x/a.git"}]}}, "/dags/bundles/0/name"),
    ({"dags": {"bundles": [{"name": "a", "repo": "https://x/a.git", "branch": "main"}]}}, "branch"),
    ({"dags": {"bundles": [{"repo": "https://x/a.git"}]}}, "name"),
    ({"dags": {"bundles": [{"name": "a", "kind": "s3"}]}}, "kind"),
    ({"dags": {"bundles": [{"name": "a", "repo": "ftp://x/a.git"}]}}, "repo"),
])
def test_bad_bundle_values_are_refused(helm: Helm, values: dict, needle: str) -> None:
    assert needle in helm.template_error(values=values)


def test_network_policies_open_the_bundle_repositories(helm: Helm) -> None:
    values = bundles()
    values["dags"]["bundles"] += [{"name": "daemon", "repo": "git://git.ns.svc:9418/d.git"},
                                  {"name": "own-port", "repo": "http://stub.ns.svc:8080/d.git"}]
    values["networkPolicies"] = {"enabled": True, "egressPorts": []}
    rendered = helm.template(values=values)

    def ports(name: str) -> set[int]:
        np = rendered.get("NetworkPolicy", name)
        return {p["port"] for rule in np["spec"]["egress"] if "to" not in rule for p in rule.get("ports", [])}

    wanted = {443, 22, 9418, 8080}  # https, git@host:…, git://, http://…:8080
    assert wanted <= ports("airflow-worker-egress") and wanted <= ports("airflow-egress")


def test_values_file_renders_a_bundle_airflow_reads(helm: Helm, tmp_path: Path) -> None:
    rendered = helm.template(values_files=("local.yaml", "dags-git-bundle.yaml"))
    got = run_airflow(rendered, tmp_path, kube_env(container(rendered, "dag-processor")), PROBE)
    assert got["dags"]["class"] == "GitDagBundle" and got["dags"]["repo_url"] == "https://github.com/apache/airflow.git"
    assert got["dags"]["subdir"] == "airflow-core/src/airflow/example_dags"
    assert not rendered.pod_template()["spec"].get("initContainers")


SSH_PROBE = r'''
import sys
from airflow.dag_processing.bundles.manager import DagBundlesManager

b = DagBundlesManager().get_bundle(name="ssh-dags")
try:
    b.initialize()
except Exception as exc:  # what the dag-processor logs: "Error initializing bundle ssh-dags: <exc>"
    cause = exc.__cause__
    print(f"FAILED {type(exc).__name__}: {exc} | {cause}".replace("\n", " "))
    sys.exit(0)
print("INITIALIZED")
'''


def _ssh_server(host_key) -> tuple[int, Any]:
    """A real SSH server (paramiko) on loopback that presents ``host_key``; it never lets anyone in."""
    import socket
    import threading

    paramiko = pytest.importorskip("paramiko")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)

    class Deny(paramiko.ServerInterface):
        def get_allowed_auths(self, username: str) -> str:
            return "publickey"

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(host_key)
            try:
                transport.start_server(server=Deny())
            except Exception:  # noqa: BLE001 - the client hangs up after refusing the host key
                pass

    threading.Thread(target=serve, daemon=True).start()
    return sock.getsockname()[1], sock


@pytest.mark.parametrize("known", ["other-host", "same-host-other-key", "right-key"])
def test_unknown_ssh_host_key_is_refused(helm: Helm, tmp_path: Path, known: str) -> None:
    """The rendered ssh bundle connection, with real ssh and Airflow's GitDagBundle, against a real SSH server whose
    host key is not the one in dags.bundles[].knownHosts: the clone fails on host key verification. Control: with the
    server's real key in knownHosts, ssh gets past the host key and fails on authentication instead."""
    paramiko = pytest.importorskip("paramiko")
    server_key, other_key = paramiko.RSAKey.generate(2048), paramiko.RSAKey.generate(2048)
    port, sock = _ssh_server(server_key)
    try:
        host = f"[127.0.0.1]:{port}" if known == "same-host-other-key" else "git.example.com"
        values = bundles()
        ssh = values["dags"]["bundles"][1]
        ssh["repo"] = f"ssh://git@127.0.0.1:{port}/org/more.git"
        if known == "right-key":
            host, other_key = f"[127.0.0.1]:{port}", server_key
        ssh["knownHosts"] = f"{host} ssh-rsa {other_key.get_base64()}"
        rendered = helm.template(values=values, cache=False)
        auth = tmp_path / "git-bundles"  # the projected volume's layout, at another mount point
        (auth / "ssh-dags").mkdir(parents=True)
        client_key = paramiko.RSAKey.generate(2048)
        client_key.write_private_key_file(str(auth / "ssh-dags" / "ssh"))
        cm = next(d for d in rendered.all("ConfigMap") if d["metadata"]["name"].endswith("bundle-known-hosts"))
        (auth / "ssh-dags" / "known_hosts").write_text(cm["data"]["ssh-dags"])
        env = kube_env(container(rendered, "dag-processor"))
        env = {k: v.replace("/opt/airflow/git-bundles", str(auth)) for k, v in env.items()}
        got = run_airflow_text(rendered, tmp_path, env, SSH_PROBE)
    finally:
        sock.close()
    assert got.startswith("FAILED"), got
    refused = "Host key verification failed" in got or "HOST IDENTIFICATION HAS CHANGED" in got
    if known == "right-key":
        assert not refused and "Permission denied" in got, got
    else:
        assert refused, got


def run_airflow_text(rendered: Rendered, tmp: Path, env: dict[str, str], probe: str) -> str:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    cfg = home / "airflow.cfg"
    cfg.write_text(rendered.airflow_cfg())
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    clean.update({k: v for k, v in env.items() if k.startswith("AIRFLOW_CONN_")})
    clean.update(AIRFLOW_HOME=str(home), AIRFLOW_CONFIG=str(cfg), HOME=str(home),
                 AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH=str(tmp / "bundles"), PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True,
                            env=clean, cwd=home, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]
