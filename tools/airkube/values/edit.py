"""`airkube values set/unset`: change keys in place, keep everything else byte-for-byte, refuse bad results."""

from __future__ import annotations

import copy
import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from airkube.fsutil import atomic_write

from ..errors import EditError, ValuesError
from .chart import Chart
from .problems import Problem
from .validate import check_documents
from .yamlio import load, render


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
    grown: CommentedMap | None = None  # the map where the first new key was appended
    trailing = None
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        child = node.get(part)
        if part not in node:
            if grown is None and len(node):
                grown, trailing = node, _take_trailing_comment(node)
            node[part] = value if last else CommentedMap()
            child = node[part]
        elif last:
            old = node[part]
            moved = _take_trailing_comment(old) if isinstance(old, (dict, list)) and not _is_flow(old) else None
            node[part] = value
            if moved is not None:
                if _is_block(value):
                    _attach_trailing(value, moved)
                else:
                    _merge_post_comment(node.ca.items.setdefault(part, [None, None, None, None]), 2, moved)
        elif child is None:
            node[part] = child = CommentedMap()
        elif not isinstance(child, dict):
            where = ".".join(path[: depth + 1])
            raise EditError(f"{file}: `{where}` is a {type(child).__name__}, not a mapping, so "
                            f"`{'.'.join(path)}` cannot be set; unset `{where}` first")
        node = child
    if grown is not None and trailing is not None:
        _attach_trailing(grown, trailing)  # blank lines/comments that introduce the next section stay before it


def _is_block(value: Any) -> bool:
    return isinstance(value, (dict, list)) and len(value) > 0 and not _is_flow(value)


def _take_trailing_comment(node: Any) -> Any:
    """Detach the comment ruamel hangs after the last item of `node` (it belongs to what follows the block)."""
    if isinstance(node, CommentedMap) and len(node):
        last = list(node.keys())[-1]
        if _is_block(node[last]):
            found = _take_trailing_comment(node[last])
            if found is not None:
                return found
        item = node.ca.items.get(last)
        if item and len(item) > 2 and item[2] is not None:
            token, item[2] = _split_eol(item[2])
            return token
    elif isinstance(node, CommentedSeq) and len(node):
        last = len(node) - 1
        if _is_block(node[last]):
            found = _take_trailing_comment(node[last])
            if found is not None:
                return found
        item = node.ca.items.get(last)
        if item and item[0] is not None:
            token, item[0] = _split_eol(item[0])
            return token
    return None


def _is_flow(value: Any) -> bool:
    return bool(getattr(getattr(value, "fa", None), "flow_style", lambda: False)())


def unset_in(data: CommentedMap, path: tuple[str, ...], file: Path) -> None:
    """Remove the key, then any mapping left empty by the removal."""
    chain: list[CommentedMap] = [data]
    for part in path[:-1]:
        child = chain[-1].get(part)
        if not isinstance(child, dict):
            raise EditError(f"{file}: `{'.'.join(path)}` is not set in this file; nothing to unset")
        chain.append(cast(CommentedMap, child))  # every mapping of a loaded document is a CommentedMap
    if path[-1] not in chain[-1]:
        raise EditError(f"{file}: `{'.'.join(path)}` is not set in this file; nothing to unset")
    orphan = _delete_keeping_trailing(chain[-1], path[-1])
    for depth in range(len(chain) - 1, 0, -1):
        if len(chain[depth]) == 0:
            orphan = _delete_keeping_trailing(chain[depth - 1], path[depth - 1], orphan)
    if orphan is not None and len(data):
        _attach_trailing(data, orphan)


def _delete_keeping_trailing(node: CommentedMap, key: str, carried: Any = None) -> Any:
    """Delete `key`; when it was the last key, the comment/blank lines after it move to the new last item.
    Returns the comment when nothing is left in `node` to carry it (the caller passes it up)."""
    keys = list(node.keys())
    is_last = keys[-1] == key
    index = keys.index(key)
    if index > 0:
        _drop_leading_comment(node, keys[index - 1])
    trailing = _take_trailing_comment(node) if is_last else None
    if carried is not None:
        trailing = carried if trailing is None else _joined(trailing, carried)
    del node[key]
    if trailing is not None and len(node):
        if is_last:
            _attach_trailing(node, trailing)
            return None
        return None
    return trailing


def _joined(first: Any, second: Any) -> Any:
    merged = copy.copy(first)
    merged.value = first.value + second.value
    return merged


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
    moved.value = "\n" + rest  # the newline that ended the item's line went with the end-of-line comment
    kept = copy.copy(token)
    kept.value = eol + newline
    return moved, kept


def _attach_trailing(node: Any, token: Any) -> None:
    if isinstance(node, CommentedMap):
        last = list(node.keys())[-1]
        if _is_block(node[last]):
            return _attach_trailing(node[last], token)
        _merge_post_comment(node.ca.items.setdefault(last, [None, None, None, None]), 2, token)
    elif isinstance(node, CommentedSeq):
        last = len(node) - 1
        if _is_block(node[last]):
            return _attach_trailing(node[last], token)
        _merge_post_comment(node.ca.items.setdefault(last, [None, None, None, None]), 0, token)


def _merge_post_comment(item: list[Any], index: int, token: Any) -> None:
    existing = item[index]
    if existing is None:
        item[index] = token
    else:
        merged = copy.copy(existing)
        tail = token.value[1:] if existing.value.endswith("\n") and token.value.startswith("\n") else token.value
        merged.value = existing.value + tail
        item[index] = merged


@dataclass
class EditResult:
    path: Path
    changed: bool
    warnings: list[Problem] = field(default_factory=list)


def edit_file(path: Path, chart: Chart, assignments: Sequence[str] = (), unsets: Sequence[str] = ()) -> EditResult:
    """Apply `key=value` assignments and key removals; validate; write atomically. Raises EditError."""
    try:
        doc = load(path)
    except (OSError, ValuesError) as exc:
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
