"""What validation reports: one Problem per broken key or rule, naming the file and the key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def key_path(parts: Iterable[object]) -> str:
    """['a', 'b', 0, 'c'] -> 'a.b[0].c'"""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<top level>"


@dataclass(frozen=True)
class Problem:
    key: str  # dotted key path
    message: str  # a sentence naming the key and what to do
    rule: str | None = None  # rule id from charts/airflow/rules.yaml, None for schema problems
    file: str | None = None  # values file the problem was found in (None: the merged set of files)

    def render(self) -> str:
        where = f"{self.file}: " if self.file else ""
        tag = f"[{self.rule}] " if self.rule else "[schema] "
        return f"{where}{tag}{self.message}"
