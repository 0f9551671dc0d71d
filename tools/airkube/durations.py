"""One parser for every duration the CLI takes (``--timeout 90s``, ``10m``, ``1h30m``, or plain seconds)."""

from __future__ import annotations

import re

from .errors import ConfigError

_PART = re.compile(r"(\d+(?:\.\d+)?)([hms]?)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}


def parse_duration(text: str, option: str = "--timeout") -> float:
    """'600' / '90s' / '10m' / '1h30m' → seconds; ConfigError naming ``option`` for anything else."""
    value = str(text).strip().lower()
    parts = _PART.findall(value)
    if not value or "".join(n + u for n, u in parts) != value or (len(parts) > 1 and any(u == "" for _, u in parts)):
        raise ConfigError(f"{option} {text!r} is not a duration: write 600, 90s, 10m, 1h or 1h30m")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def go_duration(text: str, option: str = "--timeout") -> str:
    """The same duration as helm/Go expect it ("600" → "600s")."""
    return f"{parse_duration(text, option):g}s"
