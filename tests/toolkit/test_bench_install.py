"""P3's first smoke task (`airkube bench -f values/local.yaml`): the DAG it pushes and triggers is the smoke DAG with
that task; live in `make bench` (docs/benchmarks.md, P3)."""

from __future__ import annotations

import ast

from airkube.bench.install import FIRST_TASK_DAG, FIRST_TASK_DAG_ID, FIRST_TASK_ID


def test_first_task_dag_is_the_smoke_dag_with_that_task() -> None:
    text = FIRST_TASK_DAG.read_text()
    assert f'DAG_ID = "{FIRST_TASK_DAG_ID}"' in text
    assert FIRST_TASK_ID in {f.name for f in ast.walk(ast.parse(text)) if isinstance(f, ast.FunctionDef)}
