"""Round-trip YAML: load with comments, dump without disturbing lines that did not change, write atomically."""

from __future__ import annotations

import difflib
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from ..errors import ValuesError


@dataclass
class Document:
    """One values file: its original text, the round-trip tree and the indentation it was written with."""

    path: Path
    text: str
    data: CommentedMap
    indent: int = 2
    block_seq_indent: int = 0

    def yaml(self) -> YAML:
        return make_yaml(self.indent, self.block_seq_indent)

    def dump(self) -> str:
        return dump(self.data, self.yaml())


def make_yaml(indent: int = 2, block_seq_indent: int = 0) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=indent, sequence=max(indent, block_seq_indent + 2), offset=block_seq_indent)
    yaml.representer.add_representer(type(None), _represent_null)
    return yaml


def _represent_null(representer: Any, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def dump(data: Any, yaml: YAML | None = None) -> str:
    buf = io.StringIO()
    (yaml or make_yaml()).dump(data, buf)
    return buf.getvalue()


def guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, dash offset of block sequences) most used in `text`; (2, 0) when nothing tells."""
    lines = [l for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    maps: Counter[int] = Counter()
    seqs: Counter[int] = Counter()
    for parent, child in zip(lines, lines[1:]):
        if not parent.rstrip().endswith(":"):
            continue
        step = (len(child) - len(child.lstrip())) - (len(parent) - len(parent.lstrip()))
        if child.lstrip().startswith("- ") or child.strip() == "-":
            if step >= 0:
                seqs[step] += 1
        elif step > 0:
            maps[step] += 1
    indent = maps.most_common(1)[0][0] if maps else 2
    offset = seqs.most_common(1)[0][0] if seqs else 0
    return indent, offset


def load(path: Path) -> Document:
    """Load a values file; an empty (or comment-only) file is an empty mapping. ValuesError for non-mappings."""
    text = path.read_text(encoding="utf-8")
    try:
        indent, bsi = guess_indent(text)
        yaml = make_yaml(indent or 2, bsi or 0)
        data = yaml.load(text) if text.strip() else None
    except Exception as exc:  # ruamel raises many parser error types
        raise ValuesError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise ValuesError(f"{path}: a values file must be a mapping at the top level, found {type(data).__name__}")
    return Document(path, text, data, indent or 2, bsi or 0)


def render(doc: Document) -> str:
    """The new text of `doc` after edits to doc.data, touching only the lines that changed."""
    if not doc.text.strip() or not any(not l.lstrip().startswith("#") and l.strip() for l in doc.text.splitlines()):
        # empty or comment-only file: keep its comments, append the mapping
        body = doc.dump() if doc.data else ""
        head = doc.text.rstrip("\n")
        return (head + "\n" if head else "") + body
    before = make_yaml(doc.indent, doc.block_seq_indent).load(doc.text)
    return splice(doc.text, dump(before, doc.yaml()), doc.dump())


def plain(data: Any) -> Any:
    """A deep copy made of dict/list/scalars (no ruamel types), for schema checks and merging."""
    if isinstance(data, dict):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, int):
        return int(data)
    if isinstance(data, float):
        return float(data)
    if isinstance(data, str):
        return str(data)
    return data


def splice(original: str, before: str, after: str) -> str:
    """Apply the change `before` -> `after` (two dumps of the same tree) to `original`.

    When ruamel reproduces the file exactly (`original == before`) this is `after`. Otherwise only the
    changed hunks are transplanted, so lines the edit did not touch keep their exact bytes. Falls back to
    `after` when a hunk cannot be placed.
    """
    if original == before:
        return after
    o, b, a = (s.splitlines(keepends=True) for s in (original, before, after))
    if o and not o[-1].endswith("\n"):
        o[-1] += "\n"
    b_to_o: dict[int, int] = {}
    for tag, i1, i2, j1, _ in difflib.SequenceMatcher(None, b, o, autojunk=False).get_opcodes():
        if tag == "equal":
            b_to_o.update({i1 + k: j1 + k for k in range(i2 - i1)})
    out: list[str] = []
    pos = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, b, a, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i1 < i2:  # replaced/deleted lines must all be found in the original
            if any(k not in b_to_o for k in range(i1, i2)):
                return after
            start, end = b_to_o[i1], b_to_o[i2 - 1] + 1
            if end - start != i2 - i1:
                return after
        elif i1 > 0 and (i1 - 1) in b_to_o:
            start = end = b_to_o[i1 - 1] + 1
        elif i1 in b_to_o:
            start = end = b_to_o[i1]
        elif i1 == 0:
            start = end = 0
        else:
            return after
        if start < pos:
            return after
        out.extend(o[pos:start])
        out.extend(a[j1:j2])
        pos = end
    out.extend(o[pos:])
    return "".join(out)
