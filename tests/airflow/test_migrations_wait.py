"""charts/airflow/files/migrations-wait.py, the wait-for-migrations / wait-for-database init containers, against
Airflow 3.3.2's own code: it must wait for the heads `airflow db check-migrations` waits for, and hand over to that
CLI for every setting it does not reproduce. (Live: every e2e install runs it; docs/benchmarks.md P3.)"""
from __future__ import annotations

import functools
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import load_chart_script  # noqa: E402

URL = "postgresql+psycopg2://airflow:p%40ss@db.ns.svc:5432/airflow?sslmode=require"


ENV_AT_IMPORT = dict(__import__("os").environ)


@functools.cache
def airflow_says() -> dict:
    """Asked of Airflow itself, in a process of its own (this module's fixtures point AIRFLOW_CONFIG elsewhere)."""
    code = ("import json\n"
            "from airflow.utils.db import _get_alembic_config, _get_script_object\n"
            "from airflow.providers_manager import ProvidersManager\n"
            "print(json.dumps({'heads': sorted(_get_script_object(_get_alembic_config()).get_heads()),\n"
            "                  'db_managers': list(ProvidersManager().db_managers)}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300,
                          env=ENV_AT_IMPORT)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture()
def mw(monkeypatch, tmp_path):
    return load_chart_script("migrations-wait.py", monkeypatch, tmp_path, URL)


def test_heads_are_alembics_heads(mw):
    assert mw.source_heads(mw.airflow_package()) == set(airflow_says()["heads"])


def test_heads_of_a_branched_history(mw, tmp_path):
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "0001_a.py").write_text('revision = "a"\ndown_revision = None\n')
    (versions / "0002_b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    (versions / "0003_c.py").write_text('revision: str = "c"\ndown_revision = "a"\n')
    assert mw.source_heads(tmp_path) == {"b", "c"}
    (versions / "0004_merge.py").write_text('revision = "m"\ndown_revision = ("b", "c")\n')
    assert mw.source_heads(tmp_path) == {"m"}
    (versions / "0005_bad.py").write_text('revision = compute()\n')
    with pytest.raises(mw.Fallback, match="0005_bad.py"):
        mw.source_heads(tmp_path)


def test_provider_db_managers_agree_with_airflow(mw):
    assert bool(mw.provider_db_managers()) == bool(airflow_says()["db_managers"])


@pytest.mark.parametrize(("env", "why"), [
    ({"AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS": "x.y.Manager"}, "external_db_managers"),
    ({"AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"},
     "auth_manager"),
    ({"AIRFLOW__DATABASE__ALEMBIC_INI_FILE_PATH": "/etc/alembic.ini"}, "alembic_ini_file_path"),
    ({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "mysql+mysqldb://a:b@db/airflow"}, "database mysql"),
    ({"AIRFLOW__DATABASE__SQL_ALCHEMY_SCHEMA": "airflow"}, "sql_alchemy_schema"),
    ({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD": "cat /x"}, "_CMD"),
])
def test_what_it_cannot_reproduce_goes_to_the_cli(mw, monkeypatch, env, why):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD" in env:
        monkeypatch.delenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    with pytest.raises(mw.Fallback, match=why):
        mw.check_settings(mw.probe.read_config())


def test_simple_auth_manager_and_plain_postgres_are_reproduced(mw, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER", mw.SIMPLE_AUTH_MANAGER)
    assert mw.check_settings(mw.probe.read_config()) == URL


def test_tcp_check_on_loopback(mw):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert mw.tcp_refusal(f"postgresql://u:p@127.0.0.1:{port}/airflow") is None
    refusal = mw.tcp_refusal(f"postgresql://u:p@127.0.0.1:{port}/airflow")
    assert refusal and f"127.0.0.1:{port}" in refusal
    # what libpq reads beyond one host:port is left to libpq
    assert mw.tcp_refusal("postgresql://u:p@h1:5432,h2:5432/airflow") is None
    assert mw.tcp_refusal("postgresql://u:p@/airflow?host=/var/run/postgresql") is None


class FakePsycopg2:
    """psycopg2 stand-in answering the version table query from a list of states (PostgreSQL does not run in the
    unit-test environment; the e2e installs run the script against the release's own PostgreSQL)."""

    class Error(Exception):
        pass

    class OperationalError(Error):
        pass

    def __init__(self, states):
        self.states = list(states)
        self.connects = []

    def connect(self, dsn, **kwargs):
        self.connects.append((dsn, kwargs))
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        if state is None:
            raise self.OperationalError("connection refused")
        rows = state

        class Cursor:
            result = None

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def execute(self, sql, params=None):
                if "to_regclass" in sql:
                    self.result = [(rows != "no-table",)]
                else:
                    self.result = [(r,) for r in rows]

            def fetchone(self):
                return self.result[0]

            def fetchall(self):
                return self.result

        class Conn:
            def cursor(self):
                return Cursor()

            def close(self):
                pass

        return Conn()


def _run(mw, monkeypatch, states, database_only=False, timeout=60):
    fake = FakePsycopg2(states)
    monkeypatch.setattr(mw.probe, "psycopg2_module", lambda: fake)
    monkeypatch.setattr(mw, "tcp_refusal", lambda url: None)
    heads = mw.source_heads(mw.airflow_package())
    now = [0.0]
    out = mw.wait(timeout, database_only, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    return out, fake, heads, now[0]


def test_waits_through_database_start_and_migration(mw, monkeypatch, capsys):
    heads = airflow_says()["heads"]
    out, fake, _, waited = _run(mw, monkeypatch, [None, None, "no-table", ["old"], heads])
    assert out.startswith("Migrations done after 2.0 s")
    assert len(fake.connects) == 5
    dsn, kwargs = fake.connects[0]
    assert dsn == "postgresql://airflow:p%40ss@db.ns.svc:5432/airflow?sslmode=require"
    assert kwargs["connect_timeout"] == 2
    said = capsys.readouterr().out
    assert "database not reachable: connection refused" in said and "Migration Head(s) in DB: {'old'}" in said


def test_database_only_returns_once_it_answers(mw, monkeypatch):
    out, fake, _, _ = _run(mw, monkeypatch, [None, "no-table"], database_only=True)
    assert out.startswith("Database answers after 0.5 s")


def test_timeout_names_both_heads(mw, monkeypatch):
    with pytest.raises(SystemExit) as exc:
        _run(mw, monkeypatch, [["old"]], timeout=3)
    assert "unapplied migrations after 3 seconds" in str(exc.value) and "{'old'}" in str(exc.value)


def test_usage(mw):
    for argv in ([], ["0"], ["x"], ["--database"], ["--database", "1", "2"]):
        with pytest.raises(SystemExit, match="usage"):
            mw.main(argv)
