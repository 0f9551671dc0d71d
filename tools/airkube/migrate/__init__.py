"""``airkube migrate-dag``: rewrite Airflow 1.10 / 2.x DAG files (contrib KubernetesPodOperator code in
particular) for Airflow 3.3 and the cncf.kubernetes provider 10.25 — or refuse, naming each line that cannot be
converted faithfully and what to do. Nothing is written unless the whole file converts and the result passes the
self-check (real Airflow import + pod build, ``ruff --select AIR,F821``).

The file is parsed with ``ast`` and written back with ``ast.unparse`` (comments and formatting are not preserved;
a header says so). Modules, one job each:

============  =================================================================================
``tables``    static name/argument mappings (1.10/2.x → 3.3 / provider 10.25)
``parse``     parsing, with the missing-comma repair the 1.10 docs' snippet needs
``context``   per-file state: findings, refusals, module-level literals, removed names
``imports``   moved/removed modules; unused-import removal that never leaves a NameError
``models``    Volume / VolumeMount / Resources / Port / PodRuntimeInfoEnv → kubernetes.client models
``shell``     ``sh -c`` / ``python -c`` argv semantics (join only what the shell would have run)
``kpo``       KubernetesPodOperator arguments
``airflow3``  DAG arguments, days_ago, removed operator arguments and template variables
``selfcheck`` real-Airflow import and ruff on the output
============  =================================================================================
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from airkube.errors import MigrationError
from airkube.fsutil import atomic_write

from . import imports
from .context import Context, func_name
from .parse import parse_with_repairs
from .report import Finding, MigrationRefused, MigrationResult, Refusal, SelfCheckFailed
from .selfcheck import self_check
from .tables import K8S_MODELS, KPO_MODULE, SECRET_MODULE
from .transform import Migrator

__all__ = ["Finding", "MigrationError", "MigrationRefused", "MigrationResult", "Refusal", "SelfCheckFailed",
           "migrate_file", "migrate_source"]

HEADER = (
    "# Migrated by `airkube migrate-dag` for Airflow 3 + apache-airflow-providers-cncf-kubernetes.\n"
    "# Rewritten from the syntax tree: comments and formatting of the original are not preserved.\n"
)


def _has_dag(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and func_name(node) == "DAG":
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.decorator_list:
                target = d.func if isinstance(d, ast.Call) else d
                if (isinstance(target, ast.Name) and target.id == "dag") or (isinstance(target, ast.Attribute) and target.attr == "dag"):
                    return True
    return False


def _add_imports(ctx: Context, tree: ast.Module, dag_id: str) -> None:
    have = imports.bound_names(tree)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    new: list[ast.stmt] = []
    if ctx.uses_k8s and have.get("k8s") != K8S_MODELS:
        if "k8s" in have:
            ctx.refuse(None, "the name `k8s` is already bound to something other than kubernetes.client.models: rename it")
        new.append(ast.ImportFrom(module=K8S_MODELS, names=[ast.alias("models", "k8s")], level=0))
    if ctx.uses_pendulum and "pendulum" not in have:
        new.append(ast.Import(names=[ast.alias("pendulum")]))
    if ctx.uses_timedelta and "timedelta" not in have:
        new.append(ast.ImportFrom(module="datetime", names=[ast.alias("timedelta")], level=0))
    if "Secret" in used and "Secret" not in ctx.bound:
        new.append(ast.ImportFrom(module=SECRET_MODULE, names=[ast.alias("Secret")], level=0))
    if ctx.needs_kpo and "KubernetesPodOperator" not in have:
        new.append(ast.ImportFrom(module=KPO_MODULE, names=[ast.alias("KubernetesPodOperator")], level=0))
    add_dag = ctx.needs_kpo and not _has_dag(tree)
    if add_dag and "DAG" not in have:
        new.append(ast.ImportFrom(module="airflow.sdk", names=[ast.alias("DAG")], level=0))
    imports.insert_after_imports(tree, new)
    if add_dag:
        imports.insert_after_imports(tree, [ast.parse(f"dag = DAG(dag_id={dag_id!r}, schedule=None, catchup=False)").body[0]])
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and func_name(node) == "KubernetesPodOperator" \
                    and not any(k.arg == "dag" for k in node.keywords):
                node.keywords.append(ast.keyword(arg="dag", value=ast.Name(id="dag", ctx=ast.Load())))
        ctx.note(None, f"no DAG in the file: added `dag = DAG(dag_id={dag_id!r}, schedule=None)` "
                       "and `dag=dag` on each operator (an operator outside a DAG never runs)")


def _line_map(tree: ast.Module, text: str) -> dict[int, int]:
    """Output line → line of the original construct it came from (nodes paired by walking both trees)."""
    out: dict[int, int] = {}
    try:
        pairs = list(zip(ast.walk(tree), ast.walk(ast.parse(text)), strict=True))
    except (SyntaxError, ValueError):
        return out
    for orig, new in pairs:
        orig_line, new_line = getattr(orig, "lineno", None), getattr(new, "lineno", None)
        if isinstance(orig_line, int) and isinstance(new_line, int) and orig_line:
            out[new_line] = orig_line  # BFS: deeper nodes come later and win
    return out


def _at(filename: str, back: dict[int, int], out_line: int | None, message: str) -> str:
    if out_line is None:
        return f"{filename}: {message}"
    known = [ln for ln in back if ln <= out_line]
    orig = back[max(known)] if known else 0
    return f"{filename}:{orig}: {message} (line {out_line} of the converted file); fix it in the source or port it by hand"


def migrate_source(source: str, *, dag_id: str = "migrated_dag", filename: str = "<source>",
                   check: bool = False) -> MigrationResult:
    """Rewrite ``source`` or raise :class:`MigrationRefused` (constructs it will not guess at) /
    :class:`SelfCheckFailed` (``check=True`` and the output does not import or ruff flags it)."""
    ctx_findings: list[Finding] = []
    tree = parse_with_repairs(source, ctx_findings)
    ctx = Context(tree, findings=ctx_findings)
    tree = Migrator(ctx).visit(tree)
    imports.check_removed_names(ctx, tree)
    _add_imports(ctx, tree, dag_id)
    if ctx.refusals:
        raise MigrationRefused(ctx.refusals, filename)
    ast.fix_missing_locations(tree)
    text = HEADER + ast.unparse(tree) + "\n"
    compile(text, filename, "exec")
    findings = sorted(ctx.findings, key=lambda f: f.line)
    if check:
        problems, advisories, info = self_check(text, Path(filename).name if filename != "<source>" else f"{dag_id}.py")
        back = _line_map(tree, text)
        if problems:
            raise SelfCheckFailed([_at(filename, back, ln, msg) for ln, msg in problems], filename)
        checks = [f"Airflow deprecation warning: {w}" for w in info.get("warnings", [])]
        checks += [f"style, not an error: {_at(filename, back, ln, msg)}" for ln, msg in advisories]
        checks.append(f"passed: Airflow imported DAG(s) {', '.join(info['dags'])}; {len(info['pods'])} pod(s) built; "
                      "ruff AIR,F821 clean")
        return MigrationResult(source=text, findings=findings, checks=checks)
    return MigrationResult(source=text, findings=findings)


def migrate_file(src: Path, out: Path | None = None, *, dag_id: str | None = None, check: bool = True) -> MigrationResult:
    """Migrate ``src``; write to ``out`` atomically when given, and only when conversion and self-check pass."""
    src = Path(src)
    result = migrate_source(src.read_text(), dag_id=dag_id or re.sub(r"\W", "_", src.stem), filename=str(src), check=check)
    if out is not None:
        atomic_write(Path(out), result.source)
    return result
