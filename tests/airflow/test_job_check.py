"""charts/airflow/files/job-check.py, the dag-processor/triggerer probe, against Airflow 3.3.2's own code: it must
ask what `airflow jobs check --job-type <T> --local` asks (same table, columns, state, job types, host name,
thresholds) and hand over to that CLI for every setting it does not reproduce."""
from __future__ import annotations

import datetime
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import AIRFLOW_CHART, load_chart_script  # noqa: E402

SCRIPT = AIRFLOW_CHART / "files" / "job-check.py"
URL = "postgresql+psycopg2://airflow:p%40ss@db.ns.svc:5432/airflow?sslmode=require"


@pytest.fixture()
def job_check(monkeypatch, tmp_path):
    return load_chart_script("job-check.py", monkeypatch, tmp_path, URL)


class FakePsycopg2(types.ModuleType):
    """psycopg2 stand-in recording the connection and the query; answers `row`."""

    class Error(Exception):
        pass

    def __init__(self, row, refuse: bool = False):
        super().__init__("psycopg2")
        self.row, self.refuse, self.calls = row, refuse, []

    def connect(self, dsn, **kwargs):
        self.calls.append(("connect", dsn, kwargs))
        if self.refuse:
            raise self.Error("connection refused")
        fake = self

        class Cursor:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def execute(self, sql, params):
                fake.calls.append(("execute", sql, params))

            def fetchone(self):
                return fake.row

        class Conn:
            def cursor(self):
                return Cursor()

            def close(self):
                fake.calls.append(("close",))

        return Conn()


def ago(seconds: float):
    return (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds),)


def test_same_question_as_airflow_jobs_check():
    from airflow.jobs.dag_processor_job_runner import DagProcessorJobRunner
    from airflow.jobs.job import Job, JobState, health_check_threshold
    from airflow.jobs.triggerer_job_runner import TriggererJobRunner

    text = SCRIPT.read_text()
    assert Job.__tablename__ == "job"
    for column in ("state", "job_type", "hostname", "latest_heartbeat"):
        assert column in Job.__table__.columns
    assert JobState.RUNNING.value == "running" and "state = 'running'" in text
    assert {DagProcessorJobRunner.job_type, TriggererJobRunner.job_type} == {"DagProcessorJob", "TriggererJob"}
    # the thresholds it reads are the ones Job.is_alive() uses, with the same default
    assert health_check_threshold("DagProcessorJob", 5) == 30 and health_check_threshold("TriggererJob", 5) == 30
    assert '"dag_processor", "health_check_threshold"' in text
    assert '"triggerer", "triggerer_health_check_threshold"' in text


def test_host_name_is_airflows(job_check):
    from airflow.utils.net import get_hostname

    assert job_check.getfqdn() == get_hostname()


@pytest.mark.parametrize("age, alive", [(3, True), (29, True), (31, False), (600, False)])
def test_heartbeat_age_decides(job_check, monkeypatch, capsys, age, alive):
    fake = FakePsycopg2(ago(age))
    monkeypatch.setitem(sys.modules, "psycopg2", fake)
    if alive:
        assert "Found one alive job" in job_check.check("TriggererJob")
    else:
        with pytest.raises(SystemExit, match="No alive jobs found"):
            job_check.check("TriggererJob")
    # libpq reads the URL itself (percent-decoding, query parameters): only the driver suffix goes
    assert fake.calls[0][1] == "postgresql://airflow:p%40ss@db.ns.svc:5432/airflow?sslmode=require"
    assert fake.calls[0][2]["connect_timeout"] == 10
    _, sql, params = fake.calls[1]
    assert params == ("TriggererJob", job_check.getfqdn())
    assert fake.calls[-1] == ("close",)


def test_no_job_row_fails(job_check, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", FakePsycopg2(None))
    with pytest.raises(SystemExit, match="No alive jobs found"):
        job_check.check("DagProcessorJob")


def test_threshold_from_env_and_cfg(job_check, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", FakePsycopg2(ago(50)))
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__HEALTH_CHECK_THRESHOLD", "60")
    assert "alive" in job_check.check("DagProcessorJob")
    monkeypatch.delenv("AIRFLOW__DAG_PROCESSOR__HEALTH_CHECK_THRESHOLD")
    job_check.cfg_path.write_text("[dag_processor]\nhealth_check_threshold = 40\n")
    with pytest.raises(SystemExit):
        job_check.check("DagProcessorJob")


@pytest.mark.parametrize("setting", [
    {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "mysql+mysqldb://a:b@db/airflow"},
    {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg://a:b@db/airflow"},
    {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": None, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD": "cat /x"},
    {"AIRFLOW__DATABASE__SQL_ALCHEMY_SCHEMA": "airflow"},
    {"AIRFLOW__CORE__HOSTNAME_CALLABLE": "airflow.utils.net.get_host_ip_address"},
])
def test_anything_else_runs_the_cli(job_check, monkeypatch, setting):
    monkeypatch.setitem(sys.modules, "psycopg2", FakePsycopg2(ago(1)))
    for key, value in setting.items():
        if value is None:
            monkeypatch.delenv(key)
        else:
            monkeypatch.setenv(key, value)
    execs = []
    monkeypatch.setattr(job_check.os, "execvp", lambda f, argv: execs.append(argv))
    monkeypatch.setattr(sys, "argv", ["job-check.py", "TriggererJob"])
    job_check.main()
    assert execs == [["airflow", "jobs", "check", "--job-type", "TriggererJob", "--local"]]


def test_failed_connection_runs_the_cli(job_check, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", FakePsycopg2(ago(1), refuse=True))
    execs = []
    monkeypatch.setattr(job_check.os, "execvp", lambda f, argv: execs.append(argv))
    monkeypatch.setattr(sys, "argv", ["job-check.py", "DagProcessorJob"])
    job_check.main()
    assert execs == [["airflow", "jobs", "check", "--job-type", "DagProcessorJob", "--local"]]


def test_without_psycopg2_runs_the_cli(job_check, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # import fails
    execs = []
    monkeypatch.setattr(job_check.os, "execvp", lambda f, argv: execs.append(argv))
    monkeypatch.setattr(sys, "argv", ["job-check.py", "DagProcessorJob"])
    job_check.main()
    assert execs == [["airflow", "jobs", "check", "--job-type", "DagProcessorJob", "--local"]]
