"""airkube smoke DAG: proves the DAG file itself arrived through git-sync.

Only delivered when the deployment takes DAGs from git (``dags.gitSync.enabled``): ``airkube dags push``
leaves it out. git-sync v4 checks every commit out into ``<root>/.worktrees/<sha>`` and points a symlink
(``<root>/<link>``) at it; a worktree has a ``.git`` *file* (``gitdir: ...``). The task finds the checkout
that holds this file, prints the commit and fails if the file did not come from a git checkout.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from airflow.sdk import dag, task

DAG_ID = "smoke_git_sync"
_SHA = re.compile(r"^[0-9a-f]{40}$")


def _checkout_of(path: Path) -> Path | None:
    for parent in path.parents:
        if (parent / ".git").exists():
            return parent
    return None


def _commit(checkout: Path) -> str:
    if _SHA.match(checkout.name):  # git-sync v4 names each worktree after its commit
        return checkout.name
    try:
        out = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=20
        )
        if out.returncode == 0 and _SHA.match(out.stdout.strip()):
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    git = checkout / ".git"
    gitdir = Path(git.read_text().split(":", 1)[1].strip()) if git.is_file() else git
    head = (gitdir / "HEAD").read_text().strip()
    if head.startswith("ref:"):
        head = (gitdir / head.split(":", 1)[1].strip()).read_text().strip()
    return head


@dag(dag_id=DAG_ID, schedule=None, catchup=False, tags=["airkube-smoke"], doc_md=__doc__)
def smoke_git_sync():
    @task
    def came_through_git() -> str:
        here = Path(os.path.abspath(__file__))
        real = Path(os.path.realpath(__file__))
        print(f"AIRKUBE-EVIDENCE dag_file={here}", flush=True)
        print(f"AIRKUBE-EVIDENCE dag_file_real={real}", flush=True)
        checkout = _checkout_of(real)
        if checkout is None:
            raise RuntimeError(f"{real} is not inside a git checkout: the DAG did not come through git-sync")
        marker = checkout / ".git"
        kind = "worktree" if marker.is_file() else "clone"
        print(f"AIRKUBE-EVIDENCE git_checkout={checkout} kind={kind}", flush=True)
        via_link = here != real or ".worktrees" in real.parts
        print(f"AIRKUBE-EVIDENCE git_sync_link={'yes' if via_link else 'no'}", flush=True)
        commit = _commit(checkout)
        if not _SHA.match(commit):
            raise RuntimeError(f"could not read the commit of {checkout}: {commit!r}")
        print(f"AIRKUBE-EVIDENCE git_commit={commit}", flush=True)
        return commit

    came_through_git()


smoke_git_sync()
