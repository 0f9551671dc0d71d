"""Import rewrites (moved and removed Airflow modules), and the imports the rewritten code needs.

A removed import is dropped only when none of its names is used any more; otherwise the use is refused with its
line, so the output never fails with a NameError.
"""

from __future__ import annotations

import ast
from collections import defaultdict

from .context import Context, line
from .tables import (
    DAYS_AGO,
    K8S_MODEL_MODULES,
    MODEL_CLASSES,
    MODULE_MAP,
    NAME_MAP,
    NAME_RENAMES,
    REMOVED_PACKAGES,
)


def import_from(ctx: Context, node: ast.ImportFrom) -> list[ast.stmt]:
    """One ``from M import a, b`` → the import(s) that hold the same names in Airflow 3 (possibly none)."""
    mod = node.module or ""
    if node.level:
        return [node]
    groups: dict[str, list[ast.alias]] = defaultdict(list)
    for alias in node.names:
        bound = alias.asname or alias.name
        if (mod, alias.name) in NAME_MAP:
            new_mod, new_name = NAME_MAP[(mod, alias.name)]
            groups[new_mod].append(ast.alias(new_name, alias.asname if alias.asname or new_name == alias.name else bound))
            ctx.note(node, f"`from {mod} import {alias.name}` → `from {new_mod} import {new_name}`")
        elif mod in MODULE_MAP:
            if mod == "airflow.contrib.operators.kubernetes_pod_operator":
                ctx.kpo_1_10 = True
            new_name = NAME_RENAMES.get(alias.name, alias.name)
            if new_name != alias.name and not alias.asname:
                ctx.renames[alias.name] = new_name
            groups[MODULE_MAP[mod]].append(ast.alias(new_name, alias.asname))
            shown = f" ({alias.name} → {new_name})" if new_name != alias.name else ""
            ctx.note(node, f"`from {mod} import {alias.name}` → `from {MODULE_MAP[mod]} import {new_name}`{shown}")
        elif mod in K8S_MODEL_MODULES and alias.name in K8S_MODEL_MODULES[mod]:
            ctx.removed_names[bound] = alias.name
            ctx.note(node, f"removed `from {mod} import {alias.name}` (gone since Airflow 2): uses → kubernetes.client models")
        elif (mod, alias.name) == DAYS_AGO:
            ctx.removed_names[bound] = "days_ago"
            ctx.note(node, f"removed `from {mod} import days_ago` (gone in Airflow 3)")
        elif mod == "airflow.utils" and alias.name == "dates":
            ctx.module_aliases[bound] = "airflow.utils.dates"
            groups[mod].append(alias)
        elif mod == "airflow.contrib.operators" and alias.name == "KubernetesOperator":
            ctx.removed_names[bound] = "KubernetesOperator"
            ctx.note(node, "removed `from airflow.contrib.operators import KubernetesOperator`: it never existed")
        elif mod.startswith(REMOVED_PACKAGES) or mod in K8S_MODEL_MODULES:
            ctx.refuse(node, f"`from {mod} import {alias.name}`: removed or moved to a provider in Airflow 2/3 and the "
                             "tool has no mapping for it; import its replacement from the matching "
                             "apache-airflow-providers-* package (or airflow.sdk) by hand")
            groups[mod].append(alias)
        else:
            groups[mod].append(alias)
    out: list[ast.stmt] = []
    for new_mod, names in groups.items():
        out.append(ast.copy_location(ast.ImportFrom(module=new_mod, names=names, level=0), node))
    return out


def import_plain(ctx: Context, node: ast.Import) -> ast.Import:
    for alias in node.names:
        if alias.name.startswith(REMOVED_PACKAGES) or alias.name in MODULE_MAP \
                or alias.name == "airflow.utils.dates":
            ctx.refuse(node, f"`import {alias.name}`: removed or moved in Airflow 2/3; use `from <module> import <name>` "
                             "so the tool can map it, or port it by hand")
    return node


def check_removed_names(ctx: Context, tree: ast.Module) -> None:
    """Every name of a dropped import must be gone from the rewritten tree."""
    refused = {r.line for r in ctx.refusals}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            kind = ctx.removed_names.get(node.id)
            if kind is None and node.id not in ctx.bound and node.id in MODEL_CLASSES:
                kind = node.id
            if kind is not None and line(node) not in refused:
                what = "days_ago, removed in Airflow 3" if kind == "days_ago" else f"the removed 1.10 class {kind}"
                fix = "pendulum.today('UTC').add(days=-n)" if kind == "days_ago" else "kubernetes.client models (k8s.V1…)"
                ctx.refuse(node, f"`{node.id}` ({what}) is used here in a way the tool cannot convert (only direct "
                                 f"calls are converted), so its import cannot be removed: replace it with {fix} by hand")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr == "days_ago" \
                and ctx.module_aliases.get(node.value.id) == "airflow.utils.dates":
            ctx.refuse(node, "`dates.days_ago` is used in a way the tool cannot convert: replace it by hand")
    _drop_unused_dates_module(ctx, tree)


def _drop_unused_dates_module(ctx: Context, tree: ast.Module) -> None:
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    for alias_name, mod in ctx.module_aliases.items():
        if mod == "airflow.utils.dates" and alias_name not in used:
            for stmt in list(ast.walk(tree)):
                if isinstance(stmt, ast.ImportFrom) and stmt.module == "airflow.utils":
                    stmt.names = [a for a in stmt.names if (a.asname or a.name) != alias_name]
            ctx.note(None, "removed the now unused `from airflow.utils import dates`")
    _remove_empty_imports(tree)


def _remove_empty_imports(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        for fname in ("body", "orelse", "finalbody"):
            body = getattr(node, fname, None)
            if isinstance(body, list):
                kept = [s for s in body if not (isinstance(s, ast.ImportFrom) and not s.names)]
                if len(kept) != len(body):
                    body[:] = kept or [ast.Pass()]


def bound_names(tree: ast.Module) -> dict[str, str]:
    """Names bound by module-level ``from … import`` → their module."""
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            out.update({(a.asname or a.name): node.module or "" for a in node.names})
        elif isinstance(node, ast.Import):
            out.update({(a.asname or a.name.split(".")[0]): a.name for a in node.names})
    return out


def insert_after_imports(tree: ast.Module, stmts: list[ast.stmt]) -> None:
    idx = 0
    for i, stmt in enumerate(tree.body):
        is_doc = i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
        is_future = isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"
        if is_doc or is_future or (isinstance(stmt, (ast.Import, ast.ImportFrom)) and idx == i):
            idx = i + 1
    tree.body[idx:idx] = stmts
