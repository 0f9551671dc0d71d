"""One calling style for the chart helpers (Bitnami common's): every define takes a `dict`, documented by a
"Usage:/Params:" header comment, and every include passes a `dict` — never a positional `list`."""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import CHARTS

HELPER_FILES = sorted(CHARTS.glob("*/templates/_*.tpl"))
TEMPLATE_FILES = sorted(p for p in CHARTS.glob("*/templates/**/*") if p.is_file() and not p.name.startswith("_")) + \
    sorted(CHARTS.glob("*/files/*.yaml"))
DEFINE = re.compile(r'\{\{-? define "([^"]+)" -?\}\}')
INCLUDE = re.compile(r'include "([^"]+)" ')
COMMENT = re.compile(r"\{\{-? ?/\*(.*?)\*/ ?-?\}\}", re.S)


def includes(text: str) -> list[tuple[str, str]]:
    """(helper name, argument expression) of every `include`; a parenthesised argument is taken whole."""
    out = []
    for m in INCLUDE.finditer(text):
        rest = text[m.end():]
        if rest.startswith("("):
            depth = 0
            for i, ch in enumerate(rest):  # noqa: B007 - i is read after the loop
                depth += {"(": 1, ")": -1}.get(ch, 0)
                if depth == 0:
                    break
            out.append((m.group(1), rest[: i + 1]))
        else:
            out.append((m.group(1), re.match(r"[^\s)|}]+", rest).group(0)))
    return out


def rel(path: Path) -> str:
    return str(path.relative_to(CHARTS))


def test_files_found() -> None:
    assert len(HELPER_FILES) >= 15 and len(TEMPLATE_FILES) >= 30


@pytest.mark.parametrize("path", HELPER_FILES, ids=rel)
def test_every_define_is_documented_with_usage_and_params(path: Path) -> None:
    text = path.read_text()
    docs = [m.group(1) for m in COMMENT.finditer(text) if "Usage:" in m.group(1)]
    for name in DEFINE.findall(text):
        block = next((d for d in docs if re.search(rf'"{re.escape(name)}"|(?<![\w.]){re.escape(name)}(?![\w.-])', d)), None)
        assert block is not None, f"{rel(path)}: define {name!r} has no Usage:/Params: comment naming it"
        assert "Params:" in block, f"{rel(path)}: the Usage comment of {name!r} has no Params:"
        usage = block.split("Usage:", 1)[1].split("Params:", 1)[0]
        for call in re.findall(r'include "[^"]+" (\S+)', usage):
            assert call.startswith("(dict"), f"{rel(path)}: usage of {name!r} is not called with a dict: {call}"


@pytest.mark.parametrize("path", HELPER_FILES + TEMPLATE_FILES, ids=rel)
def test_every_include_passes_a_dict(path: Path) -> None:
    text = COMMENT.sub("", path.read_text())
    assert "index . 0" not in text and "index . 1" not in text, f"{rel(path)}: positional arguments"
    helper = path.name.startswith("_")
    for name, arg in includes(text):
        if arg.startswith("(dict"):
            continue
        # inside a define, `.` forwards the define's own dict argument unchanged
        assert helper and arg == ".", f"{rel(path)}: include {name!r} {arg!r} — pass (dict \"context\" $ …)"


def test_helpers_reject_the_old_positional_style(helm, tmp_path: Path) -> None:
    """A define reads its arguments by name: called the old way (a list) it fails loudly instead of rendering."""
    chart = tmp_path / "airflow"
    shutil.copytree(CHARTS / "airflow", chart)
    (chart / "templates" / "zz-style-probe.yaml").write_text('{{ include "airflow.componentName" (list . "x") }}\n')
    result = helm.run("template", "airflow", str(chart), "--show-only", "templates/zz-style-probe.yaml", check=False)
    assert result.returncode != 0 and "can't evaluate field" in result.stderr, result.stderr
