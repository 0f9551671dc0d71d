"""A chart directory as the toolkit sees it: defaults, JSON schema, rules and file:// subcharts."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ..errors import ChartNotFound
from .yamlio import plain


def repo_root(start: Path | None = None) -> Path:
    """The airkube checkout: $AIRKUBE_ROOT, else the first parent of `start`/cwd with charts/airflow, else the package's."""
    if env := os.environ.get("AIRKUBE_ROOT"):
        return Path(env).resolve()
    candidates = [start or Path.cwd(), Path(__file__).resolve()]
    for candidate in candidates:
        for parent in [candidate, *candidate.parents]:
            if (parent / "charts" / "airflow" / "Chart.yaml").is_file():
                return parent
    raise ChartNotFound(
        "cannot find the airkube checkout (a directory with charts/airflow/Chart.yaml): "
        "run from inside it or set AIRKUBE_ROOT"
    )


def _read_yaml(path: Path) -> Any:
    return plain(YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Chart:
    path: Path

    @classmethod
    def find(cls, name: str = "airflow", start: Path | None = None) -> Chart:
        return cls(repo_root(start) / "charts" / name)

    @cached_property
    def metadata(self) -> dict[str, Any]:
        file = self.path / "Chart.yaml"
        if not file.is_file():
            raise ChartNotFound(f"{file} does not exist")
        return _read_yaml(file) or {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", self.path.name))

    @cached_property
    def defaults(self) -> dict[str, Any]:
        file = self.path / "values.yaml"
        return (_read_yaml(file) or {}) if file.is_file() else {}

    @cached_property
    def schema(self) -> dict[str, Any] | None:
        file = self.path / "values.schema.json"
        return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None

    @property
    def rules_file(self) -> Path:
        return self.path / "rules.yaml"

    @cached_property
    def rules(self) -> list[dict[str, Any]]:
        """The machine-readable list of the chart's `fail` rules (id, keys, message)."""
        if not self.rules_file.is_file():
            return []
        data = _read_yaml(self.rules_file) or []
        return list(data.get("rules", [])) if isinstance(data, dict) else list(data)

    @cached_property
    def subcharts(self) -> dict[str, Subchart]:
        """Values key -> local dependency (file:// repositories only)."""
        result: dict[str, Subchart] = {}
        for dep in self.metadata.get("dependencies") or []:
            repo = str(dep.get("repository", ""))
            if not repo.startswith("file://"):
                continue
            key = str(dep.get("alias") or dep["name"])
            result[key] = Subchart(
                key=key,
                chart=Chart((self.path / repo.removeprefix("file://")).resolve()),
                condition=dep.get("condition"),
            )
        return result


@dataclass(frozen=True)
class Subchart:
    key: str
    chart: Chart
    condition: str | None
