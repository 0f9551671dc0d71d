"""Issue 10, retention: `cleanup.database` (a CronJob running `airflow db clean` with a cutoff computed at run time)
and `cleanup.logs` (a CronJob deleting old task log files on the logs PVC). Rendered with real helm, checked against
the Kubernetes schemas and the chart's security defaults; the rendered `airflow db clean` command is parsed by the
real Airflow 3.3.2 CLI parser; the log cleanup's script runs for real (bash + find) on a tree of aged files; bad
input is refused by helm and by `airkube values validate`, naming the key."""
from __future__ import annotations

import datetime
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import AIRFLOW_CHART, KUBE_VERSIONS, ROOT, VENV_BIN, Rendered, kube_validate

pytestmark = pytest.mark.helm3

ON: dict[str, Any] = {
    "cleanup": {"database": {"enabled": True, "retentionDays": 30, "tables": ["log", "dag_run"]},
                "logs": {"enabled": True, "retentionDays": 7, "schedule": "@daily"}},
    "logs": {"persistence": {"enabled": True}},
}
DB, LOGS = "database-cleanup", "logs-cleanup"


@pytest.fixture(scope="module")
def on(helm) -> Rendered:
    return helm.template(values=ON)


def pod(rendered: Rendered, component: str) -> dict[str, Any]:
    return rendered.get("CronJob", f"airflow-{component}")["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def script(rendered: Rendered, component: str) -> str:
    (container,) = pod(rendered, component)["containers"]
    assert container["args"][:2] == ["bash", "-c"]
    return str(container["args"][2])


def env(rendered: Rendered, component: str) -> dict[str, Any]:
    (container,) = pod(rendered, component)["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def exec_line(text: str) -> str:
    (line,) = [ln for ln in text.splitlines() if ln.startswith("exec airflow db clean")]
    return line


def test_defaults_render_no_cleanup(default_render: Rendered) -> None:
    assert default_render.all("CronJob") == []
    assert not default_render.find("ServiceAccount", "airflow-cleanup")


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_cronjobs_pass_the_kubernetes_schemas(on: Rendered, version: str) -> None:
    assert set(on.names("CronJob")) == {f"airflow-{DB}", f"airflow-{LOGS}"}
    for doc in on.docs:
        kube_validate(doc, version)


def test_on_passes_helm_lint_strict(helm, tmp_path: Path) -> None:
    path = tmp_path / "on.yaml"
    path.write_text(yaml.safe_dump(ON))
    result = helm.run("lint", "--strict", str(AIRFLOW_CHART), "--kube-version", KUBE_VERSIONS[-1], "-f", str(path),
                      check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_switch_alone(helm) -> None:
    only_db = helm.template(values={"cleanup": {"database": {"enabled": True}}})
    assert only_db.names("CronJob") == [f"airflow-{DB}"] and only_db.find("ServiceAccount", "airflow-cleanup")
    only_logs = helm.template(values={"cleanup": {"logs": {"enabled": True}}, "logs": {"persistence": {"enabled": True}}})
    assert only_logs.names("CronJob") == [f"airflow-{LOGS}"]
    cron = only_logs.get("CronJob", f"airflow-{LOGS}")
    assert cron["spec"]["schedule"] == "45 3 * * *"
    assert only_db.get("CronJob", f"airflow-{DB}")["spec"]["schedule"] == "15 3 * * *"


@pytest.mark.parametrize("component", [DB, LOGS])
def test_least_privilege_and_security_defaults(on: Rendered, component: str) -> None:
    cron = on.get("CronJob", f"airflow-{component}")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    # the pods carry the component label (postgres's NetworkPolicy and the deny-ingress policy select on it)
    labels = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == component and labels["app.kubernetes.io/instance"] == "airflow"
    spec = pod(on, component)
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == "airflow-cleanup"
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    (c,) = spec["containers"]
    sc = c["securityContext"]
    assert sc["capabilities"]["drop"] == ["ALL"] and sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True and sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert c["resources"]["limits"]["ephemeral-storage"] and c["resources"]["requests"]["ephemeral-storage"]
    for volume in spec["volumes"]:
        if "emptyDir" in volume:
            assert volume["emptyDir"]["sizeLimit"], volume
    sa = on.get("ServiceAccount", "airflow-cleanup")
    assert sa["automountServiceAccountToken"] is False
    for binding in on.all("RoleBinding") + on.all("ClusterRoleBinding"):  # no rights at all
        assert all(s.get("name") != "airflow-cleanup" for s in binding.get("subjects", [])), binding["metadata"]


def test_log_cleanup_has_no_database_access(on: Rendered) -> None:
    names = set(env(on, LOGS))
    assert not any("SQL_ALCHEMY" in n or "DB_PASSWORD" in n or "FERNET" in n for n in names), names
    assert env(on, LOGS)["CONNECTION_CHECK_MAX_COUNT"] == "0"  # the image's entrypoint must not wait for a DB
    (c,) = pod(on, LOGS)["containers"]
    assert "envFrom" not in c
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert mounts["logs"]["mountPath"] == "/opt/airflow/logs" and not mounts["logs"].get("readOnly")
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod(on, LOGS)["volumes"] if "persistentVolumeClaim" in v]
    assert claims == ["airflow-logs"]
    assert env(on, LOGS)["LOGS_DIR"] == "/opt/airflow/logs"


def test_log_cleanup_follows_an_existing_claim_and_sub_path(helm) -> None:
    rendered = helm.template(values={"cleanup": {"logs": {"enabled": True}}, "logs": {
        "mountPath": "/data/logs", "persistence": {"enabled": True, "existingClaim": "shared-logs", "subPath": "af"}}})
    spec = pod(rendered, LOGS)
    (c,) = spec["containers"]
    mount = next(m for m in c["volumeMounts"] if m["name"] == "logs")
    assert mount == {"name": "logs", "mountPath": "/data/logs", "subPath": "af"}
    assert next(v for v in spec["volumes"] if v["name"] == "logs")["persistentVolumeClaim"]["claimName"] == "shared-logs"
    assert env(rendered, LOGS)["LOGS_DIR"] == "/data/logs"


def test_db_cleanup_command(on: Rendered, helm) -> None:
    assert exec_line(script(on, DB)) == (
        'exec airflow db clean --clean-before-timestamp "${cutoff}" --yes --error-on-cleanup-failure '
        '--skip-archive --tables "log,dag_run"')
    e = env(on, DB)
    assert e["RETENTION_DAYS"] == "30"
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in e and "secretKeyRef" in e["AIRFLOW_DB_PASSWORD"]
    assert e["CONNECTION_CHECK_MAX_COUNT"] == "0"  # no `airflow db check` CLI start before `airflow db clean`
    archived = helm.template(values={"cleanup": {"database": {"enabled": True, "skipArchive": False}}})
    line = exec_line(script(archived, DB))
    assert "--skip-archive" not in line and "--tables" not in line


def test_db_cleanup_command_parses_with_the_real_airflow_cli(on: Rendered, tmp_path: Path) -> None:
    """The exec line, with the cutoff substituted, parsed by Airflow 3.3.2's own CLI parser (flags exist, values
    reach the `db clean` arguments)."""
    cutoff = "2026-01-01T00:00:00+00:00"
    argv = shlex.split(exec_line(script(on, DB)).replace("${cutoff}", cutoff))
    assert argv[:2] == ["exec", "airflow"]
    code = ("import json, sys\nfrom airflow.cli.cli_parser import get_parser\n"
            "a = get_parser().parse_args(sys.argv[1:])\n"
            "print(json.dumps({'func': a.func.__name__ if hasattr(a.func, '__name__') else str(a.func),"
            " 'ts': str(a.clean_before_timestamp), 'yes': a.yes, 'err': a.error_on_cleanup_failure,"
            " 'skip': a.skip_archive, 'tables': a.tables}))")
    result = subprocess.run([str(VENV_BIN / "python"), "-c", code, *argv[2:]], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "AIRFLOW_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got["ts"].startswith("2026-01-01 00:00:00") and got["yes"] and got["err"] and got["skip"]
    assert got["tables"] == ["log", "dag_run"]


def test_db_cleanup_cutoff_is_computed_at_run_time(on: Rendered) -> None:
    """The script's cutoff line run by bash + Python as the container does (without the final exec)."""
    (cutoff_line,) = [ln for ln in script(on, DB).splitlines() if ln.startswith("cutoff=")]
    result = subprocess.run(["bash", "-c", f'set -euo pipefail\n{cutoff_line}\necho "$cutoff"'], capture_output=True,
                            text=True, env={**os.environ, "RETENTION_DAYS": "30",
                                            "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}, check=True)
    cutoff = datetime.datetime.fromisoformat(result.stdout.strip())
    expected = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    assert cutoff.tzinfo is not None and abs((cutoff - expected).total_seconds()) < 60


def test_log_cleanup_script_deletes_only_old_files(on: Rendered, tmp_path: Path) -> None:
    """The rendered script, run by bash on a logs tree: files older than retentionDays (7) go, newer ones and their
    directories stay, directories left empty go."""
    now = time.time()
    day = 86400
    files = {
        "dag_id=a/run_id=old/task_id=t/attempt=1.log": 8 * day,
        "dag_id=a/run_id=new/task_id=t/attempt=1.log": 6 * day,
        "dag_id=b/run_id=old/task_id=t/attempt=1.log": 30 * day,
        "dag_processor/latest.log": 1 * day,
    }
    for rel, age in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("log\n")
        os.utime(path, (now - age, now - age))
    result = subprocess.run(["bash", "-c", script(on, LOGS)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "RETENTION_DAYS": "7", "LOGS_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["dag_id=a/run_id=new/task_id=t/attempt=1.log", "dag_processor/latest.log"]
    assert not (tmp_path / "dag_id=b").exists() and not (tmp_path / "dag_id=a/run_id=old").exists()
    assert tmp_path.is_dir()  # -mindepth 1: the mount point itself is never removed
    assert "deleted 2 files and 5 empty directories" in result.stdout
    assert "dag_id=b/run_id=old/task_id=t/attempt=1.log" in result.stderr


def test_network_policies_admit_the_db_cleanup_to_postgres(helm) -> None:
    rendered = helm.template(values={**ON, "networkPolicies": {"enabled": True}})
    deny = rendered.get("NetworkPolicy", "airflow-deny-ingress")["spec"]["podSelector"]["matchExpressions"][0]["values"]
    assert {DB, LOGS} <= set(deny)
    (pg,) = [d for d in rendered.all("NetworkPolicy") if d["metadata"]["name"] == "airflow-postgres"]
    admitted = [expr["values"] for rule in pg["spec"]["ingress"] for peer in rule.get("from", [])
                for expr in peer.get("podSelector", {}).get("matchExpressions", [])
                if expr["key"] == "app.kubernetes.io/component"]
    assert any(DB in values for values in admitted), admitted
    assert not any(LOGS in values for values in admitted), "the log cleanup needs no database"
    # the chart's egress policy (every non-worker pod of the release) lets it reach postgres:5432
    egress = rendered.get("NetworkPolicy", "airflow-egress")
    assert egress["spec"]["podSelector"]["matchExpressions"] == [
        {"key": "app.kubernetes.io/component", "operator": "NotIn", "values": ["worker"]}]


# ---------------------------------------------------------------------------------------------------------------
# bad input: helm and `airkube values validate` both refuse it and name the key

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("schedule-word", {"cleanup": {"database": {"schedule": "daily"}}}, "cleanup.database.schedule"),
    ("schedule-four-fields", {"cleanup": {"logs": {"schedule": "0 3 * *"}}}, "cleanup.logs.schedule"),
    ("retention-zero", {"cleanup": {"database": {"retentionDays": 0}}}, "cleanup.database.retentionDays"),
    ("retention-string", {"cleanup": {"logs": {"retentionDays": "15d"}}}, "cleanup.logs.retentionDays"),
    ("unknown-table", {"cleanup": {"database": {"tables": ["logs"]}}}, "cleanup.database.tables"),
    ("unknown-key", {"cleanup": {"database": {"retention": 3}}}, "cleanup.database"),
    ("skip-archive-string", {"cleanup": {"database": {"skipArchive": "yes"}}}, "cleanup.database.skipArchive"),
    ("logs-without-pvc", {"cleanup": {"logs": {"enabled": True}}}, "cleanup.logs.enabled"),
    ("postgres-digest-not-sha256", {"postgres": {"image": {"digest": "latest"}}}, "postgres.image.digest"),
]


def _names(text: str, key: str) -> bool:
    return key in text or "/" + key.replace(".", "/") in text


@pytest.mark.parametrize("case_id, values, key", BAD, ids=[c[0] for c in BAD])
def test_bad_input_refused_naming_the_key(helm, tmp_path: Path, case_id: str, values: dict[str, Any], key: str) -> None:
    path = tmp_path / f"{case_id}.yaml"
    path.write_text(yaml.safe_dump(values))
    result = helm.run("template", "airflow", str(AIRFLOW_CHART), "--namespace", "airflow",
                      "--kube-version", KUBE_VERSIONS[-1], "-f", str(path), check=False)
    assert result.returncode != 0, f"helm accepted {case_id}"
    assert _names(result.stderr, key), result.stderr
    checked = subprocess.run([str(VENV_BIN / "airkube"), "values", "validate", str(path)], capture_output=True,
                             text=True, cwd=ROOT, timeout=120,
                             env={**os.environ, "COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb"})
    output = " ".join((checked.stdout + checked.stderr).split())
    assert checked.returncode == 1, output
    assert _names(output, key), output


def test_logs_rule_message_is_human(helm) -> None:
    message = helm.template_error(values={"cleanup": {"logs": {"enabled": True}}})
    assert "cleanup.logs.enabled is true but logs.persistence.enabled is false" in message
    assert "set logs.persistence.enabled to true" in message
