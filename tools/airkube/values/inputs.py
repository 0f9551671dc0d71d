"""The values of one install: ``-f`` files then ``--set`` assignments, merged as helm merges them, checked once.

`ValuesInput.checked(chart)` is the install path: one merge of the user's input, one schema + rules check over
the chart defaults, and a plain ``dict`` for `airkube.helm` (which knows nothing about values files).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ValuesError
from .chart import Chart
from .edit import parse_assignment, parse_value
from .rules import rule_problems
from .schema import coalesce, merged_values, validate_values
from .yamlio import load, plain


@dataclass(frozen=True)
class ValuesInput:
    files: tuple[Path, ...] = ()
    sets: tuple[str, ...] = ()  # key.path=value, parsed as YAML like `airkube values set`

    def merged(self) -> dict[str, Any]:
        """The user's values only (no chart defaults): files in order, then the --set assignments."""
        values: dict[str, Any] = {}
        for path in self.files:
            if not path.is_file():
                raise ValuesError(f"values file {path} does not exist")
            values = coalesce(values, plain(load(path).data))
        for text in self.sets:
            assignment = parse_assignment(text)
            tree: Any = plain(parse_value(assignment.raw))
            for part in reversed(assignment.path):
                tree = {part: tree}
            values = coalesce(values, tree)
        return values

    def checked(self, chart: Chart) -> dict[str, Any]:
        """`merged()`, refused (ValuesError naming every bad key) when the chart would refuse it."""
        values = self.merged()
        effective = merged_values(chart, values)
        problems = validate_values(chart, effective) + rule_problems(effective)
        if problems:
            raise ValuesError("the values are invalid:\n  " + "\n  ".join(p.render() for p in problems))
        return values
