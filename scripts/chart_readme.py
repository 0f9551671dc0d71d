#!/usr/bin/env python3
"""Generate the "Parameters" table of a chart README from the `## @param` annotations of its values.yaml.

    python scripts/chart_readme.py charts/airflow charts/postgres charts/volumes           # write
    python scripts/chart_readme.py --check charts/airflow charts/postgres charts/volumes   # CI: exit 1 if stale

Annotations (Bitnami style), one per line, anywhere in values.yaml:

    ## @section Title              starts a new table under a `### Title` heading
    ## @param dotted.key Text      documents a key; the Default column comes from the parsed values.yaml

Every leaf key of values.yaml must be documented, by its own `@param` or by one of a parent map
(e.g. `## @param resources ...` covers `resources.limits.cpu`). An `@param` naming a key that does not
exist is an error too. The table is written between `<!-- PARAMETERS:START -->` and
`<!-- PARAMETERS:END -->`; the rest of the README is left as it is. Writes are atomic.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from airkube.fsutil import atomic_write

START = "<!-- PARAMETERS:START -->"
END = "<!-- PARAMETERS:END -->"
PARAM_RE = re.compile(r"^\s*##\s*@param\s+(?P<key>\S+)\s*(?P<desc>.*?)\s*$")
SECTION_RE = re.compile(r"^\s*##\s*@section\s+(?P<title>.+?)\s*$")
_MISSING = object()


@dataclass
class Param:
    key: str
    description: str
    line: int


@dataclass
class Section:
    title: str
    params: list[Param] = field(default_factory=list)


@dataclass
class ChartDocs:
    chart: Path
    sections: list[Section]
    values: dict[str, Any]
    problems: list[str]


def split_key(key: str) -> list[str]:
    """`a.b\\.c.d` -> ["a", "b.c", "d"] (a backslash escapes a dot inside a key)."""
    parts = re.split(r"(?<!\\)\.", key)
    return [p.replace("\\.", ".") for p in parts]


def lookup(values: Any, path: list[str]) -> Any:
    node = values
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def leaf_paths(values: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key whose value is not a non-empty map, depth first, in file order."""
    out: list[tuple[str, ...]] = []
    for key, value in values.items():
        path = prefix + (str(key),)
        if isinstance(value, dict) and value:
            out.extend(leaf_paths(value, path))
        else:
            out.append(path)
    return out


def join_key(path: tuple[str, ...] | list[str]) -> str:
    return ".".join(p.replace(".", "\\.") for p in path)


def parse_chart(chart: Path) -> ChartDocs:
    values_file = chart / "values.yaml"
    text = values_file.read_text(encoding="utf-8")
    values = yaml.safe_load(text) or {}
    if not isinstance(values, dict):
        raise SystemExit(f"{values_file}: top level must be a map")
    sections: list[Section] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if m := SECTION_RE.match(line):
            sections.append(Section(m["title"]))
        elif m := PARAM_RE.match(line):
            key, desc = m["key"], m["desc"]
            where = f"{values_file}:{lineno}"
            if key in seen:
                problems.append(f"{where}: `@param {key}` is repeated (first at line {seen[key]})")
                continue
            seen[key] = lineno
            if not desc:
                problems.append(f"{where}: `@param {key}` has no description")
            if lookup(values, split_key(key)) is _MISSING:
                problems.append(f"{where}: `@param {key}` names a key that is not in values.yaml")
            if not sections:
                sections.append(Section("Parameters"))
            sections[-1].params.append(Param(key, desc, lineno))
    documented = {tuple(split_key(k)) for k in seen}
    for path in leaf_paths(values):
        if not any(path[:n] in documented for n in range(1, len(path) + 1)):
            problems.append(f"{values_file}: key `{join_key(path)}` has no `## @param {join_key(path)} <description>` annotation")
    sections = [s for s in sections if s.params]
    return ChartDocs(chart, sections, values, problems)


def format_default(value: Any) -> str:
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value) if value == "" or value.strip() != value else value
    elif isinstance(value, (int, float)):
        text = str(value)
    else:
        text = json.dumps(value, separators=(",", ":"), sort_keys=False, default=str)
    return "`" + cell(text).replace("`", "'") + "`"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(docs: ChartDocs) -> str:
    lines = [START, "<!-- Generated by scripts/chart_readme.py from the ## @param lines of values.yaml; do not edit. -->"]
    for section in docs.sections:
        lines += ["", f"### {section.title}", "", "| Name | Description | Default |", "| ---- | ----------- | ------- |"]
        for p in section.params:
            value = lookup(docs.values, split_key(p.key))
            default = "" if value is _MISSING else format_default(value)
            lines.append(f"| `{cell(p.key)}` | {cell(p.description)} | {default} |")
    lines += ["", END]
    return "\n".join(lines)


def chart_title(chart: Path) -> tuple[str, str]:
    meta_file = chart / "Chart.yaml"
    meta = yaml.safe_load(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
    return str(meta.get("name", chart.name)), str(meta.get("description", ""))


def updated_readme(chart: Path, current: str | None, table: str) -> str:
    if current is None:
        name, description = chart_title(chart)
        return f"# {name}\n\n{description}\n\n## Parameters\n\n{table}\n"
    start, end = current.find(START), current.find(END)
    if start == -1 or end == -1 or end < start:
        sep = "" if current.endswith("\n") else "\n"
        return f"{current}{sep}\n## Parameters\n\n{table}\n"
    return current[:start] + table + current[end + len(END):]


def process(chart: Path, check: bool) -> list[str]:
    """Returns the problems found; writes README.md unless check is set."""
    if not (chart / "values.yaml").is_file():
        return [f"{chart}: no values.yaml (is this a chart directory?)"]
    docs = parse_chart(chart)
    problems = list(docs.problems)
    readme = chart / "README.md"
    current = readme.read_text(encoding="utf-8") if readme.exists() else None
    wanted = updated_readme(chart, current, render_table(docs))
    if wanted != current:
        if check:
            problems.append(f"{readme}: the parameter table is stale; run `python scripts/chart_readme.py {chart}` (make chart-docs)")
        else:
            atomic_write(readme, wanted)
            print(f"{readme}: updated", file=sys.stderr)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("charts", nargs="+", type=Path, help="chart directories")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a README is stale or a key is undocumented")
    args = parser.parse_args(argv)
    failed: list[str] = []
    for chart in args.charts:
        problems = process(chart, args.check)
        if problems:
            failed.append(str(chart))
            for p in problems:
                print(f"{chart}: {p}" if not p.startswith(str(chart)) else p, file=sys.stderr)
    if failed:
        print(f"chart docs: problems in {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
