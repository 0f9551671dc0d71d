"""README "Coming from the official chart": every key of the "ours" column exists in charts/airflow/values.yaml
and in values.schema.json, so the table cannot drift from the chart (a renamed or removed key fails here)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "airflow"
COMPONENTS = ("apiServer", "scheduler", "dagProcessor", "triggerer")
SECTION = "## Coming from the official chart"


def table_rows() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in body.splitlines() if line.startswith("|")]
    assert rows[0][:2] == ["official chart", "ours"], rows[0]
    return [r for r in rows[2:] if len(r) >= 2]  # past the header and the |---| line


def expand(key: str) -> list[str]:
    """`a.{b,c}.d` -> a.b.d, a.c.d; `<component>.x` -> one key per component block."""
    if "<component>" in key:
        return [k for c in COMPONENTS for k in expand(key.replace("<component>", c))]
    m = re.search(r"\{([^{}]*)\}", key)
    if not m:
        return [key]
    return [k for alt in m.group(1).split(",") for k in expand(key[:m.start()] + alt.strip() + key[m.end():])]


def ours() -> list[str]:
    keys = []
    for row in table_rows():
        for item in re.findall(r"`([^`]+)`", row[1]):
            keys += expand(item)
    return keys


def has(tree: dict[str, Any], dotted: str, schema: bool = False) -> bool:
    node: Any = tree
    for part in dotted.split("."):
        if schema:
            node = node.get("properties", {}) if isinstance(node, dict) else {}
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_the_table_is_there_and_full() -> None:
    rows = table_rows()
    assert len(rows) >= 25, len(rows)
    assert all(row[0] for row in rows), "every row names the official key (or says none)"
    issue_keys = {"ingress.enabled", "httpRoute.parentRefs", "scheduler.podDisruptionBudget.minAvailable",
                  "apiServer.autoscaling.maxReplicas", "triggerer.priorityClassName",
                  "dagProcessor.topologySpreadConstraints", "scheduler.extraContainers", "extraObjects",
                  "airflowLocalSettings", "workers.podTemplate", "cleanup.database.retentionDays",
                  "cleanup.logs.retentionDays", "images.airflow.digest", "postgres.image.digest"}
    assert issue_keys <= set(ours()), sorted(issue_keys - set(ours()))


def test_every_key_of_ours_exists_in_values_and_schema() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    keys = ours()
    missing_values = [k for k in keys if not has(values, k)]
    missing_schema = [k for k in keys if not has(schema, k, schema=True)]
    assert not missing_values, f"README 'Coming from the official chart' names keys values.yaml lacks: {missing_values}"
    assert not missing_schema, f"... and keys values.schema.json lacks: {missing_schema}"


def test_expand() -> None:
    assert expand("a.{b, c}.d") == ["a.b.d", "a.c.d"]
    assert expand("<component>.x")[0] == "apiServer.x" and len(expand("<component>.{x,y}")) == 8
