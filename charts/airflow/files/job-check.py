"""Liveness/startup probe of the dag-processor and the triggerer: `airflow jobs check --job-type <T> --local`
without starting Airflow.

The same check as the CLI: a job row of this type, in state `running`, recorded with this pod's host name
(Airflow's default `[core] hostname_callable`), whose latest heartbeat is younger than the component's
health-check threshold (`[dag_processor] health_check_threshold`, `[triggerer]
triggerer_health_check_threshold`; Airflow's default 30 s). A dead or stalled job stops heartbeating, so the
probe fails (exit 1). It imports only the standard library and psycopg2 (~0.1 CPU-s instead of the CLI's
seconds). Anything it cannot reproduce exactly (a database other than PostgreSQL through psycopg2, `_cmd`/`_secret`
connection settings, connect args, a schema, another hostname_callable) and a failed connection run the Airflow
CLI instead, which then decides.

usage: python job-check.py DagProcessorJob|TriggererJob
"""

from __future__ import annotations

import configparser
import datetime
import os
import socket
import sys

THRESHOLD = {
    "DagProcessorJob": ("dag_processor", "health_check_threshold"),
    "TriggererJob": ("triggerer", "triggerer_health_check_threshold"),
}
DEFAULT_HOSTNAME_CALLABLE = ("airflow.utils.net.getfqdn", "airflow.utils.net:getfqdn")


class Fallback(Exception):
    """A setting this probe does not reproduce: run the Airflow CLI."""


def option(cfg: configparser.ConfigParser, section: str, key: str) -> str | None:
    """Airflow's precedence for what this probe reads: env var, then airflow.cfg (`_cmd`/`_secret`: fallback)."""
    env = f"AIRFLOW__{section.upper()}__{key.upper()}"
    if env in os.environ:
        return os.environ[env]
    if os.environ.get(f"{env}_CMD") or os.environ.get(f"{env}_SECRET"):
        raise Fallback(f"{env}_CMD/_SECRET")
    if cfg.has_option(section, f"{key}_cmd") or cfg.has_option(section, f"{key}_secret"):
        raise Fallback(f"[{section}] {key}_cmd/_secret")
    return cfg.get(section, key, fallback=None)


def getfqdn() -> str:
    """airflow.utils.net.getfqdn() of Airflow 3.3."""
    name = socket.gethostname()
    try:
        addrs = socket.getaddrinfo(name, None, 0, socket.SOCK_DGRAM, 0, socket.AI_CANONNAME)
    except OSError:
        return name
    for addr in addrs:
        if addr[3]:
            return addr[3]
    return name


def dsn(url: str) -> str:
    """libpq reads SQLAlchemy's PostgreSQL URL itself once the driver suffix is gone (percent-decoding included)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres", "postgresql+psycopg2"):
        raise Fallback(f"database {scheme}")
    return f"postgresql://{rest}"


def psycopg2_module():  # noqa: ANN201 - the driver module
    try:
        import psycopg2
    except ImportError as exc:
        raise Fallback("psycopg2 not installed") from exc
    return psycopg2


def connect(url: str, application_name: str = "airkube-job-check"):  # noqa: ANN201 - a DB-API connection
    psycopg2 = psycopg2_module()
    try:
        return psycopg2.connect(dsn(url), connect_timeout=10, application_name=application_name)
    except psycopg2.Error as exc:  # unreachable, or a URL libpq reads differently: the CLI decides
        raise Fallback(f"connect: {str(exc).strip()}") from exc


def read_config() -> configparser.ConfigParser:
    """airflow.cfg of this pod ($AIRFLOW_CONFIG, else $AIRFLOW_HOME/airflow.cfg), read as Airflow reads it."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(os.environ.get("AIRFLOW_CONFIG") or os.path.join(os.environ.get("AIRFLOW_HOME", "/opt/airflow"), "airflow.cfg"))
    return cfg


def database_url(cfg: configparser.ConfigParser) -> str:
    """[database] sql_alchemy_conn, when nothing else of the [database] section changes how Airflow connects."""
    for key in ("sql_alchemy_schema", "sql_alchemy_connect_args"):
        if option(cfg, "database", key):
            raise Fallback(f"[database] {key}")
    url = option(cfg, "database", "sql_alchemy_conn")
    if not url:
        raise Fallback("no [database] sql_alchemy_conn")
    return url


def check(job_type: str) -> str:
    cfg = read_config()
    if (option(cfg, "core", "hostname_callable") or DEFAULT_HOSTNAME_CALLABLE[0]) not in DEFAULT_HOSTNAME_CALLABLE:
        raise Fallback("[core] hostname_callable")
    url = database_url(cfg)
    section, key = THRESHOLD[job_type]
    threshold = float(option(cfg, section, key) or 30)
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT latest_heartbeat FROM job WHERE state = 'running' AND job_type = %s AND hostname = %s "
                "ORDER BY latest_heartbeat DESC LIMIT 1",
                (job_type, getfqdn()),
            )
            row = cur.fetchone()
    finally:
        conn.close()
    if row is None or row[0] is None:
        sys.exit(f"No alive jobs found: no running {job_type} of host {getfqdn()}.")
    beat = row[0] if row[0].tzinfo else row[0].replace(tzinfo=datetime.timezone.utc)
    age = (datetime.datetime.now(datetime.timezone.utc) - beat).total_seconds()
    if age >= threshold:
        sys.exit(f"No alive jobs found: last {job_type} heartbeat {age:.0f} s ago (threshold {threshold:g} s).")
    return f"Found one alive job (heartbeat {age:.1f} s ago)."


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in THRESHOLD:
        sys.exit(f"usage: job-check.py {'|'.join(THRESHOLD)}")
    job_type = sys.argv[1]
    try:
        print(check(job_type))
    except Fallback as why:
        print(f"job-check: {why}: running the Airflow CLI", file=sys.stderr, flush=True)
        os.execvp("airflow", ["airflow", "jobs", "check", "--job-type", job_type, "--local"])


if __name__ == "__main__":
    main()
