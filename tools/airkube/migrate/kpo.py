"""KubernetesPodOperator arguments: 1.10 / old-provider spellings → provider 10.25."""

from __future__ import annotations

import ast

from . import models, shell
from .context import Context, call, k8s
from .tables import KPO_KWARG_RENAMES


def _on_finish(ctx: Context, kw: ast.keyword) -> ast.keyword:
    value = kw.value
    if isinstance(value, ast.Constant):
        word = "delete_pod" if value.value else "keep_pod"
        action: ast.expr = ast.Constant(word)
        ctx.note(value, f"`is_delete_operator_pod={value.value!r}` is accepted and SILENTLY IGNORED by the provider: "
                        f"→ `on_finish_action=\"{word}\"`")
    else:
        action = ast.IfExp(test=value, body=ast.Constant("delete_pod"), orelse=ast.Constant("keep_pod"))
        ctx.note(value, "`is_delete_operator_pod=…` is accepted and SILENTLY IGNORED by the provider: "
                        "→ `on_finish_action=\"delete_pod\" if … else \"keep_pod\"`")
    return ast.keyword(arg="on_finish_action", value=action)


def _env_from(ctx: Context, value: ast.expr, existing: ast.keyword | None) -> ast.expr:
    ctx.uses_k8s = True
    names = ctx.resolve(value)

    def item(n: ast.expr) -> ast.Call:
        return call(k8s("V1EnvFromSource"), config_map_ref=call(k8s("V1ConfigMapEnvSource"), name=n))

    if isinstance(names, (ast.List, ast.Tuple)):
        result: ast.expr = ast.List(elts=[item(e) for e in names.elts], ctx=ast.Load())
    else:
        result = ast.ListComp(
            elt=item(ast.Name(id="name", ctx=ast.Load())),
            generators=[ast.comprehension(target=ast.Name(id="name", ctx=ast.Store()), iter=value, ifs=[], is_async=0)],
        )
    ctx.note(value, "`configmaps=[...]` → `env_from=[k8s.V1EnvFromSource(config_map_ref=...)]`")
    if existing is not None:
        result = ast.BinOp(left=existing.value, op=ast.Add(), right=result)
    return result


def _argv(ctx: Context, node: ast.Call, kws: dict[str, ast.keyword]) -> None:
    """Rewrite ``cmds``/``arguments`` only when the shell would have run the joined command (see :mod:`.shell`)."""
    cmds_kw, args_kw = kws.get("cmds"), kws.get("arguments")
    if cmds_kw is None:
        return
    cmds = ctx.resolve_strings(cmds_kw.value)
    args = ctx.resolve_strings(args_kw.value) if args_kw is not None else []
    if cmds is None or args is None:
        return
    decision = shell.plan(cmds + args, len(cmds))
    if decision.note:
        ctx.note(node, decision.note)
    if decision.action == "refuse":
        ctx.refuse(node, decision.reason)
    if decision.action != "join":
        return
    new = list(decision.argv)
    new_cmds, new_args = (new, []) if len(new) <= len(cmds) else (cmds, new[len(cmds):])

    def lit(words: list[str]) -> ast.List:
        return ast.List(elts=[ast.Constant(w) for w in words], ctx=ast.Load())

    ctx.note(node, f"`arguments={args!r}` with `{' '.join(cmds)}` runs only the first word after -c (the rest "
                   f"become $0, $1 …): → `cmds={new_cmds!r}`, `arguments={new_args!r}` (shlex.join)")
    if new_cmds != cmds:
        cmds_kw.value = lit(new_cmds)
    if args_kw is not None:
        if new_args:
            args_kw.value = lit(new_args)
        else:
            node.keywords.remove(args_kw)


def convert(ctx: Context, node: ast.Call) -> ast.Call:
    ctx.needs_kpo = True
    if node.args:
        ctx.refuse(node, "KubernetesPodOperator(...) with positional arguments: the provider's argument order differs "
                         "from 1.10 (namespace, image, name, …); pass them as keywords")
    kws = {kw.arg: kw for kw in node.keywords if kw.arg}
    _argv(ctx, node, kws)
    new: list[ast.keyword] = []
    for kw in node.keywords:
        if kw.arg == "is_delete_operator_pod":
            if "on_finish_action" not in kws:
                new.append(_on_finish(ctx, kw))
            else:
                ctx.note(kw.value, "dropped `is_delete_operator_pod` (ignored by the provider; on_finish_action is set)")
            continue
        if kw.arg == "configmaps":
            new.append(ast.keyword(arg="env_from", value=_env_from(ctx, kw.value, kws.get("env_from"))))
            continue
        if kw.arg == "env_from" and "configmaps" in kws:
            continue  # merged above
        if kw.arg in KPO_KWARG_RENAMES:
            target = KPO_KWARG_RENAMES[kw.arg]
            if target in kws:
                ctx.refuse(kw.value, f"both `{kw.arg}=` and `{target}=` are set: keep one")
            ctx.note(kw.value, f"`{kw.arg}=` → `{target}=` (the old name is not accepted)")
            kw = ast.keyword(arg=target, value=kw.value)
        if kw.arg == "resources":
            if "container_resources" in kws:
                ctx.refuse(kw.value, "both `resources=` and `container_resources=` are set: keep one")
                continue
            value = models.resources_value(ctx, kw.value)
            if value is None:
                continue
            kw = ast.keyword(arg="container_resources", value=value)
        new.append(kw)
    node.keywords = new
    if ctx.kpo_1_10:
        _keep_1_10_defaults(ctx, node)
    return node


def _keep_1_10_defaults(ctx: Context, node: ast.Call) -> None:
    """Defaults of the 1.10 contrib operator that the provider changed: set them explicitly."""
    names = {kw.arg for kw in node.keywords}
    if None in names:
        return  # **kwargs: cannot tell what is set
    if "on_finish_action" not in names:
        node.keywords.append(ast.keyword(arg="on_finish_action", value=ast.Constant("keep_pod")))
        ctx.note(node, "the 1.10 operator kept finished pods by default (is_delete_operator_pod=False), the provider "
                       "deletes them: → `on_finish_action=\"keep_pod\"`, as before (use \"delete_pod\" to clean up)")
    image = next((kw.value for kw in node.keywords if kw.arg == "image"), None)
    if "image_pull_policy" not in names and isinstance(image, ast.Constant) and isinstance(image.value, str):
        last = image.value.rsplit("/", 1)[-1]
        if "@" not in last and (":" not in last or last.endswith(":latest")):
            node.keywords.append(ast.keyword(arg="image_pull_policy", value=ast.Constant("IfNotPresent")))
            ctx.note(node, f"the 1.10 operator defaulted to image_pull_policy='IfNotPresent'; for {image.value!r} "
                           "Kubernetes would now default to 'Always': → `image_pull_policy=\"IfNotPresent\"`, as before")
