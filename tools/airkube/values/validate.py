"""`airkube values validate`: schema + the chart's cross-field rules, for one file or several merged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ValuesError
from .chart import Chart
from .problems import Problem
from .rules import rule_problems
from .schema import merged_values, validate_values
from .yamlio import Document, load, plain


def _sets(data: Any, key: str) -> bool:
    node = data
    for part in key.replace("[", ".[").split("."):
        if part.startswith("["):
            continue
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def check_documents(chart: Chart, docs: list[Document]) -> list[Problem]:
    """Problems of the values Helm would see with `-f doc1 -f doc2 …`, each tagged with the file that set the key."""
    user = [plain(doc.data) for doc in docs]
    merged = merged_values(chart, *user)
    problems = validate_values(chart, merged) + rule_problems(merged)
    tagged = []
    for problem in problems:
        source = next((str(d.path) for d, u in zip(reversed(docs), reversed(user)) if _sets(u, problem.key)),
                      str(docs[-1].path) if docs else None)
        tagged.append(replace(problem, file=source))
    return tagged


def validate_files(chart: Chart, paths: list[Path], merge: bool = False) -> list[Problem]:
    """Each file on its own (default) or all merged in order as `helm -f a -f b` would."""
    docs: list[Document] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            docs.append(load(path))
        except (OSError, ValuesError) as exc:
            problems.append(Problem("<file>", str(exc).removeprefix(f"{path}: "), file=str(path)))
    if merge:
        return problems + (check_documents(chart, docs) if docs else [])
    for doc in docs:
        problems.extend(check_documents(chart, [doc]))
    return problems
