"""The Go binaries of the cluster (kube multi-call, etcd, coredns), built once by scripts/build-go.sh."""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from ...progress import Heartbeat
from .layout import Layout


def build_script() -> Path:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "scripts" / "build-go.sh"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("scripts/build-go.sh not found: run airkube from a checkout of the repo")


def targets(layout: Layout) -> dict[str, Path]:
    return {"kube": layout.kube_bin, "etcd": layout.etcd_bin, "kube-router": layout.kube_router_bin}


def _say(text: str) -> None:
    print(text, flush=True)


def _run_logged(argv: list[str], log: Path, env: dict[str, str], say: Callable[[str], None]) -> int:
    """Run `argv`: every output line goes to `log`; the script's own ``[build-go]`` lines (what is built, a
    heartbeat with the time elapsed, the time taken) also go to `say`, as they come."""
    with open(log, "ab") as handle, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                     env=env) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            handle.write(raw)
            handle.flush()
            line = raw.decode(errors="replace").rstrip()
            if line.startswith("[build-go]"):
                say(line)
        return proc.wait()


def _tail(log: Path, lines: int = 5) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def ensure(layout: Layout, log_dir: Path | None = None, say: Callable[[str], None] = _say) -> dict[str, Path]:
    """Build whatever is missing, cached by version in <cache>/bin (measured here on 2 cores: kube ~9 min,
    etcd ~40 s); progress lines go to `say`."""
    built = {}
    for target, path in targets(layout).items():
        if not os.access(path, os.X_OK):
            log = (log_dir or layout.cache / "logs") / f"build-{target}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            layout.bin_cache.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "AIRKUBE_CACHE": str(layout.cache)}
            # one build per target at a time (two `up`s, or an `up` during `make setup`, share <cache>/bin)
            with open(layout.bin_cache / f".build-{target}.lock", "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    with Heartbeat(f"waiting for another build of {target} ({lock.name})", say):
                        fcntl.flock(lock, fcntl.LOCK_EX)
                if not os.access(path, os.X_OK):
                    returncode = _run_logged([str(build_script()), target], log, env, say)
                    if returncode != 0 or not os.access(path, os.X_OK):
                        raise RuntimeError(f"building {target} failed; see {log} "
                                           f"(needs Go and the Go module proxy); its last lines:\n{_tail(log)}")
        built[target] = path
    return built
