"""rules.py and the chart's _validate.tpl agree: same ids, and each rule fails `helm template` and
`airkube values validate` with the same message."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airkube.cli import app
from airkube.helm import ensure_dependencies, helm_executable
from airkube.values import Chart, validate_files
from airkube.values.rules import rule_ids

ROOT = Path(__file__).resolve().parents[2]
CHART = Chart(ROOT / "charts" / "airflow")
RULES = CHART.rules
runner = CliRunner()


@pytest.fixture(scope="module")
def helm() -> str:
    binary = helm_executable()
    ensure_dependencies(CHART.path, binary)
    return binary


def helm_template(helm: str, values_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run([helm, "template", "airflow", str(CHART.path), "-n", "airflow", "-f", str(values_file)],
                          capture_output=True, text=True)


def test_rules_yaml_and_rules_py_have_the_same_ids() -> None:
    listed = {rule["id"] for rule in RULES}
    assert listed, "charts/airflow/rules.yaml lists no rules"
    assert listed - rule_ids() == set(), f"rules.yaml ids missing from airkube/values/rules.py: {listed - rule_ids()}"
    assert rule_ids() - listed == set(), f"rules.py ids not in charts/airflow/rules.yaml: {rule_ids() - listed}"


@pytest.mark.parametrize("rule", RULES, ids=[r["id"] for r in RULES])
def test_rule_fails_helm_and_airkube_alike(rule: dict, helm: str, tmp_path: Path) -> None:
    file = tmp_path / "values.yaml"
    file.write_text(json.dumps(rule["example"]))
    rendered = helm_template(helm, file)
    assert rendered.returncode != 0, f"helm template accepted the example of {rule['id']}"
    assert rule["message"] in rendered.stderr
    problems = validate_files(CHART, [file])
    fired = {(p.rule, p.message) for p in problems if p.rule}
    assert (rule["id"], rule["message"]) in fired
    # every message helm printed is one airkube reports, and the other way round
    helm_messages = {m for _, m in ((r["id"], r["message"]) for r in RULES) if m in rendered.stderr}
    assert helm_messages == {m for _, m in fired}
    result = runner.invoke(app, ["values", "validate", str(file)])
    assert result.exit_code == 1
    assert f"[{rule['id']}] {rule['message']}" in " ".join(result.output.split())
    assert str(file) in result.output


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "values").glob("*.yaml")))
def test_shipped_values_files_pass_both(name: str, helm: str) -> None:
    file = ROOT / "values" / name
    assert validate_files(CHART, [file]) == []
    rendered = helm_template(helm, file)
    assert rendered.returncode == 0, rendered.stderr


def test_valid_file_passes_both(helm: str, tmp_path: Path) -> None:
    file = tmp_path / "ok.yaml"
    file.write_text("scheduler:\n  replicas: 2\n")
    assert helm_template(helm, file).returncode == 0
    result = runner.invoke(app, ["values", "validate", str(file)])
    assert result.exit_code == 0, result.output


def test_validate_usage_errors(tmp_path: Path) -> None:
    assert runner.invoke(app, ["values", "validate", str(tmp_path / "missing.yaml")]).exit_code == 2
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [\n")
    result = runner.invoke(app, ["values", "validate", str(broken)])
    assert result.exit_code == 1 and "not valid YAML" in result.output


def test_validate_merge_names_the_file_that_set_the_key(tmp_path: Path) -> None:
    base, override = tmp_path / "base.yaml", tmp_path / "override.yaml"
    base.write_text("dags:\n  gitSync:\n    enabled: true\n    repo: https://example.com/d.git\n")
    override.write_text("dags:\n  gitSync:\n    repo: ''\n")
    assert validate_files(CHART, [base]) == []
    problems = validate_files(CHART, [base, override], merge=True)
    assert [(p.rule, p.file) for p in problems] == [("gitsync-repo-required", str(override))]
