"""Chart READMEs: the parameter table is generated from values.yaml's `## @param` annotations
(scripts/chart_readme.py) and must be current; every values key must be documented."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "chart_readme.py"
CHARTS = sorted(p.parent for p in (REPO / "charts").glob("*/values.yaml"))


def run(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=60)


def test_there_are_charts() -> None:
    assert {"postgres", "volumes"} <= {c.name for c in CHARTS}


@pytest.mark.parametrize("chart", CHARTS, ids=[c.name for c in CHARTS])
def test_readme_parameters_are_current(chart: Path) -> None:
    p = run("--check", chart.relative_to(REPO))
    assert p.returncode == 0, (
        f"{chart.relative_to(REPO)}: chart docs are not up to date. Add a `## @param <key> <description>` line for "
        f"every key of values.yaml, then run `make chart-docs` (python scripts/chart_readme.py "
        f"{chart.relative_to(REPO)}).\n{p.stderr}")


CHART_YAML = "apiVersion: v2\nname: demo\nversion: 0.1.0\ndescription: A demo chart\n"
VALUES = textwrap.dedent("""\
    ## @section Things
    ## @param name Name of the thing
    name: ""
    image:
      ## @param image.tag Tag | with a pipe
      tag: "1.0"
    ## @param resources Resources
    resources:
      limits:
        cpu: 1
    ## @section Other
    ## @param list A list
    list: []
    """)


@pytest.fixture()
def demo(tmp_path: Path) -> Path:
    chart = tmp_path / "demo"
    chart.mkdir()
    (chart / "Chart.yaml").write_text(CHART_YAML)
    (chart / "values.yaml").write_text(VALUES)
    (chart / "README.md").write_text("# demo\n\nIntro.\n\n## Parameters\n\n<!-- PARAMETERS:START -->\nold\n<!-- PARAMETERS:END -->\n\n## After\n\nKept.\n")
    return chart


def test_writes_table_between_markers(demo: Path) -> None:
    assert run("--check", demo).returncode == 1
    p = run(demo)
    assert p.returncode == 0, p.stderr
    text = (demo / "README.md").read_text()
    assert text.startswith("# demo\n\nIntro.") and text.endswith("## After\n\nKept.\n")
    assert "old" not in text
    assert "### Things" in text and "### Other" in text
    assert "| `name` | Name of the thing | `\"\"` |" in text
    assert "| `image.tag` | Tag \\| with a pipe | `1.0` |" in text
    assert '| `resources` | Resources | `{"limits":{"cpu":1}}` |' in text
    assert "| `list` | A list | `[]` |" in text
    assert run("--check", demo).returncode == 0
    assert not list(demo.glob(".README.md.*")), "temporary file left behind"


def test_check_names_undocumented_and_unknown_keys(demo: Path) -> None:
    run(demo)
    (demo / "values.yaml").write_text(VALUES + "undocumented: 1\n## @param ghost.key Not there\n")
    p = run("--check", demo)
    assert p.returncode == 1
    assert "key `undocumented` has no `## @param" in p.stderr
    assert "`@param ghost.key` names a key that is not in values.yaml" in p.stderr
    assert str(demo) in p.stderr


def test_creates_readme_and_appends_markers(tmp_path: Path, demo: Path) -> None:
    (demo / "README.md").unlink()
    assert run(demo).returncode == 0
    text = (demo / "README.md").read_text()
    assert text.startswith("# demo\n\nA demo chart\n") and "<!-- PARAMETERS:START -->" in text
    (demo / "README.md").write_text("# demo\n\nNo markers yet.\n")
    assert run(demo).returncode == 0
    text = (demo / "README.md").read_text()
    assert text.startswith("# demo\n\nNo markers yet.\n") and text.count("<!-- PARAMETERS:START -->") == 1
    assert run("--check", demo).returncode == 0
