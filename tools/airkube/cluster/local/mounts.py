"""Mounts the cluster leaves under its state directory (pod volumes, overlay rootfs, shm, netns)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounts_under(root: Path, mountinfo: str | None = None) -> list[Path]:
    """Mount points at or below `root`, deepest first (so children are unmounted before parents)."""
    text = mountinfo if mountinfo is not None else Path("/proc/self/mountinfo").read_text()
    prefix = str(root).rstrip("/")
    found: list[Path] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        point = _unescape(fields[4])
        if point == prefix or point.startswith(prefix + "/"):
            found.append(Path(point))
    # dedupe (stacked mounts appear twice: unmount twice) but keep deepest-first order
    return sorted(found, key=lambda p: (len(p.parts), str(p)), reverse=True)


def unmount_all(root: Path, rounds: int = 5) -> list[Path]:
    """Unmount everything below root; lazily if a plain umount fails. Returns what was unmounted."""
    done: list[Path] = []
    for _ in range(rounds):
        points = mounts_under(root)
        if not points:
            break
        for point in points:
            result = subprocess.run(["umount", str(point)], capture_output=True, text=True)
            if result.returncode != 0:
                subprocess.run(["umount", "-l", str(point)], capture_output=True, text=True)
            done.append(point)
    return done
