"""charts/airflow/files/sitecustomize.py (scheduler/triggerer `gcFreezeBeforeFork`), run by a real Python at start-up
through PYTHONPATH, as in the pods: every fork freezes the parent's objects first, and the image's own
sitecustomize that it shadows still runs. (Live: docs/benchmarks.md, P5.)"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import AIRFLOW_CHART  # noqa: E402

HOOK = AIRFLOW_CHART / "files" / "sitecustomize.py"

PROBE = """
import gc, os, sys
print("hook", getattr(sys.modules.get("sitecustomize"), "__file__", None))
print("before-fork", gc.get_freeze_count())
pid = os.fork()
if pid == 0:
    os._exit(0 if gc.get_freeze_count() > 0 else 3)
_, status = os.waitpid(pid, 0)
print("child-saw-frozen", os.waitstatus_to_exitcode(status) == 0)
print("after-fork", gc.get_freeze_count())
"""


def run(pythonpath: list[Path], freeze: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRKUBE_")}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    if freeze:
        env["AIRKUBE_GC_FREEZE_BEFORE_FORK"] = "1"  # set by the chart with scheduler/triggerer.gcFreezeBeforeFork
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60,
                          check=True)
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def test_fork_freezes_the_parents_objects(tmp_path):
    ours = tmp_path / "config"
    ours.mkdir()
    shutil.copy(HOOK, ours / "sitecustomize.py")
    got = run([ours])
    assert got["hook"] == str(ours / "sitecustomize.py")
    assert got["before-fork"] == "0"
    assert got["child-saw-frozen"] == "True"
    assert int(got["after-fork"]) > 1000  # the interpreter's own objects at least


def test_the_shadowed_sitecustomize_still_runs(tmp_path):
    ours, image = tmp_path / "config", tmp_path / "image"
    ours.mkdir()
    image.mkdir()
    shutil.copy(HOOK, ours / "sitecustomize.py")
    marker = tmp_path / "marker"
    (image / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    run([ours, image])
    assert marker.read_text() == "ran"


def test_without_the_hook_nothing_is_frozen(tmp_path):
    got = run([tmp_path])
    assert got["child-saw-frozen"] == "False" and got["after-fork"] == "0"


def test_the_hook_without_its_variable_freezes_nothing(tmp_path):
    """The scheduler gets the hook for skipRepeatedPodDeletes alone when gcFreezeBeforeFork is false."""
    ours = tmp_path / "config"
    ours.mkdir()
    shutil.copy(HOOK, ours / "sitecustomize.py")
    got = run([ours], freeze=False)
    assert got["hook"] == str(ours / "sitecustomize.py")
    assert got["child-saw-frozen"] == "False" and got["after-fork"] == "0"
