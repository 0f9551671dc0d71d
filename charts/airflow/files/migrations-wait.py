"""Init container `wait-for-migrations`: wait until the database schema is at the Alembic heads of this image's
Airflow, like `airflow db check-migrations --migration-wait-timeout=<T>`, without starting Airflow.

The CLI imports Airflow (~3 CPU-s and ~150 MB per pod) while the migration Job needs the CPU; this script reads the
heads from Airflow's migration files (`revision`/`down_revision`, parsed, never imported) and polls the
`alembic_version` table twice a second with psycopg2. It also keeps waiting while the database does not answer yet
(the CLI exits and the pod restarts with a back-off). Anything it cannot reproduce exactly hands over to the CLI,
which then decides: what files/job-check.py hands over for (a database other than PostgreSQL through psycopg2,
`_cmd`/`_secret` settings, a schema, connect args), an external DB manager (`[database] external_db_managers`, an
auth manager other than the simple one, a provider declaring `db-managers`), an `alembic_ini_file_path` of its own,
or migration files it cannot read.

With `--database` it only waits until the database answers (the migration Job's init container, in place of the
image entrypoint's `airflow db check` every 3 s). The containers it guards run with CONNECTION_CHECK_MAX_COUNT=0; when
it hands over to the CLI, it first waits for the database as the entrypoint would have.

usage: python migrations-wait.py [--database] TIMEOUT_SECONDS
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

_spec = importlib.util.spec_from_file_location("airkube_job_check", Path(__file__).with_name("job-check.py"))
assert _spec is not None and _spec.loader is not None
probe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(probe)
Fallback = probe.Fallback

SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
POLL_SECONDS = 0.5


def airflow_package() -> Path:
    """The installed `airflow` package's folder (found, not imported)."""
    spec = importlib.util.find_spec("airflow")
    if spec is None or not spec.submodule_search_locations:
        raise Fallback("airflow package not found")
    for location in spec.submodule_search_locations:
        if (Path(location) / "migrations" / "versions").is_dir():
            return Path(location)
    raise Fallback("no migrations/versions in the airflow package")


def _assigned(tree: ast.Module, name: str) -> tuple[bool, object]:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        value = getattr(node, "value", None)
        if value is not None and any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True, ast.literal_eval(value)
    return False, None


def source_heads(package: Path) -> set[str]:
    """Alembic's heads of the migration scripts: the revisions no other revision names as its down_revision."""
    versions = package / "migrations" / "versions"
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        if path.name == "__init__.py":
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            found, revision = _assigned(tree, "revision")
            _, down = _assigned(tree, "down_revision")
        except (OSError, SyntaxError, ValueError) as exc:
            raise Fallback(f"migration file {path.name}: {exc}") from exc
        if not found or not isinstance(revision, str):
            raise Fallback(f"migration file {path.name}: no revision")
        revisions.add(revision)
        downs = down if isinstance(down, (tuple, list)) else () if down is None else (down,)
        parents.update(str(d) for d in downs)
    heads = revisions - parents
    if not heads:
        raise Fallback(f"no migration scripts in {versions}")
    return heads


def provider_db_managers() -> list[str]:
    """Providers whose get_provider_info declares `db-managers` (read as text, not imported)."""
    found = []
    for ep in importlib.metadata.entry_points(group="apache_airflow_provider"):
        if ep.dist is None:
            raise Fallback(f"provider entry point {ep.value}: no distribution")
        path = Path(str(ep.dist.locate_file(ep.module.replace(".", "/") + ".py")))
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise Fallback(f"provider {ep.dist.name}: {exc}") from exc
        if "db-managers" in text:
            found.append(ep.dist.name)
    return found


def check_settings(cfg: object) -> str:
    """The database URL, once nothing but Airflow's own alembic_version decides (else Fallback)."""
    url = probe.database_url(cfg)
    probe.dsn(url)
    if probe.option(cfg, "database", "external_db_managers"):
        raise Fallback("[database] external_db_managers")
    auth_manager = probe.option(cfg, "core", "auth_manager") or SIMPLE_AUTH_MANAGER
    if auth_manager != SIMPLE_AUTH_MANAGER:
        raise Fallback(f"[core] auth_manager {auth_manager}")
    if os.path.isabs(probe.option(cfg, "database", "alembic_ini_file_path") or "alembic.ini"):
        raise Fallback("[database] alembic_ini_file_path")
    managers = provider_db_managers()
    if managers:
        raise Fallback(f"db-managers of {', '.join(managers)}")
    return url


def tcp_refusal(url: str) -> str | None:
    """Why a TCP connection to the database's one host:port fails within 0.5 s (None: it connects, or the URL names
    no single TCP host). While the database's Service has no ready endpoint, libpq spends its least connect_timeout
    (2 s) or ~3 s for "No route to host"; this check keeps each poll short."""
    parts = urllib.parse.urlsplit(probe.dsn(url))
    query = urllib.parse.parse_qs(parts.query)
    if "host" in query or "hostaddr" in query or "," in parts.netloc:
        return None
    try:
        host, port = parts.hostname, parts.port or 5432
    except ValueError:
        return None
    if not host:
        return None
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"
    return None


def database_heads(psycopg2: object, url: str) -> set[str] | str:
    """The revisions in alembic_version (empty: no table yet), or why the database does not answer yet."""
    refusal = tcp_refusal(url)
    if refusal:
        return refusal
    try:
        # a poll never hangs for long: 2 s to connect (libpq's least), 2 s for unacknowledged data (tcp_user_timeout)
        conn = psycopg2.connect(probe.dsn(url), connect_timeout=2, tcp_user_timeout=2000,
                                application_name="airkube-migrations-wait")
    except psycopg2.OperationalError as exc:  # not up yet (or refusing us: the timeout message says why)
        return str(exc).strip() or type(exc).__name__
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
            if not cur.fetchone()[0]:
                return set()
            cur.execute("SELECT version_num FROM alembic_version")
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def wait(timeout: int, database_only: bool = False, clock=time.monotonic, sleep=time.sleep) -> str:
    """Poll every POLL_SECONDS until the schema is at the source heads (``database_only``: until the database answers)."""
    cfg = probe.read_config()
    if database_only:
        url = probe.database_url(cfg)
        probe.dsn(url)
        heads: set[str] = set()
    else:
        url = check_settings(cfg)
        heads = source_heads(airflow_package())
    psycopg2 = probe.psycopg2_module()
    start = clock()
    last_said = ("", -60.0)
    while True:
        try:
            db_heads = database_heads(psycopg2, url)
        except psycopg2.Error as exc:
            raise Fallback(f"query: {str(exc).strip()}") from exc
        waited = clock() - start
        if database_only and not isinstance(db_heads, str):
            return f"Database answers after {waited:.1f} s."
        if db_heads == heads:
            return f"Migrations done after {waited:.1f} s: database at {', '.join(sorted(heads))}."
        state = (f"database not reachable: {' '.join(db_heads.split())}" if isinstance(db_heads, str)
                 else f"Migration Head(s) in DB: {db_heads}")
        if waited >= timeout:
            what = "The database did not answer" if database_only else "There are still unapplied migrations"
            sys.exit(f"{what} after {timeout} seconds. {state} | Migration Head(s) in Source Code: {heads or '-'}")
        if state != last_said[0] or waited - last_said[1] >= 10:  # each change at once, else every 10 s
            print(f"Waiting for {'the database' if database_only else 'migrations'}... {waited:.0f} second(s); "
                  f"{state}", flush=True)
            last_said = (state, waited)
        sleep(POLL_SECONDS)


def cli_wait_database(timeout: int, clock=time.monotonic, sleep=time.sleep) -> None:
    """The image entrypoint's database wait (`airflow db check` every 3 s), which the chart turns off
    (CONNECTION_CHECK_MAX_COUNT=0) where this script runs."""
    start = clock()
    while subprocess.run(["airflow", "db", "check"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        if clock() - start >= timeout:
            sys.exit(subprocess.run(["airflow", "db", "check"]).returncode or 1)
        print(f"Waiting for the metadata database ({clock() - start:.0f} s)", file=sys.stderr, flush=True)
        sleep(3)


def main(argv: list[str]) -> None:
    database_only = argv[:1] == ["--database"]
    args = argv[1:] if database_only else argv
    if len(args) != 1 or not args[0].isdigit() or int(args[0]) < 1:
        sys.exit("usage: migrations-wait.py [--database] TIMEOUT_SECONDS")
    timeout = int(args[0])
    try:
        print(wait(timeout, database_only), flush=True)
    except Fallback as why:
        print(f"migrations-wait: {why}: running the Airflow CLI", file=sys.stderr, flush=True)
        cli_wait_database(timeout)
        if not database_only:
            os.execvp("airflow", ["airflow", "db", "check-migrations", f"--migration-wait-timeout={timeout}"])


if __name__ == "__main__":
    main(sys.argv[1:])
