"""values.schema.json is generated, up to date, and covers every key of values.yaml with a description."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import AIRFLOW_CHART, VALUES_DIR

SCHEMA = json.loads((AIRFLOW_CHART / "values.schema.json").read_text())
VALUES = yaml.safe_load((AIRFLOW_CHART / "values.yaml").read_text())


def test_schema_is_generated_and_current():
    result = subprocess.run([sys.executable, str(AIRFLOW_CHART / "schema/gen_schema.py"), "--check"])
    assert result.returncode == 0, "values.schema.json is stale: run python charts/airflow/schema/gen_schema.py"


def _walk(values, schema, path=""):
    for key, value in values.items():
        full = f"{path}{key}"
        props = schema.get("properties", {})
        assert key in props, f"{full} missing from values.schema.json"
        sub = props[key]
        yield full, sub
        if isinstance(value, dict) and sub.get("additionalProperties") is False and not sub.get("description"):
            yield from _walk(value, sub, full + ".")


def test_every_key_in_schema_with_description():
    for full, sub in _walk(VALUES, SCHEMA):
        if sub.get("properties"):
            continue  # grouping objects: their leaves carry the descriptions
        assert sub.get("description"), f"{full} has no description (add a ## @param line)"


def test_own_objects_are_closed():
    assert SCHEMA["additionalProperties"] is False
    for name in ("apiServer", "scheduler", "dagProcessor", "triggerer", "workers", "dags", "logs", "auth", "secrets"):
        assert SCHEMA["properties"][name]["additionalProperties"] is False


def test_every_param_annotation_is_a_real_key():
    text = (AIRFLOW_CHART / "values.yaml").read_text()
    for key in re.findall(r"## @param (\S+)", text):
        node = VALUES
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, f"@param {key} does not exist in values.yaml"
            node = node[part]


def test_every_leaf_annotated():
    text = (AIRFLOW_CHART / "values.yaml").read_text()
    annotated = set(re.findall(r"## @param (\S+)", text))

    def leaves(node, path=""):
        for k, v in node.items():
            full = f"{path}{k}"
            if full in annotated:
                continue
            assert isinstance(v, dict) and v, f"{full} has no ## @param annotation"
            yield from leaves(v, full + ".")

    list(leaves(VALUES))


def test_values_files_validate_against_schema():
    validator = jsonschema.Draft7Validator(SCHEMA)
    for path in VALUES_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        merged = json.loads(json.dumps(VALUES))

        def merge(a, b):
            for k, v in b.items():
                if isinstance(v, dict) and isinstance(a.get(k), dict):
                    merge(a[k], v)
                else:
                    a[k] = v
        merge(merged, data)
        errors = list(validator.iter_errors(merged))
        assert not errors, f"{path.name}: {[e.message for e in errors]}"
