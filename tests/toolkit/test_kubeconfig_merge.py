"""`airkube.cluster.kubeconfig`: the airkube-local context merged into the user's kubeconfig and taken out again.

Every test runs with a temporary HOME and no KUBECONFIG; the results are read back by the real kubectl of the venv
and by the kubernetes client's default loading (what every airkube command does without --kubeconfig).
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from airkube.binaries import venv_tool
from airkube.cluster import kubeconfig as kc
from airkube.errors import ConfigError

SERVER = "https://10.88.0.1:6443"
USER_CONFIG = """\
# my own clusters: keep this comment
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
users:
- name: me
  user:
    token: abc
contexts:
- name: prod
  context:
    cluster: prod
    user: me
    namespace: team
current-context: prod
preferences: {}
"""


def source_config(path: Path, server: str = SERVER) -> Path:
    """A stand-in for /var/lib/airkube/local/kubeconfig (same shape as pki.render_admin_kubeconfig writes)."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "airkube-local", "cluster": {"server": server,
                                                            "certificate-authority-data": "Q0EK"}}],
        "users": [{"name": "admin@airkube-local", "user": {"client-certificate-data": "Q0VSVAo=",
                                                            "client-key-data": "S0VZCg=="}}],
        "contexts": [{"name": "airkube-local", "context": {"cluster": "airkube-local",
                                                           "user": "admin@airkube-local"}}],
        "current-context": "airkube-local",
    }))
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv(kc.OPT_OUT_ENV, raising=False)
    return home


def kubectl(home: Path, *args: str) -> str:
    binary = venv_tool("kubectl")
    if not binary:
        pytest.skip("kubectl not installed (make setup)")
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"} | {"HOME": str(home)}
    return subprocess.run([binary, *args], capture_output=True, text=True, check=True, env=env).stdout.strip()


def test_which_file(home: Path) -> None:
    assert kc.user_kubeconfig({}, home) == home / ".kube" / "config"
    assert kc.user_kubeconfig({"KUBECONFIG": ""}, home) == home / ".kube" / "config"
    assert kc.user_kubeconfig({"KUBECONFIG": f"/a/one{os.pathsep}/b/two"}, home) == Path("/a/one")
    assert kc.wanted({}) and kc.wanted({kc.OPT_OUT_ENV: "0"})
    assert not kc.wanted({kc.OPT_OUT_ENV: "1"}) and not kc.wanted({kc.OPT_OUT_ENV: "yes"})


def test_merge_into_missing_file_kubectl_and_client_use_it(home: Path, tmp_path: Path) -> None:
    notes: list[str] = []
    written = kc.after_up(source_config(tmp_path / "admin.kubeconfig"), notes.append)
    target = home / ".kube" / "config"
    assert written == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600, "a kubeconfig with a client key must not be world-readable"
    assert not list(target.parent.glob("*.lock")) and not list(target.parent.glob(".config.*.tmp"))
    assert "merged into" in notes[-1]
    # the real kubectl, with nothing exported, talks to the local cluster's address as airkube-local
    assert kubectl(home, "config", "current-context") == "airkube-local"
    assert kubectl(home, "config", "view", "-o", "jsonpath={.clusters[0].cluster.server}") == SERVER
    assert kubectl(home, "config", "view", "-o", "jsonpath={.contexts[0].context.user}") == "airkube-local"
    # and so does every airkube command that takes no --kubeconfig (the client's default loading)
    from kubernetes import client, config

    api = config.new_client_from_config()
    assert isinstance(api, client.ApiClient) and api.configuration.host == SERVER


def test_merge_keeps_the_users_entries_and_is_idempotent(home: Path, tmp_path: Path) -> None:
    target = home / ".kube" / "config"
    target.parent.mkdir()
    target.write_text(USER_CONFIG)
    entry = kc.entry_from(source_config(tmp_path / "admin.kubeconfig"))
    assert kc.merge(entry, target) is True
    text = target.read_text()
    assert "# my own clusters: keep this comment" in text
    data = yaml.safe_load(text)
    assert [c["name"] for c in data["contexts"]] == ["prod", "airkube-local"]
    assert data["contexts"][0]["context"] == {"cluster": "prod", "user": "me", "namespace": "team"}
    assert data["current-context"] == "airkube-local"
    assert kc.merge(entry, target) is False, "a second merge changes nothing"
    # a changed server (re-created cluster) replaces the entry in place, no duplicate
    assert kc.merge(kc.entry_from(source_config(tmp_path / "other", "https://10.88.0.1:7443")), target) is True
    data = yaml.safe_load(target.read_text())
    assert [c["name"] for c in data["clusters"]] == ["prod", "airkube-local"]
    assert data["clusters"][1]["cluster"]["server"] == "https://10.88.0.1:7443"
    assert kubectl(home, "config", "get-contexts", "-o", "name").split() == ["airkube-local", "prod"]


def test_unmerge_removes_only_ours(home: Path, tmp_path: Path) -> None:
    target = home / ".kube" / "config"
    target.parent.mkdir()
    target.write_text(USER_CONFIG)
    source = source_config(tmp_path / "admin.kubeconfig")
    kc.after_up(source, lambda _: None)
    # an entry of the same name that points elsewhere is not ours to remove
    assert kc.unmerge(target, server="https://10.99.0.1:6443") is False
    notes: list[str] = []
    assert kc.before_down(source, SERVER, notes.append) is True
    assert notes == [f"kubeconfig: removed context airkube-local from {target}"]
    data = yaml.safe_load(target.read_text())
    assert [c["name"] for c in data["clusters"]] == ["prod"] and [u["name"] for u in data["users"]] == ["me"]
    assert [c["name"] for c in data["contexts"]] == ["prod"]
    assert data["current-context"] == ""
    assert "# my own clusters: keep this comment" in target.read_text()
    assert kc.before_down(source, SERVER, notes.append) is False, "nothing left to remove"
    assert kubectl(home, "config", "get-contexts", "-o", "name") == "prod"


def test_opt_out_and_own_file_are_left_alone(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = source_config(tmp_path / "admin.kubeconfig")
    before = source.read_text()
    notes: list[str] = []
    monkeypatch.setenv(kc.OPT_OUT_ENV, "1")
    assert kc.after_up(source, notes.append) is None
    assert not (home / ".kube").exists() and "opted out" in notes[-1]
    monkeypatch.delenv(kc.OPT_OUT_ENV)
    monkeypatch.setenv("KUBECONFIG", str(source))  # helpers that export the cluster's own file
    assert kc.after_up(source, notes.append) is None
    assert kc.before_down(source, SERVER, notes.append) is False
    assert source.read_text() == before


def test_broken_user_file_is_named_and_not_touched(home: Path, tmp_path: Path) -> None:
    target = home / ".kube" / "config"
    target.parent.mkdir()
    target.write_text("clusters: [unclosed\n")
    with pytest.raises(ConfigError, match=str(target)):
        kc.merge(kc.entry_from(source_config(tmp_path / "admin.kubeconfig")), target)
    notes: list[str] = []
    assert kc.after_up(tmp_path / "admin.kubeconfig", notes.append) is None  # the cluster is up anyway
    assert "could not merge" in notes[-1] and "KUBECONFIG=" in notes[-1]
    assert target.read_text() == "clusters: [unclosed\n"
    target.write_text("clusters: {a: 1}\n")
    with pytest.raises(ConfigError, match="'clusters' must be a list"):
        kc.merge(kc.entry_from(tmp_path / "admin.kubeconfig"), target)


def test_a_held_lock_is_waited_for_then_reported(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = home / ".kube" / "config"
    target.parent.mkdir()
    lock = target.with_name("config.lock")
    lock.write_text("")
    monkeypatch.setattr(kc, "LOCK_WAIT_S", 0.3)
    with pytest.raises(ConfigError, match="config.lock exists"), kc._locked(target, wait=0.3):
        pass
    assert lock.exists(), "someone else's lock is never removed"
    lock.unlink()
    assert kc.merge(kc.entry_from(source_config(tmp_path / "admin.kubeconfig")), target) is True
