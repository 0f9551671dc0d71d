"""Airflow 2/3 removals outside the KubernetesPodOperator: DAG arguments, ``days_ago``, operator arguments,
template variables gone from the task context."""

from __future__ import annotations

import ast
import re

from .context import Context
from .tables import (
    DAG_KWARG_RENAMES,
    DAG_KWARGS_REMOVED,
    DAG_KWARGS_UI_ONLY,
    JINJA_BLOCK,
    TEMPLATE_RENAMES,
)

_NO_SCHEDULE = (None, "@once")
OPERATOR_KWARG_RENAMES = {"task_concurrency": "max_active_tis_per_dag"}


def dag_call(ctx: Context, node: ast.Call, *, decorator: bool = False) -> None:
    """``DAG(...)`` / ``@dag(...)``: renamed and removed arguments, and Airflow 3's catchup default."""
    kws = {kw.arg: kw for kw in node.keywords if kw.arg}
    for kw in list(node.keywords):
        if kw.arg in DAG_KWARG_RENAMES:
            target = DAG_KWARG_RENAMES[kw.arg]
            if target in kws:
                ctx.refuse(kw.value, f"both `{kw.arg}=` and `{target}=` are set: keep `{target}=`")
                continue
            ctx.note(kw.value, f"`{kw.arg}=` → `{target}=` (removed in Airflow 3)")
            kw.arg = target
        elif kw.arg in DAG_KWARGS_REMOVED:
            ctx.refuse(kw.value, f"DAG argument `{kw.arg}=` is accepted but never evaluated in Airflow 3 (SLAs are "
                                 "gone): remove it, and port the alert to Deadline Alerts (Airflow >= 3.1) by hand")
        elif kw.arg in DAG_KWARGS_UI_ONLY:
            ctx.note(kw.value, f"dropped DAG argument `{kw.arg}=` (removed in Airflow 3; it only affected the UI)")
            node.keywords.remove(kw)
        elif kw.arg == "default_args":
            default_args(ctx, kw.value)
    if any(kw.arg is None for kw in node.keywords):
        return  # **kwargs: can't tell whether catchup is set
    if len(node.args) > 1:
        ctx.refuse(node, "DAG(...) with positional arguments after dag_id: their order changed in Airflow 3; use "
                         "keywords (description=, schedule=, …)")
        return
    names = {kw.arg for kw in node.keywords}
    schedule = next((kw.value for kw in node.keywords if kw.arg == "schedule"), None)
    if schedule is None:
        ctx.uses_timedelta = True
        node.keywords.append(ast.keyword(arg="schedule", value=ast.Call(
            func=ast.Name(id="timedelta", ctx=ast.Load()), args=[], keywords=[ast.keyword(arg="days", value=ast.Constant(1))])))
        ctx.note(node, "no schedule: Airflow 1.10/2.x defaulted to `timedelta(days=1)`, Airflow 3 to None (never "
                       "runs): → `schedule=timedelta(days=1)`, as before")
    unscheduled = isinstance(schedule, ast.Constant) and schedule.value in _NO_SCHEDULE
    if "catchup" not in names and not unscheduled:
        node.keywords.append(ast.keyword(arg="catchup", value=ast.Constant(True)))
        ctx.note(node, "no `catchup=`: Airflow 1.10/2.x defaulted to catchup=True, Airflow 3 to False: → `catchup=True` "
                       "(the old behaviour; set False if you do not want backfills)")


def default_args(ctx: Context, value: ast.expr) -> None:
    d = ctx.resolve_dict(value)
    if d is None:
        return
    for key in list(d.keys):
        if isinstance(key, ast.Constant) and key.value == "provide_context":
            ctx.note(key, "dropped `provide_context` from default_args (removed in Airflow 2: the context is always "
                          "passed to callables that take **kwargs or named context keys)")
            idx = d.keys.index(key)
            del d.keys[idx], d.values[idx]
        elif isinstance(key, ast.Constant) and key.value in OPERATOR_KWARG_RENAMES:
            ctx.note(key, f"default_args {key.value!r} → {OPERATOR_KWARG_RENAMES[key.value]!r}")
            key.value = OPERATOR_KWARG_RENAMES[key.value]
        elif isinstance(key, ast.Constant) and key.value == "sla":
            ctx.refuse(key, "default_args 'sla' is accepted but never evaluated in Airflow 3: remove it, and port the "
                            "alert to Deadline Alerts (Airflow >= 3.1) by hand")


def operator_call(ctx: Context, node: ast.Call) -> None:
    """Any ``…Operator(...)`` / ``…Sensor(...)``: arguments removed in Airflow 2/3."""
    for kw in list(node.keywords):
        if kw.arg == "provide_context":
            ctx.note(kw.value, "dropped `provide_context=` (removed in Airflow 2: the context is always passed to "
                               "callables that take **kwargs or named context keys)")
            node.keywords.remove(kw)
        elif kw.arg in OPERATOR_KWARG_RENAMES:
            ctx.note(kw.value, f"`{kw.arg}=` → `{OPERATOR_KWARG_RENAMES[kw.arg]}=`")
            kw.arg = OPERATOR_KWARG_RENAMES[kw.arg]
        elif kw.arg == "sla":
            ctx.refuse(kw.value, "`sla=` is accepted but never evaluated in Airflow 3: remove it, and port the alert "
                                 "to Deadline Alerts (Airflow >= 3.1) by hand")
        elif kw.arg == "python_callable" and isinstance(kw.value, ast.Name):
            _callable_params(ctx, kw.value.id)


def _callable_params(ctx: Context, name: str) -> None:
    for stmt in ctx.module.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
            for arg in [*stmt.args.posonlyargs, *stmt.args.args, *stmt.args.kwonlyargs]:
                if arg.arg in TEMPLATE_RENAMES:
                    new = TEMPLATE_RENAMES[arg.arg]
                    hint = f"rename it to `{new}`" if new else "compute it from `data_interval_start`/`data_interval_end`"
                    ctx.refuse(arg, f"callable `{name}` takes `{arg.arg}`, which Airflow 3 no longer passes: {hint}")


def days_ago(ctx: Context, node: ast.Call) -> ast.expr:
    """``days_ago(n, hour=…)`` = midnight UTC today (time fields replaced) minus n days."""
    if len(node.args) != 1 or any(kw.arg not in ("hour", "minute", "second", "microsecond") for kw in node.keywords):
        ctx.refuse(node, "days_ago(...) with arguments other than (n, hour=, minute=, second=, microsecond=): "
                         "replace it with a fixed pendulum.datetime(...) by hand")
        return node
    ctx.uses_pendulum = True
    today = ast.Call(
        func=ast.Attribute(value=ast.Name(id="pendulum", ctx=ast.Load()), attr="today", ctx=ast.Load()),
        args=[ast.Constant("UTC")], keywords=[])
    expr: ast.expr = ast.Call(func=ast.Attribute(value=today, attr="add", ctx=ast.Load()), args=[],
                              keywords=[ast.keyword(arg="days", value=ast.UnaryOp(op=ast.USub(), operand=node.args[0]))])
    if node.keywords:
        expr = ast.Call(func=ast.Attribute(value=expr, attr="replace", ctx=ast.Load()), args=[], keywords=node.keywords)
    ctx.note(node, "days_ago(...) (removed in Airflow 3) → pendulum.today('UTC').add(days=-n) (same value; a fixed "
                   "start_date is better practice)")
    return ast.copy_location(expr, node)


def template(ctx: Context, node: ast.Constant, *, rewrite: bool = True) -> ast.Constant:
    """Jinja blocks in string literals: context variables removed in Airflow 3 (``rewrite=False``: refuse them)."""
    if not isinstance(node.value, str) or "{" not in node.value:
        return node
    text = node.value

    def fix(block: re.Match[str]) -> str:
        out = block.group(0)
        for old, new in TEMPLATE_RENAMES.items():
            if re.search(rf"\b{old}\b", out):
                if new is None or not rewrite:
                    hint = f"use `{new}`" if new else ("rewrite it with `data_interval_start`/`data_interval_end` or "
                                                       "`prev_data_interval_start_success`")
                    ctx.refuse(node, f"template variable `{old}` was removed in Airflow 3: {hint}")
                else:
                    out = re.sub(rf"\b{old}\b", new, out)
                    ctx.note(node, f"template variable `{old}` → `{new}` (removed in Airflow 3)")
        return out

    new_text = JINJA_BLOCK.sub(fix, text)
    return ast.copy_location(ast.Constant(new_text), node) if new_text != text else node


def context_key(ctx: Context, node: ast.Subscript) -> ast.Subscript:
    """``context["execution_date"]`` / ``kwargs["execution_date"]``."""
    key = node.slice
    if isinstance(node.value, ast.Name) and node.value.id in ("context", "kwargs", "ctx") and isinstance(key, ast.Constant) \
            and isinstance(key.value, str) and key.value in TEMPLATE_RENAMES:
        new = TEMPLATE_RENAMES[key.value]
        if new is None:
            ctx.refuse(node, f"context key {key.value!r} was removed in Airflow 3: use data_interval_start/_end")
        else:
            ctx.note(node, f"context key {key.value!r} → {new!r} (removed in Airflow 3)")
            node.slice = ast.Constant(new)
    return node
