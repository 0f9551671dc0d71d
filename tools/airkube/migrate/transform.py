"""The syntax-tree pass: dispatches each node to the module that knows its conversion."""

from __future__ import annotations

import ast

from . import airflow3, imports, kpo, models
from .context import Context, func_name
from .tables import LABEL_RENAMES

_DAG_NAMES = {"DAG"}


class Migrator(ast.NodeTransformer):
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # imports
    def visit_ImportFrom(self, node: ast.ImportFrom) -> list[ast.stmt]:
        return imports.import_from(self.ctx, node)

    def visit_Import(self, node: ast.Import) -> ast.Import:
        return imports.import_plain(self.ctx, node)

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id in self.ctx.renames:
            node.id = self.ctx.renames[node.id]
        return node

    # literals
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if isinstance(node.value, str) and node.value in LABEL_RENAMES:
            new = LABEL_RENAMES[node.value]
            self.ctx.note(node, f"label {node.value!r} → {new!r} (the beta label is gone from current nodes)")
            return ast.copy_location(ast.Constant(new), node)
        return airflow3.template(self.ctx, node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.JoinedStr:
        # f-string parts are not rewritten (that could break the f-string); removed template variables are refused
        for part in node.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                airflow3.template(self.ctx, part, rewrite=False)
        self.generic_visit(node)
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.Dict:
        self.generic_visit(node)
        for i, key in enumerate(node.keys):
            if isinstance(key, ast.Constant) and key.value == "matchExpressions" and isinstance(node.values[i], ast.Dict):
                self.ctx.note(node.values[i], "`matchExpressions` must be a list: wrapped the single expression in [...]")
                node.values[i] = ast.List(elts=[node.values[i]], ctx=ast.Load())
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.Subscript:
        self.generic_visit(node)
        return airflow3.context_key(self.ctx, node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        for i, deco in enumerate(node.decorator_list):
            if isinstance(deco, (ast.Name, ast.Attribute)) and (getattr(deco, "id", None) == "dag" or getattr(deco, "attr", None) == "dag"):
                deco = node.decorator_list[i] = ast.copy_location(ast.Call(func=deco, args=[], keywords=[]), deco)
            if isinstance(deco, ast.Call) and func_name(deco) == "dag":
                airflow3.dag_call(self.ctx, deco, decorator=True)
        return node

    # calls
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        ctx = self.ctx
        kind = ctx.kind_of(node)
        if kind in models.CONVERTERS:
            return models.CONVERTERS[kind](ctx, node)
        if kind == "days_ago":
            return airflow3.days_ago(ctx, node)
        name = func_name(node)
        if name in _DAG_NAMES:
            airflow3.dag_call(ctx, node)
            return node
        if name == "KubernetesPodOperator":
            node = kpo.convert(ctx, node)
        if name.endswith(("Operator", "Sensor")):
            airflow3.operator_call(ctx, node)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.Assign:
        self.generic_visit(node)
        if isinstance(node.value, ast.Call) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            attr = node.value.func.attr if isinstance(node.value.func, ast.Attribute) else ""
            if attr == "V1ResourceRequirements":
                self.ctx.model_values[node.targets[0].id] = "Resources"
        return node
