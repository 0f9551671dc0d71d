"""Where the command-line tools installed by `make setup` are found."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def venv_tool(name: str) -> str | None:
    """The tool next to this Python (the project venv's bin, filled by `make setup`), else on PATH, else None."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)
