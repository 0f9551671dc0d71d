"""The Go binaries of the cluster (kube multi-call, etcd, coredns), built once by scripts/build-go.sh."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

from .layout import Layout


def build_script() -> Path:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "scripts" / "build-go.sh"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("scripts/build-go.sh not found: run airkube from a checkout of the repo")


def targets(layout: Layout) -> dict[str, Path]:
    return {"kube": layout.kube_bin, "etcd": layout.etcd_bin}


def ensure(layout: Layout, log_dir: Path | None = None) -> dict[str, Path]:
    """Build whatever is missing, cached by version in <cache>/bin (measured here on 2 cores: kube ~9 min,
    etcd ~40 s)."""
    built = {}
    for target, path in targets(layout).items():
        if not os.access(path, os.X_OK):
            log = (log_dir or layout.cache / "logs") / f"build-{target}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            layout.bin_cache.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "AIRKUBE_CACHE": str(layout.cache)}
            # one build per target at a time (two `up`s, or an `up` during `make setup`, share <cache>/bin)
            with open(layout.bin_cache / f".build-{target}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not os.access(path, os.X_OK):
                    with open(log, "ab") as handle:
                        result = subprocess.run([str(build_script()), target], stdout=handle,
                                                stderr=subprocess.STDOUT, env=env)
                    if result.returncode != 0 or not os.access(path, os.X_OK):
                        raise RuntimeError(f"building {target} failed; see {log} "
                                           "(needs Go and the Go module proxy)")
        built[target] = path
    return built
