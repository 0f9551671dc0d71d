"""`airkube values set/unset`: in-place edits that keep every untouched byte, typed values, refusals."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airkube.cli import app
from airkube.values import Chart, EditError, edit_file
from airkube.values.edit import parse_key, parse_value
from airkube.values.yamlio import load, splice

ROOT = Path(__file__).resolve().parents[2]
CHART = Chart(ROOT / "charts" / "airflow")
runner = CliRunner()


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    import difflib

    return [(tag, line) for tag, line in
            ((l[0], l[1:]) for l in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm=""))
            if tag in "+-" and not line.startswith(("++", "--"))]


@pytest.fixture
def chart_values(tmp_path: Path) -> Path:
    """A copy of the chart's own values.yaml: comments everywhere, block sequences, flow lists, nulls, quotes."""
    target = tmp_path / "values.yaml"
    shutil.copy(ROOT / "charts" / "airflow" / "values.yaml", target)
    return target


def test_set_changes_only_the_edited_lines(chart_values: Path) -> None:
    before = chart_values.read_text()
    edit_file(chart_values, CHART, ["scheduler.replicas=3", "images.airflow.tag=3.3.1", "podSecurityContext.runAsUser=1000"])
    after = chart_values.read_text()
    assert _changed_lines(before, after) == [
        ("-", '    tag: "3.3.2"'), ("+", '    tag: "3.3.1"'),
        ("-", "  runAsUser: 50000"), ("+", "  runAsUser: 1000"),
        ("-", "  replicas: 1"), ("+", "  replicas: 3"),
    ] or sorted(_changed_lines(before, after)) == sorted([
        ("-", '    tag: "3.3.2"'), ("+", '    tag: "3.3.1"'),
        ("-", "  runAsUser: 50000"), ("+", "  runAsUser: 1000"),
        ("-", "  replicas: 1"), ("+", "  replicas: 3"),
    ])


def test_set_then_unset_restores_the_file_byte_for_byte(tmp_path: Path) -> None:
    file = tmp_path / "v.yaml"
    original = (
        "# my settings\n"
        "scheduler:\n"
        "  # two schedulers\n"
        "  replicas: 2   # HA\n"
        "\n"
        "# DAGs from git\n"
        "dags:\n"
        "  gitSync:\n"
        "    enabled: true\n"
        "    repo: 'https://example.com/dags.git'\n"
    )
    file.write_text(original)
    edit_file(file, CHART, ["dags.gitSync.depth=0", "apiServer.replicas=2", "scheduler.resources.limits.cpu=2"])
    text = file.read_text()
    assert "  replicas: 2   # HA\n" in text and "# DAGs from git\n" in text
    assert "    repo: 'https://example.com/dags.git'\n" in text  # quotes kept
    # the blank line + comment that introduce `dags:` still come right before it
    assert "\n\n# DAGs from git\ndags:\n" in text
    edit_file(file, CHART, unsets=["dags.gitSync.depth", "apiServer.replicas", "scheduler.resources.limits.cpu"])
    assert file.read_text() == original


@pytest.mark.parametrize("raw,expected", [
    ("2", 2), ("true", True), ("false", False), ("1.5", 1.5), ("null", None), ("", ""),
    ("[a, b]", ["a", "b"]), ("[a,b]", ["a", "b"]), ("{a: 1}", {"a": 1}), ("'2'", "2"), ("text", "text"),
    ("2024-01-01", "2024-01-01"),
])
def test_values_are_yaml_scalars(raw: str, expected: object) -> None:
    assert parse_value(raw) == expected


def test_string_fields_keep_numbers_as_strings(tmp_path: Path) -> None:
    file = tmp_path / "v.yaml"
    file.write_text("{}\n")
    edit_file(file, CHART, ["dags.gitSync.branch=2024"])
    assert load(file).data["dags"]["gitSync"]["branch"] == "2024"
    assert "branch: '2024'" in file.read_text()


def test_types_reach_the_file(tmp_path: Path) -> None:
    file = tmp_path / "v.yaml"
    file.write_text("# header\n")
    edit_file(file, CHART, ["scheduler.replicas=2", "networkPolicies.enabled=true", "networkPolicies.egressPorts=[443,22]"])
    text = file.read_text()
    assert text.startswith("# header\n")
    data = load(file).data
    assert data["scheduler"]["replicas"] == 2 and data["networkPolicies"]["enabled"] is True
    assert list(data["networkPolicies"]["egressPorts"]) == [443, 22]


def test_escaped_dots_in_keys() -> None:
    assert parse_key(r"apiServer.podAnnotations.example\.com/team") == ("apiServer", "podAnnotations", "example.com/team")
    with pytest.raises(EditError):
        parse_key("a..b")


@pytest.mark.parametrize("assignment,needle", [
    ("scheduler.replicaz=2", "`scheduler.replicaz` is not a key of this chart; did you mean `scheduler.replicas`?"),
    ("scheduler.replicas=abc", "`scheduler.replicas` must be of type integer, got string 'abc'"),
    ("auth.users={}", "`auth.users` must be of type array"),
    ("postgres.image.tagg=1", "`postgres.image.tagg` is not a key of this chart"),
    ("volumes.dags.sise=1Gi", "`volumes.dags.sise` is not a key of this chart"),
])
def test_refused_edits_leave_the_file_untouched(chart_values: Path, assignment: str, needle: str) -> None:
    before = chart_values.read_bytes()
    mtime = chart_values.stat().st_mtime_ns
    with pytest.raises(EditError) as info:
        edit_file(chart_values, CHART, [assignment])
    assert needle in str(info.value)
    assert str(chart_values) in str(info.value)
    assert chart_values.read_bytes() == before and chart_values.stat().st_mtime_ns == mtime


def test_unset_missing_key_is_refused(chart_values: Path) -> None:
    with pytest.raises(EditError, match="is not set in this file"):
        edit_file(chart_values, CHART, unsets=["scheduler.nope"])


def test_write_is_atomic_and_keeps_mode(tmp_path: Path) -> None:
    file = tmp_path / "v.yaml"
    file.write_text("scheduler:\n  replicas: 1\n")
    os.chmod(file, 0o600)
    inode = file.stat().st_ino
    edit_file(file, CHART, ["scheduler.replicas=2"])
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert file.stat().st_ino != inode  # replaced, not rewritten in place
    assert [p.name for p in tmp_path.iterdir()] == ["v.yaml"]  # no temporary file left


def test_splice_keeps_foreign_formatting() -> None:
    original = "a:   1\nb: 2\nc:    3\n"
    before = "a: 1\nb: 2\nc: 3\n"
    after = "a: 1\nb: 5\nc: 3\n"
    assert splice(original, before, after) == "a:   1\nb: 5\nc:    3\n"


def test_cli_exit_codes(chart_values: Path, tmp_path: Path) -> None:
    ok = runner.invoke(app, ["values", "set", str(chart_values), "scheduler.replicas=2"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["values", "set", str(chart_values), "scheduler.replicas=two"])
    assert bad.exit_code == 1 and "scheduler.replicas" in bad.output
    missing = runner.invoke(app, ["values", "set", str(tmp_path / "nope.yaml"), "a=1"])
    assert missing.exit_code == 2
    usage = runner.invoke(app, ["values", "set", str(chart_values), "noequals"])
    assert usage.exit_code == 1 and "not an assignment" in usage.output
    unset = runner.invoke(app, ["values", "unset", str(chart_values), "scheduler.replicas"])
    assert unset.exit_code == 0
