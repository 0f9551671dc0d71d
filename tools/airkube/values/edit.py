"""`airkube values set/unset`: change keys in place, keep everything else byte-for-byte, refuse bad results."""

from __future__ import annotations

import copy
import datetime
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from .chart import Chart
from .problems import Problem
from .validate import check_documents
from .yamlio import Document, atomic_write, load, render


class EditError(ValueError):
    """The edit was refused; the file is unchanged. The message names the file and key."""


@dataclass(frozen=True)
class Assignment:
    path: tuple[str, ...]
    raw: str  # the text after '='


def parse_key(key: str) -> tuple[str, ...]:
    r"""'a.b.c' -> ('a','b','c'); a dot inside a key is written '\.' (podAnnotations.example\.com/x)."""
    parts, current, escaped = [], "", False
    for char in key:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    if any(p == "" for p in parts):
        raise EditError(f"`{key}` is not a key path: use dots between keys, e.g. scheduler.replicas")
    return tuple(parts)


def parse_assignment(text: str) -> Assignment:
    key, sep, raw = text.partition("=")
    if not sep:
        raise EditError(f"`{text}` is not an assignment: write key.path=value, e.g. scheduler.replicas=2")
    return Assignment(parse_key(key.strip()), raw)


def parse_value(raw: str, expects_string: bool = False) -> Any:
    """A YAML scalar/flow value: '2' -> 2, 'true' -> True, '[a,b]' -> ['a','b'], '' -> ''."""
    if raw == "":
        return ""
    try:
        value = YAML(typ="rt").load(io.StringIO(raw))
    except Exception as exc:
        raise EditError(f"value `{raw}` is not valid YAML: {exc}; quote it, e.g. key='\"{raw}\"'") from exc
    if isinstance(value, (datetime.date, datetime.datetime)):
        return raw  # Helm reads timestamps as strings too
    if expects_string and isinstance(value, (int, float, bool)) and value is not None:
        return raw  # image.tag=17 means the string "17" when the chart wants a string
    return value


def _expects_only_string(chart: Chart, path: tuple[str, ...]) -> bool:
    from .schema import schema_at

    schema, rest = _schema_for(chart, path)
    node = schema_at(schema, list(rest))
    return isinstance(node, dict) and node.get("type") == "string"


def _schema_for(chart: Chart, path: tuple[str, ...]) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
    if path and path[0] in chart.subcharts and chart.subcharts[path[0]].chart.schema:
        return chart.subcharts[path[0]].chart.schema, path[1:]
    return chart.schema, path


def set_in(data: CommentedMap, path: tuple[str, ...], value: Any, file: Path) -> None:
    node = data
    for depth, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = CommentedMap()
            node[part] = child
        elif not isinstance(child, dict):
            where = ".".join(path[: depth + 1])
            raise EditError(f"{file}: `{where}` is a {type(child).__name__}, not a mapping, so "
                            f"`{'.'.join(path)}` cannot be set; unset `{where}` first")
        node = child
    if path[-1] not in node and len(node):
        trailing = _take_trailing_comment(node)
        node[path[-1]] = value
        if trailing is not None:  # keep blank lines/comments that precede the next section after the new key
            node.ca.items.setdefault(path[-1], [None, None, None, None])[2] = trailing
    else:
        old = node.get(path[-1])
        trailing = _take_trailing_comment(old) if isinstance(old, (dict, list)) else None
        node[path[-1]] = value
        if trailing is not None:
            if isinstance(value, (dict, list)) and len(value) and not _is_flow(value):
                _attach_trailing(value, trailing)
            else:
                node.ca.items.setdefault(path[-1], [None, None, None, None])[2] = trailing


def _is_flow(value: Any) -> bool:
    return bool(getattr(getattr(value, "fa", None), "flow_style", lambda: False)())


def _take_trailing_comment(node: Any) -> Any:
    """Detach the comment ruamel hangs after the last item of `node` (it belongs to what follows the block)."""
    if isinstance(node, dict) and len(node):
        last = list(node.keys())[-1]
        if isinstance(node[last], (dict, list)) and len(node[last]):
            found = _take_trailing_comment(node[last])
            if found is not None:
                return found
        item = node.ca.items.get(last)
        if item and len(item) > 2 and item[2] is not None:
            token, item[2] = _split_eol(item[2])
            return token
    elif isinstance(node, list) and len(node):
        last = len(node) - 1
        if isinstance(node[last], (dict, list)) and len(node[last]):
            found = _take_trailing_comment(node[last])
            if found is not None:
                return found
        item = node.ca.items.get(last)
        if item and item[0] is not None:
            token, item[0] = _split_eol(item[0])
            return token
    return None


def unset_in(data: CommentedMap, path: tuple[str, ...], file: Path) -> None:
    """Remove the key, then any mapping left empty by the removal."""
    chain: list[CommentedMap] = [data]
    for part in path[:-1]:
        child = chain[-1].get(part)
        if not isinstance(child, dict):
            raise EditError(f"{file}: `{'.'.join(path)}` is not set in this file; nothing to unset")
        chain.append(child)
    if path[-1] not in chain[-1]:
        raise EditError(f"{file}: `{'.'.join(path)}` is not set in this file; nothing to unset")
    _delete_keeping_trailing(chain[-1], path[-1])
    for depth in range(len(chain) - 1, 0, -1):
        if len(chain[depth]) == 0:
            _delete_keeping_trailing(chain[depth - 1], path[depth - 1])


def _delete_keeping_trailing(node: CommentedMap, key: str) -> None:
    """Delete `key`; when it was the last key, the comment/blank lines after it move to the new last item."""
    keys = list(node.keys())
    is_last = keys[-1] == key
    index = keys.index(key)
    if index > 0:
        _drop_leading_comment(node, keys[index - 1])
    trailing = _take_trailing_comment(node) if is_last else None
    del node[key]
    if trailing is not None and len(node):
        _attach_trailing(node, trailing)


def _drop_leading_comment(node: Any, previous: Any) -> None:
    """The comment lines right above a deleted key hang after the previous item: drop them (keep blank lines)."""
    holder, slot = node, previous
    while isinstance(holder[slot], (dict, list)) and len(holder[slot]):
        holder = holder[slot]
        slot = list(holder.keys())[-1] if isinstance(holder, dict) else len(holder) - 1
    item = holder.ca.items.get(slot)
    index = 2 if isinstance(holder, dict) else 0
    token = item[index] if item and len(item) > index else None
    if token is None or not hasattr(token, "value"):
        return
    lines = token.value.split("\n")
    # lines[0] is the rest of the previous item's line; drop the trailing run of comment lines
    end = len(lines)
    while end > 1 and lines[end - 1].strip() == "":
        end -= 1
    start = end
    while start > 1 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    if start < end:
        token.value = "\n".join(lines[:start] + lines[end:])


def _split_eol(token: Any) -> tuple[Any, Any]:
    """(lines after the item, end-of-line comment that stays on the item's line) of a post-item comment token."""
    value = getattr(token, "value", "")
    if not value.lstrip(" ").startswith("#"):
        return token, None
    eol, newline, rest = value.partition("\n")
    if not rest:
        return None, token
    moved = copy.copy(token)
    moved.value = "\n" + rest if not rest.startswith("\n") else rest
    moved.value = rest if rest.startswith("\n") else rest
    kept = copy.copy(token)
    kept.value = eol + newline
    return moved, kept


def _attach_trailing(node: Any, token: Any) -> None:
    if isinstance(node, dict):
        last = list(node.keys())[-1]
        if isinstance(node[last], (dict, list)) and len(node[last]):
            return _attach_trailing(node[last], token)
        _merge_post_comment(node.ca.items.setdefault(last, [None, None, None, None]), 2, token)
    elif isinstance(node, list):
        last = len(node) - 1
        if isinstance(node[last], (dict, list)) and len(node[last]):
            return _attach_trailing(node[last], token)
        _merge_post_comment(node.ca.items.setdefault(last, [None, None, None, None]), 0, token)


def _merge_post_comment(item: list[Any], index: int, token: Any) -> None:
    existing = item[index]
    if existing is None:
        item[index] = token
    else:
        merged = copy.copy(existing)
        merged.value = existing.value + token.value
        item[index] = merged


@dataclass
class EditResult:
    path: Path
    changed: bool
    warnings: list[Problem] = field(default_factory=list)


def edit_file(path: Path, chart: Chart, assignments: list[str] = (), unsets: list[str] = ()) -> EditResult:  # type: ignore[assignment]
    """Apply `key=value` assignments and key removals; validate; write atomically. Raises EditError."""
    try:
        doc = load(path)
    except (OSError, ValueError) as exc:
        raise EditError(str(exc)) from exc
    before = check_documents(chart, [doc])
    for text in assignments:
        assignment = parse_assignment(text)
        value = parse_value(assignment.raw, _expects_only_string(chart, assignment.path))
        set_in(doc.data, assignment.path, value, path)
    for key in unsets:
        unset_in(doc.data, parse_key(key), path)
    after = check_documents(chart, [doc])
    new_schema = [p for p in after if p.rule is None and p not in before]
    if new_schema:
        lines = "\n  ".join(p.message for p in new_schema)
        raise EditError(f"{path}: refused, the file is unchanged:\n  {lines}")
    text = render(doc)
    if text != doc.text:
        atomic_write(path, text)
    return EditResult(path, text != doc.text, [p for p in after if p.rule is not None])
