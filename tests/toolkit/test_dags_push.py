"""`airkube dags push` and the in-cluster git server: the shell they run in pods, run here with real sh/tar/git."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from airkube.dags import (
    DagsPushError,
    build_tar,
    collect_files,
    find_dags_claim,
    install_script,
    push_pod_manifest,
)
from airkube.kube import CHUNK, upload_commands
from airkube.smoke import SMOKE_DAGS_DIR
from airkube.smoke.gitserver import GitServer, commit_script, deployment_manifest, service_manifest


def _tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.py").write_text("print('a')\n")
    (src / "sub" / "b.py").write_text("B = 1\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (src / ".hidden").write_text("x")
    return src


def test_collect_files_skips_caches_hidden_and_excluded(tmp_path):
    src = _tree(tmp_path)
    assert collect_files(src) == [Path("a.py"), Path("sub/b.py")]
    assert collect_files(src, exclude=["a.py"]) == [Path("sub/b.py")]
    assert collect_files(src / "a.py") == [Path("a.py")]


def test_smoke_dags_ship_as_package_data():
    names = {p.name for p in collect_files(SMOKE_DAGS_DIR)}
    assert {"smoke_kpo_seed.py", "smoke_executor.py", "smoke_logs.py", "smoke_git_sync.py"} <= names


def test_tar_is_owned_by_airflow_user(tmp_path):
    src = _tree(tmp_path)
    with tarfile.open(fileobj=io.BytesIO(build_tar(src, collect_files(src))), mode="r:gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["a.py", "sub/b.py"]
    assert all(m.uid == 50000 and m.gid == 0 and m.mode == 0o664 for m in members)


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_upload_and_install_scripts_roundtrip_with_real_shell(tmp_path):
    """The exact commands exec'ed in the push pod, run here: chunks reassemble, files land atomically."""
    src = _tree(tmp_path)
    big = src / "big.py"
    big.write_text("# " + os.urandom(CHUNK).hex() + "\n")  # incompressible: forces several chunks
    payload = build_tar(src, collect_files(src))
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "a.py").write_text("old\n")
    (dags / "keep.py").write_text("untouched\n")
    b64 = str(dags / ".airkube-push-t.b64")
    cmds = upload_commands(payload, b64)
    assert len(cmds) >= 3
    for cmd in cmds:
        _run(cmd)
    out = _run(["sh", "-c", install_script(str(dags), b64, str(dags / ".airkube-staging-t"))])
    assert sorted(line for line in out.splitlines() if line.startswith("pushed")) == [
        "pushed ./a.py", "pushed ./big.py", "pushed ./sub/b.py"]
    assert (dags / "a.py").read_text() == "print('a')\n"
    assert (dags / "sub" / "b.py").read_text() == "B = 1\n"
    assert (dags / "keep.py").read_text() == "untouched\n"
    assert sorted(p.name for p in dags.iterdir()) == ["a.py", "big.py", "keep.py", "sub"]  # staging + b64 removed


def test_push_pod_is_non_root_and_pinned_to_the_node():
    pod = push_pod_manifest("p", "ns", "airflow-dags", "apache/airflow:3.3.2", node="node-1", sub_path="dags")
    sc = pod["spec"]["securityContext"]
    assert (sc["runAsUser"], sc["runAsGroup"], sc["runAsNonRoot"]) == (50000, 0, True)
    assert pod["spec"]["volumes"] == [{"name": "dags", "persistentVolumeClaim": {"claimName": "airflow-dags"}}]
    assert pod["spec"]["containers"][0]["volumeMounts"][0]["subPath"] == "dags"
    term = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term["matchFields"][0]["values"] == ["node-1"]
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(pod, "1.34.0", strict=True)


def test_find_dags_claim():
    class C:
        def __init__(self, *names):
            self.items = [type("P", (), {"metadata": type("M", (), {"name": n})()})() for n in names]

    class Core:
        def __init__(self, *names):
            self.names = names

        def list_namespaced_persistent_volume_claim(self, ns):
            return C(*self.names)

    assert find_dags_claim(Core("airflow-dags", "airflow-logs"), "ns") == "airflow-dags"
    assert find_dags_claim(Core("a-dags", "b-dags"), "ns", release="b") == "b-dags"
    with pytest.raises(DagsPushError, match="--claim"):
        find_dags_claim(Core("a-dags", "b-dags"), "ns")


# --- git server ---------------------------------------------------------------------------------------------------
def test_git_server_manifests():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    dep = deployment_manifest("airkube-git", "ns", "airkube.local/git-sync:v4.4.2")
    svc = service_manifest("airkube-git", "ns")
    kubernetes_validate.validate(dep, "1.34.0", strict=True)
    kubernetes_validate.validate(svc, "1.34.0", strict=True)
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == ["git"] and "--base-path=/srv/git" in c["args"] and "--export-all" in c["args"]
    assert svc["spec"]["selector"] == dep["spec"]["template"]["metadata"]["labels"] | {} or all(
        dep["spec"]["template"]["metadata"]["labels"][k] == v for k, v in svc["spec"]["selector"].items())
    assert GitServer("airkube-git", "ns").url == "git://airkube-git.ns.svc.cluster.local:9418/dags.git"


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_commit_script_with_real_git(tmp_path):
    """The commit script exec'ed in the git server pod, run here with real git: commit, no-op, second commit."""
    base, tmp = tmp_path / "srv", tmp_path / "tmp"
    base.mkdir(), tmp.mkdir()

    def push(src: Path) -> str:
        b64 = tmp / "payload.b64"
        for cmd in upload_commands(build_tar(src, collect_files(src)), str(b64)):
            _run(cmd)
        out = _run(["sh", "-c", commit_script("dags", str(b64), "smoke", base=str(base), tmp=str(tmp))])
        return out.strip().splitlines()[-1]

    sha1 = push(SMOKE_DAGS_DIR)
    assert len(sha1) == 40
    assert push(SMOKE_DAGS_DIR) == sha1  # unchanged files: no new commit
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.py").write_text("X = 1\n")
    sha2 = push(other)
    assert sha2 != sha1
    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", "--branch", "main", str(base / "dags.git"), str(clone)])
    assert sorted(p.name for p in clone.iterdir() if p.name != ".git") == ["x.py"]  # the tree mirrors the folder
    assert _run(["git", "-C", str(clone), "rev-parse", "HEAD"]).strip() == sha2
