"""State shared by the rewriting passes of one file: findings, refusals, module-level literals, bound names."""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field

from .report import Finding, Refusal
from .tables import MODEL_CLASSES


def k8s(name: str) -> ast.Attribute:
    """``k8s.<name>`` (``from kubernetes.client import models as k8s``)."""
    return ast.Attribute(value=ast.Name(id="k8s", ctx=ast.Load()), attr=name, ctx=ast.Load())


def call(func: ast.expr, **kwargs: ast.expr) -> ast.Call:
    return ast.Call(func=func, args=[], keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs.items()])


def func_name(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return ""


def line(node: ast.AST | None) -> int:
    return int(getattr(node, "lineno", 0) or 0)


_MUTATORS = {"update", "append", "extend", "insert", "pop", "setdefault", "clear", "remove"}


def _module_bindings(module: ast.Module) -> tuple[dict[str, ast.expr], set[str]]:
    """Module-level names assigned exactly once (and never mutated) → value; plus every name bound anywhere."""
    stores: Counter[str] = Counter()
    bound: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            stores[node.id] += 1
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name):
                stores[node.value.id] += 2  # mutated: not a static value any more
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                and node.func.attr in _MUTATORS:
            stores[node.func.value.id] += 2
    values: dict[str, ast.expr] = {}
    for stmt in module.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            if stores[name] == 1:
                values[name] = stmt.value
    return values, bound


@dataclass
class Context:
    module: ast.Module
    findings: list[Finding] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    uses_k8s: bool = False
    uses_pendulum: bool = False
    uses_timedelta: bool = False
    needs_kpo: bool = False
    kpo_1_10: bool = False  # the operator comes from airflow.contrib (1.10 defaults apply)
    # alias in this file → what it stands for: a 1.10 model class ("Volume", …), "days_ago", "KubernetesOperator"
    removed_names: dict[str, str] = field(default_factory=dict)
    # alias → module, for `from airflow.utils import dates`
    module_aliases: dict[str, str] = field(default_factory=dict)
    renames: dict[str, str] = field(default_factory=dict)  # DummyOperator → EmptyOperator
    # module-level names assigned from a converted 1.10 model call: name → class ("Resources", …)
    model_values: dict[str, str] = field(default_factory=dict)
    values: dict[str, ast.expr] = field(default_factory=dict)
    bound: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.values, self.bound = _module_bindings(self.module)

    def note(self, node: ast.AST | None, message: str) -> None:
        self.findings.append(Finding(line(node), message))

    def refuse(self, node: ast.AST | None, message: str) -> None:
        self.refusals.append(Refusal(line(node), message))

    def resolve(self, expr: ast.expr | None) -> ast.expr | None:
        """A literal, or a module-level name assigned once to a literal, → the literal; otherwise None."""
        seen = 0
        while isinstance(expr, ast.Name) and expr.id in self.values and seen < 10:
            expr, seen = self.values[expr.id], seen + 1
        if isinstance(expr, (ast.Dict, ast.List, ast.Tuple, ast.Constant)):
            return expr
        return None

    def resolve_dict(self, expr: ast.expr | None) -> ast.Dict | None:
        value = self.resolve(expr)
        return value if isinstance(value, ast.Dict) else None

    def resolve_strings(self, expr: ast.expr | None) -> list[str] | None:
        """A list/tuple of string constants (literal or module-level name), else None."""
        value = self.resolve(expr)
        if not isinstance(value, (ast.List, ast.Tuple)):
            return None
        out = []
        for elt in value.elts:
            elt_value = self.resolve(elt)
            if not (isinstance(elt_value, ast.Constant) and isinstance(elt_value.value, str)):
                return None
            out.append(elt_value.value)
        return out

    def kind_of(self, node: ast.Call) -> str | None:
        """The 1.10 class or removed function a call targets: imported from a removed module, or never bound
        (the 1.10 docs' snippets use ``Volume(...)`` without importing it)."""
        if isinstance(node.func, ast.Name):
            name = node.func.id
            if name in self.removed_names:
                return self.removed_names[name]
            if name not in self.bound and name in MODEL_CLASSES:
                return name
        if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and node.func.attr == "days_ago" \
                and self.module_aliases.get(node.func.value.id) == "airflow.utils.dates":
            return "days_ago"
        return None
