"""Progress that shows off a TTY too (CI logs, `make deploy > file`): long steps print what they are doing and the
time elapsed at least every ``AIRKUBE_HEARTBEAT_S`` seconds (default 20).

On a terminal rich spinners and live tables do that job; rich prints nothing from them until they stop when the
output is not a terminal, so callers add a `Heartbeat` (a daemon thread) or `Throttle` for that case.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, MutableMapping
from types import TracebackType
from typing import Self

HEARTBEAT_ENV = "AIRKUBE_HEARTBEAT_S"
DEFAULT_INTERVAL_S = 20.0


def interval() -> float:
    """Seconds between progress lines: ``$AIRKUBE_HEARTBEAT_S`` (a positive number), else 20."""
    try:
        value = float(os.environ.get(HEARTBEAT_ENV, DEFAULT_INTERVAL_S))
    except ValueError:
        return DEFAULT_INTERVAL_S
    return value if value > 0 else DEFAULT_INTERVAL_S


def elapsed(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Heartbeat:
    """``with Heartbeat("building kube v1.34.4", say): ...`` says ``… building kube v1.34.4: 1m20s elapsed`` every
    `every` seconds until the block ends (also on error). `touch()` (something else was printed) postpones the
    next line, so a step that reports by itself is not beaten twice."""

    def __init__(self, what: str, say: Callable[[str], None], every: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.say = say
        self.every = every or interval()
        self.clock = clock
        self.started = clock()
        self._last = self.started
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self.started = self._last = self.clock()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat: {self.what}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def touch(self) -> None:
        self._last = self.clock()

    def _run(self) -> None:
        while not self._stop.wait(min(0.5, self.every)):
            if self.clock() - self._last >= self.every:
                self._last = self.clock()
                self.say(f"… {self.what}: {elapsed(self.clock() - self.started)} elapsed")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class Throttle:
    """For polling loops: `due(text)` is True when `text` changed or `every` seconds passed since the last line."""

    def __init__(self, every: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every or interval()
        self.clock = clock
        self.started = clock()
        self._last_text: str | None = None
        self._last_at = self.started

    def due(self, text: str) -> bool:
        now = self.clock()
        if text != self._last_text or now - self._last_at >= self.every:
            self._last_text, self._last_at = text, now
            return True
        return False

    def elapsed(self) -> str:
        return elapsed(self.clock() - self.started)


NOT_A_TTY_COLUMNS = 160


def fit_output(env: MutableMapping[str, str] | None = None, isatty: Callable[[], bool] | None = None) -> None:
    """Off a terminal rich lays tables out for 80 columns, which folds a six-column table into 10-character
    slivers; give it NOT_A_TTY_COLUMNS (160) instead, unless COLUMNS says otherwise. On a terminal: its width."""
    import sys

    target: MutableMapping[str, str] = os.environ if env is None else env
    tty = isatty() if isatty else sys.stdout.isatty()
    if not tty and not target.get("COLUMNS", "").isdigit():
        target["COLUMNS"] = str(NOT_A_TTY_COLUMNS)
