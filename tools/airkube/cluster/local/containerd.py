"""The local cluster's containerd, through `ctr` (namespace k8s.io): health, tasks, images, archive import and
the removal of every container on teardown."""

from __future__ import annotations

import json
import subprocess
import tarfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from ...errors import ClusterError, WaitTimeout
from ...kube import poll_until


@dataclass(frozen=True)
class Containerd:
    socket: Path
    namespace: str = "k8s.io"

    def ctr(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        argv = ["ctr", "--address", str(self.socket), "-n", self.namespace, *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
        return result

    def answers(self) -> bool:
        if not self.socket.exists():
            return False
        return self.ctr("version", check=False, timeout=10).returncode == 0

    def tasks(self) -> dict[str, str]:
        """task id -> state (RUNNING, STOPPED, ...)."""
        rows = self.ctr("tasks", "ls", check=False).stdout.splitlines()[1:]
        return {row.split()[0]: row.split()[-1] for row in rows if row.strip()}

    def running_tasks(self) -> set[str]:
        """IDs of the containers this containerd runs right now."""
        return {task for task, state in self.tasks().items() if state == "RUNNING"}

    def images(self) -> dict[str, str]:
        """ref -> manifest digest of the images present."""
        result = self.ctr("images", "ls", check=False)
        if result.returncode != 0:
            return {}
        rows = [line.split() for line in result.stdout.splitlines()[1:]]
        return {row[0]: row[2] for row in rows if len(row) >= 3 and not row[0].startswith("sha256:")}

    def import_archives(self, archives: list[Path], note: Callable[[str], None]) -> None:
        """Import OCI archives; archives whose refs are all present with the same manifest digest are skipped."""
        if not self.answers():
            raise ClusterError("containerd of the local cluster is not running: `airkube cluster up --provider local`")
        present = self.images()
        for archive in map(Path, archives):
            if not archive.exists():
                raise ClusterError(f"image archive {archive} does not exist: build it first (`airkube images build`)")
            refs = archive_refs(archive)
            if refs and all(present.get(ref) == digest for ref, digest in refs.items()):
                continue
            self.ctr("images", "import", str(archive))
            note(f"imported {archive.name} ({', '.join(refs) or 'no ref'})")

    def remove_all(self, say: Callable[[str], None]) -> None:
        """SIGKILL every task, then delete tasks and containers in bulk."""
        tasks = self.tasks()
        for task, state in tasks.items():
            if state != "STOPPED":
                self.ctr("tasks", "kill", "-s", "SIGKILL", task, check=False)
        with suppress(WaitTimeout):
            poll_until(lambda: all(state == "STOPPED" for state in self.tasks().values()), 10, "tasks still running",
                       interval=0.1)
        if tasks:
            self.ctr("tasks", "delete", "--force", *tasks, check=False)
        containers = self.ctr("containers", "ls", "-q", check=False).stdout.split()
        if containers:
            self.ctr("containers", "delete", *containers, check=False)
            say(f"removed {len(containers)} container(s)")


def archive_refs(archive: Path) -> dict[str, str]:
    """ref -> manifest digest named in an OCI archive's index.json (empty when it names none)."""
    try:
        with tarfile.open(archive) as tar:
            member = tar.extractfile("index.json")
            index = json.load(member) if member else {}
    except (KeyError, tarfile.TarError, json.JSONDecodeError):
        return {}
    refs = {}
    for manifest in index.get("manifests", []):
        name = (manifest.get("annotations") or {}).get("io.containerd.image.name")
        if name:
            refs[name] = manifest.get("digest", "")
    return refs
