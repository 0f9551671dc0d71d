"""The airflow and postgres image entrypoints, run on the host with stand-in commands (no container)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_EP = REPO_ROOT / "scripts" / "images" / "airflow" / "entrypoint.sh"
POSTGRES_EP = REPO_ROOT / "scripts" / "images" / "postgres" / "docker-entrypoint.sh"


@pytest.fixture
def fakebin(tmp_path) -> Path:
    """`airflow` and `python` stand-ins that record how they were called."""
    d = tmp_path / "bin"
    d.mkdir()
    log = tmp_path / "calls"
    for name in ("airflow", "python"):
        script = d / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n'
                          'if [ "$1 $2" = "db check" ] && [ -n "$FAIL_DB" ]; then exit 1; fi\nexit 0\n')
        script.chmod(0o755)
    return d


def run_ep(fakebin: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    log = fakebin.parent / "calls"
    log.unlink(missing_ok=True)
    base = {"PATH": f"{fakebin}:/usr/bin:/bin", "HOME": str(fakebin.parent), "CONNECTION_CHECK_SLEEP_TIME": "0"}
    r = subprocess.run(["bash", str(AIRFLOW_EP), *args], env={**base, **env}, capture_output=True, text=True,
                       timeout=60)
    calls = log.read_text().splitlines() if log.exists() else []
    return r, calls


@pytest.mark.parametrize(("args", "want"), [
    (["scheduler"], "airflow scheduler"),
    (["airflow", "scheduler"], "airflow scheduler"),
    (["airflow", "api-server", "--port", "8080"], "airflow api-server --port 8080"),
    (["python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string", "{}"],
     "python -m airflow.sdk.execution_time.execute_workload --json-string {}"),
])
def test_airflow_dispatch_without_db_check(fakebin, args, want):
    r, calls = run_ep(fakebin, *args, CONNECTION_CHECK_MAX_COUNT="0")
    assert r.returncode == 0, r.stderr
    assert calls == [want]  # CONNECTION_CHECK_MAX_COUNT=0: no `airflow db check`


def test_airflow_bash_c(fakebin):
    r, calls = run_ep(fakebin, "bash", "-c", "echo hi $((1+1))", CONNECTION_CHECK_MAX_COUNT="0")
    assert r.returncode == 0 and r.stdout == "hi 2\n" and calls == []


def test_airflow_db_check_by_default_and_its_failure(fakebin):
    r, calls = run_ep(fakebin, "scheduler")
    assert r.returncode == 0 and calls == ["airflow db check", "airflow scheduler"]
    r, calls = run_ep(fakebin, "version")
    assert calls == ["airflow version"]  # no DB needed to print the version
    r, calls = run_ep(fakebin, "scheduler", CONNECTION_CHECK_MAX_COUNT="2", FAIL_DB="1")
    assert r.returncode == 1
    assert "Maximum number of retries (2)" in r.stderr
    assert "airflow scheduler" not in calls


def test_airflow_migrate_on_request(fakebin):
    r, calls = run_ep(fakebin, "scheduler", CONNECTION_CHECK_MAX_COUNT="0", _AIRFLOW_DB_MIGRATE="true")
    assert calls == ["airflow db migrate", "airflow scheduler"]


def test_postgres_entrypoint_requires_password(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("as root the entrypoint drops to the postgres user (covered by the container test)")
    r = subprocess.run(["bash", str(POSTGRES_EP), "postgres"], env={"PATH": "/usr/bin:/bin",
                       "PGDATA": str(tmp_path / "data")}, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "POSTGRES_PASSWORD" in r.stderr


def test_postgres_entrypoint_passes_other_commands(tmp_path):
    r = subprocess.run(["bash", str(POSTGRES_EP), "echo", "plain"], env={"PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout == "plain\n"
