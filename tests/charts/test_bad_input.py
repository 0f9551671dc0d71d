"""R5 bad input (no cluster): invalid values files are refused by real helm AND by `airkube values validate`,
both naming the offending key path; `airkube values set` never half-writes a values file.

Run by `make test`. helm is the real binary (`--helm-bin`, default .venv/bin/helm); airkube is the installed CLI
(.venv/bin/airkube) run as a subprocess, exactly as a user runs it.
"""
from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import AIRFLOW_CHART, KUBE_VERSIONS, ROOT, VENV_BIN

pytestmark = pytest.mark.helm3

AIRKUBE = VENV_BIN / "airkube"

# id, values (a complete values file), the key path the refusal must name
BAD_VALUES: list[tuple[str, dict[str, Any], str]] = [
    # wrong types
    ("replicas-string", {"apiServer": {"replicas": "two"}}, "apiServer.replicas"),
    ("bool-as-string", {"logs": {"remote": {"enabled": "yes"}}}, "logs.remote.enabled"),
    ("config-section-not-a-map", {"config": {"core": "not-a-section"}}, "config.core"),
    ("env-without-name", {"workers": {"extraEnv": [{"value": "no name"}]}}, "workers.extraEnv[0].name"),
    # image tags are strings: a YAML number is refused (3.10 would become 3.1)
    ("image-tag-int", {"images": {"airflow": {"tag": 3}}}, "images.airflow.tag"),
    ("image-tag-float", {"images": {"gitSync": {"tag": 3.10}}}, "images.gitSync.tag"),
    ("postgres-image-tag-int", {"postgres": {"image": {"tag": 17}}}, "postgres.image.tag"),
    ("image-tag-with-space", {"images": {"airflow": {"tag": "3.3.2 slim"}}}, "images.airflow.tag"),
    # issue 13 keys: KubernetesPodOperator namespace, network policies, emptyDir sizes
    ("kpo-enabled-string", {"kubernetesPodOperator": {"enabled": "yes"}}, "kubernetesPodOperator.enabled"),
    ("kpo-namespace-invalid", {"kubernetesPodOperator": {"namespace": "Team_KPO"}}, "kubernetesPodOperator.namespace"),
    ("kpo-create-namespace-string", {"kubernetesPodOperator": {"createNamespace": "no"}},
     "kubernetesPodOperator.createNamespace"),
    ("kpo-namespace-labels-not-strings", {"kubernetesPodOperator": {"namespaceLabels": {"team": 7}}},
     "kubernetesPodOperator.namespaceLabels.team"),
    ("kpo-api-server-port-range", {"kubernetesPodOperator": {"apiServerPorts": [70000]}},
     "kubernetesPodOperator.apiServerPorts[0]"),
    ("kpo-unknown-key", {"kubernetesPodOperator": {"serviceAccount": "x"}}, "kubernetesPodOperator.serviceAccount"),
    ("worker-egress-port-string", {"networkPolicies": {"workerEgressPorts": ["https"]}},
     "networkPolicies.workerEgressPorts[0]"),
    ("postgres-allow-same-namespace-string", {"postgres": {"networkPolicy": {"allowSameNamespace": "no"}}},
     "postgres.networkPolicy.allowSameNamespace"),
    ("postgres-extra-from-not-a-list", {"postgres": {"networkPolicy": {"extraFrom": "everyone"}}},
     "postgres.networkPolicy.extraFrom"),
    ("tmp-size-limit-not-a-quantity", {"tmpSizeLimit": "lots"}, "tmpSizeLimit"),
    ("logs-emptydir-size-wrong-unit", {"logs": {"emptyDirSizeLimit": "1GB"}}, "logs.emptyDirSizeLimit"),
    ("gitsync-emptydir-size-number", {"dags": {"gitSync": {"emptyDirSizeLimit": 1024}}},
     "dags.gitSync.emptyDirSizeLimit"),
    # unknown keys at several depths
    ("unknown-key-depth1", {"unknownTopLevel": True}, "unknownTopLevel"),
    ("unknown-key-depth2", {"scheduler": {"replicaCount": 2}}, "scheduler.replicaCount"),
    ("unknown-key-depth3", {"logs": {"remote": {"bucket": "airflow-logs"}}}, "logs.remote.bucket"),
    ("unknown-key-depth4", {"dags": {"gitSync": {"resources": {"limitz": {"cpu": 1}}}}},
     "dags.gitSync.resources.limitz"),
    # bad enums
    ("executor-enum", {"executor": "CeleryExecutor"}, "executor"),
    ("remote-backend-enum", {"logs": {"remote": {"backend": "azure"}}}, "logs.remote.backend"),
    ("pull-policy-enum", {"images": {"airflow": {"pullPolicy": "Sometimes"}}}, "images.airflow.pullPolicy"),
    ("access-mode-enum", {"logs": {"persistence": {"accessMode": "ReadWriteAll"}}}, "logs.persistence.accessMode"),
    ("auth-role-enum", {"auth": {"users": [{"username": "bob", "role": "superuser"}]}}, "auth.users[0].role"),
    # bad sizes, numbers, formats
    ("size-not-a-quantity", {"dags": {"persistence": {"size": "lots"}}}, "dags.persistence.size"),
    ("size-wrong-unit", {"logs": {"persistence": {"size": "5GB"}}}, "logs.persistence.size"),
    ("negative-replicas", {"scheduler": {"replicas": -1}}, "scheduler.replicas"),
    ("port-out-of-range", {"externalDatabase": {"port": 70000}}, "externalDatabase.port"),
    ("relative-mount-path", {"logs": {"mountPath": "relative/logs"}}, "logs.mountPath"),
    ("git-period-not-duration", {"dags": {"gitSync": {"period": "often"}}}, "dags.gitSync.period"),
    ("git-repo-not-a-url", {"dags": {"gitSync": {"repo": "github.com/org/repo"}}}, "dags.gitSync.repo"),
    # contradictory options / missing required secrets, repos, URLs
    ("s3-backend-gs-url", {"logs": {"remote": {"enabled": True, "backend": "s3", "baseUrl": "gs://bucket/logs"}}},
     "logs.remote.baseUrl"),
    ("gcs-backend-s3-url", {"logs": {"remote": {"enabled": True, "backend": "gcs", "baseUrl": "s3://bucket/logs"}}},
     "logs.remote.baseUrl"),
    ("remote-logs-without-url", {"logs": {"remote": {"enabled": True, "backend": "s3"}}}, "logs.remote.baseUrl"),
    ("endpoint-url-with-gcs", {"logs": {"remote": {"enabled": True, "backend": "gcs", "baseUrl": "gs://b/logs",
                                                   "endpointUrl": "http://minio:9000"}}}, "logs.remote.endpointUrl"),
    ("git-sync-without-repo", {"dags": {"gitSync": {"enabled": True}}}, "dags.gitSync.repo"),
    ("git-sync-ssh-without-key", {"dags": {"gitSync": {"enabled": True, "repo": "git@github.com:org/dags.git"}}},
     "dags.gitSync.sshKeySecret"),
    ("git-sync-ssh-url-without-key", {"dags": {"gitSync": {"enabled": True, "repo": "ssh://git@example.com/dags.git"}}},
     "dags.gitSync.sshKeySecret"),
    ("git-sync-key-without-known-hosts", {"dags": {"gitSync": {"enabled": True, "repo": "git@github.com:org/dags.git",
                                                               "sshKeySecret": "git-ssh"}}}, "dags.gitSync.knownHosts"),
    ("external-db-without-host", {"postgres": {"enabled": False}}, "externalDatabase.host"),
    ("external-db-without-secret", {"postgres": {"enabled": False}, "externalDatabase": {"host": "db.example.com"}},
     "externalDatabase.passwordSecret"),
    ("external-db-and-bundled-postgres", {"externalDatabase": {"host": "db.example.com", "passwordSecret": "db"}},
     "postgres.enabled"),
    ("no-users", {"auth": {"users": []}}, "auth.users"),
    ("airflow2-kubernetes-section", {"config": {"kubernetes": {"namespace": "x"}}}, "config.kubernetes"),
    ("api-server-disabled", {"apiServer": {"enabled": False}}, "apiServer.enabled"),
]


def pointer(key: str) -> str:
    """`auth.users[0].role` -> `/auth/users/0/role` (the JSON pointer helm's schema errors use)."""
    return "/" + re.sub(r"\[(\d+)\]", r".\1", key).replace(".", "/")


def names_key(message: str, key: str) -> bool:
    """The message names ``key``: dotted (`a.b[0].c`) or as a pointer (`/a/b/0/c`), or — helm's form for unknown
    and missing properties — on one line the parent pointer (`at '/a/b'`) and the quoted leaf (`'c'`)."""
    ptr = pointer(key)
    if re.search(rf"(?<![\w.]){re.escape(key)}(?![\w])", message):
        return True
    if re.search(rf"{re.escape(ptr)}(?![\w])", message):
        return True
    parent, leaf = ptr.rsplit("/", 1)
    for line in message.splitlines():
        if f"at '{parent or '/'}'" in line or (not parent and "at ''" in line):
            if f"'{leaf}'" in line:
                return True
    return False


@pytest.mark.parametrize("probe, key, expected", [
    ("- at '/logs/remote': additional properties 'bucket' not allowed", "logs.remote.bucket", True),
    ("- at '/logs/remote': additional properties 'bucket' not allowed", "logs.remote.backend", False),
    ("- at '/auth/users/0/role': value must be one of", "auth.users[0].role", True),
    ("`dags.gitSync.repo` must be set", "dags.gitSync.repo", True),
    ("`dags.gitSync.repository` must be set", "dags.gitSync.repo", False),
])
def test_names_key_helper(probe: str, key: str, expected: bool) -> None:
    assert names_key(probe, key) is expected


def test_table_is_large_enough() -> None:
    assert len(BAD_VALUES) >= 20
    assert len({c[0] for c in BAD_VALUES}) == len(BAD_VALUES)


def _write(tmp_path: Path, case_id: str, values: dict) -> Path:
    path = tmp_path / f"{case_id}.yaml"
    path.write_text(f"# R5 bad input: {case_id}\n" + yaml.safe_dump(values, sort_keys=False))
    return path


def _airkube(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([str(AIRKUBE), *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120, **kwargs)


@pytest.mark.parametrize("case_id, values, key", BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_bad_values_refused_by_helm_and_airkube(helm, tmp_path: Path, case_id: str, values: dict, key: str) -> None:
    path = _write(tmp_path, case_id, values)
    rendered = helm.run("template", "airflow", str(AIRFLOW_CHART), "--namespace", "airflow",
                        "--kube-version", KUBE_VERSIONS[-1], "-f", str(path), check=False)
    assert rendered.returncode != 0, f"helm template accepted {case_id}: {values}"
    assert names_key(rendered.stderr, key), f"helm's message does not name {key}:\n{rendered.stderr}"

    checked = _airkube("values", "validate", str(path))
    output = " ".join((checked.stdout + checked.stderr).split())  # undo rich's line wrapping
    assert checked.returncode == 1, f"airkube values validate exit {checked.returncode} for {case_id}:\n{output}"
    assert names_key(output, key), f"airkube's message does not name {key}:\n{output}"
    assert str(path) in output, "airkube does not say which file is wrong"
    helm_line = next((ln.strip() for ln in rendered.stderr.splitlines() if names_key(ln, key)), "")
    print(f"\n[R5] {case_id}: helm: {helm_line[:140]}\n      airkube: {output[:160]}")


def test_helm_install_dry_run_refuses_too(helm, tmp_path: Path) -> None:
    """`helm install --dry-run=client` goes through the same schema and rules (one case of each kind)."""
    if not helm.version().startswith("v4"):
        pytest.skip(f"helm {helm.version()}: `install --dry-run=client` still asks a cluster for its version")
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "no-cluster")}  # never reach a cluster from here
    for case_id, values, key in (BAD_VALUES[6], BAD_VALUES[20], BAD_VALUES[25]):
        path = _write(tmp_path, case_id, values)
        result = subprocess.run([helm.binary, "install", "airflow", str(AIRFLOW_CHART), "--namespace", "airflow",
                                 "--dry-run=client", "-f", str(path)], capture_output=True, text=True, env=env)
        assert result.returncode != 0 and names_key(result.stderr, key), (case_id, result.stderr)


# --- never half-write -------------------------------------------------------------------------------------------

GOOD = """\
# A values file a user wrote by hand: comments, ordering and quoting must survive every refused edit.
images:
  airflow:
    repository: airkube.local/airflow   # built locally
    tag: "3.3.2"
scheduler:
  replicas: 1
logs:
  remote:
    enabled: false
    backend: s3
"""

INVALID_EDITS = [
    ["scheduler.replicas=two"],  # wrong type
    ["scheduler.replicaCount=2"],  # unknown key
    ["logs.remote.backend=azure"],  # bad enum
    ["logs.persistence.size=5GB"],  # bad size
    ["scheduler.replicas=-1"],  # negative replicas
    ["images.airflow.tag=3.3.3", "logs.remote.bucket=x"],  # one valid, one invalid: nothing is written
]


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("edit", INVALID_EDITS, ids=lambda e: " ".join(e))
def test_refused_edit_leaves_file_byte_identical(tmp_path: Path, edit: list[str]) -> None:
    target = tmp_path / "values.yaml"
    target.write_text(GOOD)
    before = _snapshot(tmp_path)
    mtime = target.stat().st_mtime_ns
    result = _airkube("values", "set", str(target), *edit)
    assert result.returncode == 1, result.stdout + result.stderr
    assert _snapshot(tmp_path) == before, "the file changed or a temporary file was left behind"
    assert target.stat().st_mtime_ns == mtime
    print(f"\n[R5] refused `values set {' '.join(edit)}`: {' '.join(result.stderr.split())[:160]}")


def _limit_file_size(limit: int):  # preexec_fn: the kernel refuses writes past `limit` bytes (EFBIG)
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_failure_mid_write_keeps_the_original(tmp_path: Path) -> None:
    """A valid edit whose write fails half-way (RLIMIT_FSIZE: the kernel stops the temp file at 64 bytes,
    Python gets EFBIG) leaves the original byte-identical and no temp file."""
    target = tmp_path / "values.yaml"
    target.write_text(GOOD)
    before = _snapshot(tmp_path)
    result = _airkube("values", "set", str(target), "scheduler.replicas=2", preexec_fn=_limit_file_size(64))
    assert result.returncode == 1, f"the write did not fail cleanly: {result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr and "the file is unchanged" in " ".join(result.stderr.split())
    assert _snapshot(tmp_path) == before, "original changed or temp file left after a failed write"
    # the same edit without the limit works: the failure above was the write, not the edit
    ok = _airkube("values", "set", str(target), "scheduler.replicas=2")
    assert ok.returncode == 0, ok.stderr
    text = target.read_text()
    assert "replicas: 2" in text and "# built locally" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["values.yaml"]
    err = " ".join(result.stderr.split())
    print(f"\n[R5] write failed mid-way (EFBIG at 64 bytes), original intact; error: {err[-160:]}")


def test_read_only_directory_keeps_the_original(tmp_path: Path) -> None:
    """The target directory refuses new entries (non-root: mode 0555; root ignores modes, so the directory gets
    the immutable attribute with `chattr +i`): the edit fails before touching the file."""
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "values.yaml"
    target.write_text(GOOD)
    before = _snapshot(folder)
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if not chattr or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("running as root and `chattr +i` is unavailable on this filesystem")
        lock, unlock = [chattr, "+i", str(folder)], [chattr, "-i", str(folder)]
    else:
        folder.chmod(0o555)
        lock, unlock = None, None
    try:
        result = _airkube("values", "set", str(target), "scheduler.replicas=3")
        after = _snapshot(folder)
    finally:
        if unlock:
            subprocess.run(unlock, check=True)
        folder.chmod(0o755)
    assert lock is None or lock[1] == "+i"
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the file is unchanged" in " ".join(result.stderr.split())
    assert after == before, "the file changed or a temporary file was left in a read-only directory"
    print(f"\n[R5] read-only directory: refused, original intact ({' '.join(result.stderr.split())[-120:]})")


def test_unquoted_float_tag_is_refused_with_a_quoting_hint(helm, tmp_path: Path) -> None:
    """`tag: 3.10` in YAML is the number 3.1: helm's schema check and airkube both refuse it, naming the key."""
    path = tmp_path / "float-tag.yaml"
    path.write_text("images:\n  airflow:\n    tag: 3.10\n")
    rendered = helm.run("template", "airflow", str(AIRFLOW_CHART), "-f", str(path), check=False)
    assert rendered.returncode != 0 and "/images/airflow/tag" in rendered.stderr, rendered.stderr
    checked = _airkube("values", "validate", str(path))
    output = " ".join((checked.stdout + checked.stderr).split())
    assert checked.returncode == 1
    assert "`images.airflow.tag` must be of type string, got number 3.1" in output, output
    assert "write it in quotes" in output
