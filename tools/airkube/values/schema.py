"""Chart defaults merged with user values the way Helm does, checked against values.schema.json."""

from __future__ import annotations

import copy
import difflib
import re
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from .chart import Chart
from .problems import Problem, key_path

_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def coalesce(base: Any, override: Any) -> Any:
    """Helm's merge: maps merge key by key, anything else replaces, and null removes a default key."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = copy.deepcopy(base)
        for key, value in override.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = coalesce(merged[key], value)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def merged_values(chart: Chart, *user_values: dict[str, Any]) -> dict[str, Any]:
    """The values templates see: chart defaults, then each user document in order; subchart sections
    merged over the subchart's own defaults, `global` shared with them."""
    values: dict[str, Any] = copy.deepcopy(chart.defaults)
    for doc in user_values:
        values = coalesce(values, doc or {})
    for key, sub in chart.subcharts.items():
        section = values.get(key)
        sub_values = coalesce(sub.chart.defaults, section if isinstance(section, dict) else {})
        if "global" in values:
            sub_values["global"] = coalesce(sub_values.get("global") or {}, values["global"])
        values[key] = sub_values
    return values


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _describe_expected(schema: dict[str, Any]) -> str:
    expected = schema.get("type")
    if isinstance(expected, list):
        return " or ".join(expected)
    return str(expected)


def _quote_hint(schema: dict[str, Any], value: Any) -> str:
    """A YAML number where a string belongs (an image tag `3.10` reads as 3.1): tell the user to quote it."""
    expected = schema.get("type")
    wants_string = expected == "string" or (isinstance(expected, list) and "string" in expected)
    if wants_string and isinstance(value, (int, float)) and not isinstance(value, bool):
        return "; write it in quotes (e.g. \"3.10\"): unquoted, YAML reads it as a number (3.10 becomes 3.1)"
    return ""


def _format(error: ValidationError, prefix: tuple[Any, ...]) -> list[Problem]:
    path = prefix + tuple(error.absolute_path)
    key = key_path(path)
    value = error.instance
    validator = error.validator
    if validator == "additionalProperties" and isinstance(value, dict):
        props = set((error.schema.get("properties") or {}).keys())
        patterns = [re.compile(p) for p in (error.schema.get("patternProperties") or {})]
        extras = [k for k in value if k not in props and not any(p.search(k) for p in patterns)]
        problems = []
        for extra in extras:
            hint = difflib.get_close_matches(extra, sorted(props), n=1)
            did_you_mean = f"; did you mean `{key_path(path + (hint[0],))}`?" if hint else ""
            known = ", ".join(sorted(props)) or "none"
            problems.append(
                Problem(key_path(path + (extra,)),
                        f"`{key_path(path + (extra,))}` is not a key of this chart{did_you_mean} "
                        f"(keys allowed under `{key}`: {known})")
            )
        return problems
    if validator == "type":
        shown = "" if isinstance(value, (dict, list)) else f" {value!r}"
        return [Problem(key, f"`{key}` must be of type {_describe_expected(error.schema)}, "
                             f"got {_type_name(value)}{shown}{_quote_hint(error.schema, value)}")]
    if validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return [Problem(key, f"`{key}` must be one of {allowed}; got {value!r}")]
    if validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else error.message
        return [Problem(key_path(path + (name,)), f"`{key_path(path + (name,))}` is required")]
    if validator in ("anyOf", "oneOf") and error.context:
        inner = best_match(error.context)
        if inner.validator == "type":
            types = sorted({_describe_expected(e.schema) for e in error.context if e.validator == "type"})
            shown = "" if isinstance(value, (dict, list)) else f" {value!r}"
            return [Problem(key, f"`{key}` must be of type {' or '.join(types)}, got {_type_name(value)}{shown}")]
        return _format(inner, prefix)
    return [Problem(key, f"`{key}`: {error.message}")]


def _validator_class(schema: dict[str, Any]) -> Any:
    meta = str(schema.get("$schema", ""))
    for marker, cls in (("2020-12", jsonschema.Draft202012Validator), ("2019-09", jsonschema.Draft201909Validator),
                        ("draft-07", jsonschema.Draft7Validator), ("draft-06", jsonschema.Draft6Validator),
                        ("draft-04", jsonschema.Draft4Validator)):
        if marker in meta:
            return cls
    return jsonschema.Draft7Validator


def schema_problems(schema: dict[str, Any] | None, values: dict[str, Any],
                    prefix: tuple[Any, ...] = ()) -> list[Problem]:
    if not schema:
        return []
    validator_cls = _validator_class(schema)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    problems: list[Problem] = []
    for error in sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(_format(error, prefix))
    return problems


def validate_values(chart: Chart, merged: dict[str, Any]) -> list[Problem]:
    """Schema problems of the merged values, including the file:// subcharts' own schemas (checked even when the
    subchart is disabled: a misspelt key there is still a mistake)."""
    problems = schema_problems(chart.schema, merged)
    for key, sub in chart.subcharts.items():
        if isinstance(merged.get(key), dict):
            problems.extend(schema_problems(sub.chart.schema, merged[key], (key,)))
    return list(dict.fromkeys(problems))  # a subchart key checked by both schemas is reported once


def schema_at(schema: dict[str, Any] | None, path: list[str]) -> dict[str, Any] | None:
    """The sub-schema describing `path` (properties / additionalProperties / items; local $refs resolved)."""
    node = schema
    root = schema
    for part in path:
        node = _deref(root, node)
        if not isinstance(node, dict):
            return None
        props = node.get("properties") or {}
        if part in props:
            node = props[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return _deref(root, node)


def _deref(root: dict[str, Any] | None, node: Any) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
        node = target
    return node
