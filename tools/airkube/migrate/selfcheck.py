"""Self-check of a converted file: import it with the real Airflow (a DagBag in a subprocess, each
KubernetesPodOperator's pod built with ``dry_run=True``) and run ruff's Airflow rules (``AIR``, ``F821``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RUFF_RULES = "AIR,F821"
# style only (a task variable named unlike its task_id): reported, not a failure
RUFF_ADVISORY = {"AIR001"}

_PROBE = r'''
import json, sys, warnings
warnings.simplefilter("default")
from airflow.dag_processing.dagbag import DagBag
path = sys.argv[1]
bag = DagBag(dag_folder=path)
out = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": sorted(bag.dags), "pods": [],
       "warnings": [str(w) for ws in bag.captured_warnings.values() for w in ws]}
for dag_id, dag in bag.dags.items():
    for task in dag.tasks:
        if hasattr(task, "build_pod_request_obj"):
            try:
                task.build_pod_request_obj(dry_run=True)
                out["pods"].append(f"{dag_id}.{task.task_id}")
            except Exception as exc:  # noqa: BLE001 - reported to the user
                out["import_errors"][f"{dag_id}.{task.task_id}"] = f"building the pod failed: {type(exc).__name__}: {exc}"
print("AIRKUBE-PROBE " + json.dumps(out))
'''


def _ruff() -> list[str] | None:
    here = Path(sys.executable).parent / "ruff"
    if here.exists():
        return [str(here)]
    found = shutil.which("ruff")
    return [found] if found else None


Problem = tuple[int | None, str]  # (line in the checked file or None, message)


def ruff_check(path: Path) -> tuple[list[Problem], list[Problem]]:
    """ruff's Airflow rules and undefined names on ``path``: (problems, advisories)."""
    ruff = _ruff()
    if ruff is None:
        return [(None, "ruff is not installed (pip install ruff==0.17.5), so the output cannot be checked")], []
    proc = subprocess.run(
        [*ruff, "check", "--isolated", "--no-cache", "--select", RUFF_RULES, "--output-format", "json",
         str(path)],
        check=False, capture_output=True, text=True, timeout=120,
    )
    if proc.returncode not in (0, 1):
        return [(None, f"ruff failed: {proc.stderr.strip()}")], []
    problems: list[Problem] = []
    advisories: list[Problem] = []
    for d in json.loads(proc.stdout or "[]"):
        item = (int(d["location"]["row"]), f"ruff {d['code']} {d['message']}")
        (advisories if d["code"] in RUFF_ADVISORY else problems).append(item)
    return problems, advisories


def import_check(path: Path, timeout: float = 180) -> tuple[list[Problem], dict[str, list[str]]]:
    """Import ``path`` with Airflow in a fresh interpreter: (problems, {"dags": …, "pods": …, "warnings": …})."""
    with tempfile.TemporaryDirectory(prefix="airkube-migrate-home-") as home:
        env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW__CORE__UNIT_TEST_MODE": "False", "PYTHONWARNINGS": "ignore",
               "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACK_DEPTH": "100"}
        try:
            proc = subprocess.run([sys.executable, "-c", _PROBE, str(path)], check=False, capture_output=True, text=True,
                                  timeout=timeout, env=env, cwd=home)
        except subprocess.TimeoutExpired:
            return [(None, f"importing the converted file with Airflow took longer than {timeout:.0f} s")], {}
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("AIRKUBE-PROBE ")), None)
    if line is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return [(None, "could not import Airflow to check the output (is apache-airflow installed here?): "
                 + " / ".join(tail))], {}
    data = json.loads(line.removeprefix("AIRKUBE-PROBE "))
    problems: list[Problem] = []
    for err in data["import_errors"].values():
        rows = re.findall(rf'File "{re.escape(str(path))}", line (\d+)', err)
        last = [ln.strip() for ln in err.strip().splitlines() if ln.strip() and not ln.startswith(" ")][-2:]
        problems.append((int(rows[-1]) if rows else None, f"Airflow import: {' / '.join(last)}"))
    if not data["dags"] and not problems:
        problems.append((None, "Airflow found no DAG in the converted file"))
    return problems, {"dags": data["dags"], "pods": data["pods"], "warnings": data["warnings"]}


def self_check(source: str, name: str = "migrated_dag.py") -> tuple[list[Problem], list[Problem], dict[str, list[str]]]:
    """Both checks on ``source`` written to a temporary file named ``name``."""
    with tempfile.TemporaryDirectory(prefix="airkube-migrate-") as tmp:
        path = Path(tmp) / name
        path.write_text(source)
        ruff_problems, advisories = ruff_check(path)
        import_problems, info = import_check(path)
    return ruff_problems + import_problems, advisories, info
