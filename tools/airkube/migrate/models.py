"""The removed 1.10 model classes → kubernetes.client models, and dict literals → typed model calls.

Field names are checked against the kubernetes client's own ``attribute_map``/``openapi_types``, so a typo or a
source the client does not know is refused instead of dropped.
"""

from __future__ import annotations

import ast
import importlib
import re
from typing import Any

from .context import Context, call, k8s
from .tables import RESOURCE_KEYS

k8s_models: Any = importlib.import_module("kubernetes.client.models")  # untyped package: attribute maps read at run time


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _model_type(type_str: str) -> tuple[str, bool] | None:
    """'V1KeyToPath' → ('V1KeyToPath', False); 'list[V1KeyToPath]' → (…, True); plain types → None."""
    m = re.fullmatch(r"(list\[)?(V\d\w+|Core\w+)(\])?", type_str)
    if not m or not hasattr(k8s_models, m.group(2)):
        return None
    return m.group(2), bool(m.group(1))


def dict_to_model(ctx: Context, cls: str, node: ast.Dict, where: ast.AST, what: str) -> ast.Call | None:
    """``{"claimName": "x"}`` as ``k8s.<cls>(claim_name="x")``; None (and a refusal) on unknown or dynamic keys."""
    model = getattr(k8s_models, cls)
    json_to_py = {v: k for k, v in model.attribute_map.items()}
    kwargs: dict[str, ast.expr] = {}
    for key, value in zip(node.keys, node.values):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            ctx.refuse(where, f"{what}: a key that is not a string literal (or `**`) cannot be read statically: "
                              f"write it as k8s.{cls}(...) by hand")
            return None
        py = json_to_py.get(key.value) or (key.value if key.value in model.attribute_map else None)
        if py is None:
            py = _snake(key.value) if _snake(key.value) in model.attribute_map else None
        if py is None:
            known = ", ".join(sorted(model.attribute_map.values()))
            ctx.refuse(where, f"{what}: {key.value!r} is not a field of {cls} (known: {known}): fix the key")
            return None
        sub = _model_type(model.openapi_types[py])
        converted: ast.expr | None = value
        if sub is not None:
            sub_cls, is_list = sub
            resolved = ctx.resolve(value)
            if is_list and isinstance(resolved, (ast.List, ast.Tuple)):
                elts = []
                for elt in resolved.elts:
                    d = ctx.resolve_dict(elt)
                    item = dict_to_model(ctx, sub_cls, d, where, f"{what}.{key.value}[]") if d is not None else elt
                    if item is None:
                        return None
                    elts.append(item)
                converted = ast.List(elts=elts, ctx=ast.Load())
            elif not is_list and isinstance(resolved, ast.Dict):
                converted = dict_to_model(ctx, sub_cls, resolved, where, f"{what}.{key.value}")
            elif resolved is None and not isinstance(value, ast.Call):
                ctx.refuse(where, f"{what}.{key.value} cannot be read statically: write k8s.{sub_cls}(...) by hand")
                return None
        if converted is None:
            return None
        kwargs[py] = converted
    ctx.uses_k8s = True
    return call(k8s(cls), **kwargs)


def _kwargs(node: ast.Call, order: list[str], ctx: Context, what: str, max_positional: int | None = None) -> dict[str, ast.expr] | None:
    limit = len(order) if max_positional is None else max_positional
    if len(node.args) > limit or any(isinstance(a, ast.Starred) for a in node.args):
        ctx.refuse(node, f"{what}(...) with more than {limit} positional argument(s) or *args: its argument order "
                         f"changed between 1.10 releases; use keywords ({', '.join(order)})")
        return None
    if any(kw.arg is None for kw in node.keywords):
        ctx.refuse(node, f"{what}(**...) cannot be read statically: use explicit keywords")
        return None
    out = {order[i]: a for i, a in enumerate(node.args)}
    for kw in node.keywords:
        assert kw.arg is not None
        if kw.arg not in order:
            ctx.refuse(node, f"{what}(...) has no argument {kw.arg!r} (known: {', '.join(order)})")
            return None
        out[kw.arg] = kw.value
    return out


def volume_mount(ctx: Context, node: ast.Call) -> ast.expr:
    kw = _kwargs(node, ["name", "mount_path", "sub_path", "read_only"], ctx, "VolumeMount")
    if kw is None:
        return node
    ctx.uses_k8s = True
    ctx.note(node, "VolumeMount(...) → k8s.V1VolumeMount(...)")
    return ast.copy_location(call(k8s("V1VolumeMount"), **kw), node)


def volume(ctx: Context, node: ast.Call) -> ast.expr:
    kw = _kwargs(node, ["name", "configs"], ctx, "Volume")
    if kw is None:
        return node
    if "name" not in kw:
        ctx.refuse(node, "Volume(...) without a name: add name=...")
        return node
    configs = ctx.resolve_dict(kw.get("configs"))
    if configs is None:
        ctx.refuse(node, "Volume(configs=...) cannot be read statically (not a dict literal or a module-level name "
                         "assigned once to one); a volume without a source would silently become an emptyDir: "
                         "write k8s.V1Volume(name=..., persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource"
                         "(claim_name=...)) (or the source you mean) by hand")
        return node
    full = ast.Dict(keys=[ast.Constant("name"), *configs.keys], values=[kw["name"], *configs.values])
    converted = dict_to_model(ctx, "V1Volume", full, node, "Volume configs")
    if converted is None:
        return node
    sources = [k for k in converted.keywords if k.arg != "name"]
    if not sources:
        ctx.refuse(node, "Volume(configs={}) has no source; Kubernetes would make it an emptyDir: name the source "
                         "(persistentVolumeClaim, configMap, secret, hostPath, emptyDir, …)")
        return node
    ctx.note(node, "Volume(name, configs={...}) → k8s.V1Volume(...) (dicts are rejected by the provider)")
    return ast.copy_location(converted, node)


def _requirements(ctx: Context, pairs: dict[str, ast.expr], where: ast.AST, what: str) -> ast.Call | None:
    groups: dict[str, tuple[list[ast.expr | None], list[ast.expr]]] = {"requests": ([], []), "limits": ([], [])}
    for key, value in pairs.items():
        if key not in RESOURCE_KEYS:
            ctx.refuse(where, f"{what}: unknown resource key {key!r} (known: {', '.join(RESOURCE_KEYS)}): fix it")
            return None
        if isinstance(value, ast.Constant) and value.value is None:
            continue
        group, res = RESOURCE_KEYS[key]
        groups[group][0].append(ast.Constant(res))
        groups[group][1].append(value)
    ctx.uses_k8s = True
    return call(k8s("V1ResourceRequirements"), **{g: ast.Dict(keys=ks, values=vs) for g, (ks, vs) in groups.items() if ks})


def resources_call(ctx: Context, node: ast.Call) -> ast.expr:
    kw = _kwargs(node, list(RESOURCE_KEYS), ctx, "Resources", max_positional=2)
    if kw is None:
        return node
    out = _requirements(ctx, kw, node, "Resources(...)")
    if out is None:
        return node
    ctx.note(node, "Resources(...) → k8s.V1ResourceRequirements(requests=..., limits=...)")
    return ast.copy_location(out, node)


def resources_value(ctx: Context, value: ast.expr) -> ast.expr | None:
    """The value of a 1.10 ``resources=`` argument as a V1ResourceRequirements expression (None: refused)."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "V1ResourceRequirements":
        return value
    if isinstance(value, ast.Name) and ctx.model_values.get(value.id) == "Resources":
        return value
    d = ctx.resolve_dict(value)
    if d is None:
        ctx.refuse(value, "`resources=` cannot be read statically: write "
                          "container_resources=k8s.V1ResourceRequirements(requests={...}, limits={...}) by hand")
        return None
    keys = [k.value if isinstance(k, ast.Constant) else None for k in d.keys]
    if keys and all(k in ("requests", "limits", "claims") for k in keys):
        return dict_to_model(ctx, "V1ResourceRequirements", d, value, "resources")
    if any(not isinstance(k, str) for k in keys):
        ctx.refuse(value, "`resources=` has a key that is not a string literal: convert it by hand")
        return None
    out = _requirements(ctx, {str(k): v for k, v in zip(keys, d.values)}, value, "resources={...}")
    if out is not None:
        ctx.note(value, "`resources={...}` → `container_resources=k8s.V1ResourceRequirements(...)`")
    return out


def port(ctx: Context, node: ast.Call) -> ast.expr:
    kw = _kwargs(node, ["name", "container_port"], ctx, "Port")
    if kw is None:
        return node
    if "container_port" not in kw or (isinstance(kw["container_port"], ast.Constant) and kw["container_port"].value is None):
        ctx.refuse(node, "Port(...) without container_port: Kubernetes requires it; add container_port=...")
        return node
    kw = {k: v for k, v in kw.items() if not (isinstance(v, ast.Constant) and v.value is None)}
    ctx.uses_k8s = True
    ctx.note(node, "Port(...) → k8s.V1ContainerPort(...)")
    return ast.copy_location(call(k8s("V1ContainerPort"), **kw), node)


def pod_runtime_info_env(ctx: Context, node: ast.Call) -> ast.expr:
    kw = _kwargs(node, ["name", "field_path"], ctx, "PodRuntimeInfoEnv")
    if kw is None:
        return node
    if set(kw) != {"name", "field_path"}:
        ctx.refuse(node, "PodRuntimeInfoEnv(...) needs both name and field_path")
        return node
    ctx.uses_k8s = True
    ctx.note(node, "PodRuntimeInfoEnv(name, field_path) → k8s.V1EnvVar(name, value_from=field_ref)")
    source = call(k8s("V1EnvVarSource"), field_ref=call(k8s("V1ObjectFieldSelector"), field_path=kw["field_path"]))
    return ast.copy_location(call(k8s("V1EnvVar"), name=kw["name"], value_from=source), node)


CONVERTERS = {
    "Volume": volume,
    "VolumeMount": volume_mount,
    "Resources": resources_call,
    "Port": port,
    "PodRuntimeInfoEnv": pod_runtime_info_env,
}
