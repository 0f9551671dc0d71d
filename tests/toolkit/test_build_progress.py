"""Issue 14, "a 13-minute silence": long steps print what they build and the time elapsed, off a TTY too.

scripts/build-go.sh runs for real with a stand-in `go` first on PATH (a real cold Kubernetes compile takes ~9 min
here): it sleeps, then writes the `-o` file, or fails. Output goes to a pipe, as in CI.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from airkube.cluster.local import binaries
from airkube.cluster.local.layout import Layout
from airkube.progress import Heartbeat, Throttle, elapsed, interval

ROOT = Path(__file__).resolve().parents[2]
FAKE_GO = """#!/bin/sh
# stand-in for `go build -o OUT .` / `go install`: takes a while, then writes OUT (or fails with $FAKE_GO_FAIL)
sleep "${FAKE_GO_SECONDS:-3}"
[ -n "$FAKE_GO_FAIL" ] && { echo "fake go: compile error" >&2; exit 1; }
while [ $# -gt 0 ]; do [ "$1" = "-o" ] && { printf '#!/bin/sh\\n' > "$2"; chmod +x "$2"; }; shift; done
"""
HEARTBEAT = re.compile(r"\[build-go\] \.\.\. building etcd v[\d.]+: 0m0\ds elapsed")


@pytest.fixture
def fake_go(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "go").write_text(FAKE_GO)
    (bin_dir / "go").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "AIRKUBE_CACHE": str(tmp_path / "cache"),
            "AIRKUBE_HEARTBEAT_S": "1", "FAKE_GO_SECONDS": "3"}


def test_build_script_beats_while_building_and_stops_the_loop(fake_go: dict[str, str], tmp_path: Path) -> None:
    started = time.monotonic()
    # capture_output: run() returns only when every writer of the pipe is gone, the heartbeat loop included
    result = subprocess.run([str(ROOT / "scripts" / "build-go.sh"), "etcd"], capture_output=True, text=True,
                            env=fake_go, timeout=30, check=False)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("[build-go] building etcd v")
    beats = [line for line in lines if HEARTBEAT.fullmatch(line)]
    assert len(beats) >= 2, result.stderr
    assert re.fullmatch(r"\[build-go\] built etcd v[\d.]+ in \d+ s", lines[-1]), result.stderr
    assert took < 10, f"the heartbeat loop outlived the build ({took:.1f}s)"
    assert any((tmp_path / "cache" / "bin").glob("etcd-v*"))
    # cached: a second run builds nothing and says nothing
    again = subprocess.run([str(ROOT / "scripts" / "build-go.sh"), "etcd"], capture_output=True, text=True,
                           env=fake_go, timeout=30, check=False)
    assert again.returncode == 0 and again.stderr == ""


def test_a_failed_build_stops_the_loop_too(fake_go: dict[str, str]) -> None:
    env = {**fake_go, "FAKE_GO_FAIL": "1", "FAKE_GO_SECONDS": "2"}
    started = time.monotonic()
    result = subprocess.run([str(ROOT / "scripts" / "build-go.sh"), "etcd"], capture_output=True, text=True,
                            env=env, timeout=30, check=False)
    assert result.returncode != 0 and "fake go: compile error" in result.stderr
    assert time.monotonic() - started < 10, "the EXIT trap must stop the heartbeat loop"


def test_binaries_ensure_forwards_the_progress_lines(fake_go: dict[str, str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """What `cluster up` prints while it builds: the script's lines reach the reporter, all of it the log."""
    for key, value in fake_go.items():
        monkeypatch.setenv(key, value)
    layout = Layout(state=tmp_path / "state", cache=tmp_path / "cache")
    monkeypatch.setattr(binaries, "targets", lambda lay: {"etcd": lay.etcd_bin})
    said: list[tuple[float, str]] = []
    t0 = time.monotonic()
    built = binaries.ensure(layout, say=lambda text: said.append((time.monotonic() - t0, text)))
    assert built["etcd"].exists()
    texts = [text for _, text in said]
    assert texts[0].startswith("[build-go] building etcd") and texts[-1].startswith("[build-go] built etcd")
    assert sum(bool(HEARTBEAT.fullmatch(t)) for t in texts) >= 2, texts
    assert said[1][0] < 2.5, "lines are forwarded as they come, not at the end"
    log = (layout.cache / "logs" / "build-etcd.log").read_text()
    assert "[build-go] built etcd" in log


def test_heartbeat_and_throttle() -> None:
    assert [elapsed(s) for s in (5, 65, 3725)] == ["5s", "1m05s", "1h02m"]
    assert interval() > 0
    lines: list[str] = []
    done = threading.Event()
    with Heartbeat("helm wait", lines.append, every=0.2):
        done.wait(0.7)
    count = len(lines)
    assert count >= 2 and all(line.startswith("… helm wait: ") and line.endswith(" elapsed") for line in lines)
    time.sleep(0.5)
    assert len(lines) == count, "no line after the block ended"
    now = [0.0]
    throttle = Throttle(every=30, clock=lambda: now[0])
    assert throttle.due("1/3 ready") and not throttle.due("1/3 ready")
    now[0] = 31
    assert throttle.due("1/3 ready"), "the same text again after 30 s"
    assert throttle.due("2/3 ready"), "a change at once"


def test_cluster_up_reporter_off_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """`airkube cluster up > log`: each step's start, the notes (brackets intact), and a beat while it is quiet."""
    import io

    from rich.console import Console

    from airkube.cli import cluster as cli_cluster

    out = io.StringIO()
    monkeypatch.setattr(cli_cluster, "console", Console(file=out, force_terminal=False, width=160))
    monkeypatch.setenv("AIRKUBE_HEARTBEAT_S", "0.3")
    reporter = cli_cluster.RichReporter()
    reporter.start("binaries (scripts/build-go.sh, cached)")
    reporter.note("[build-go] building kube v1.34.4 ...")
    time.sleep(1.0)
    reporter.done("binaries (scripts/build-go.sh, cached)", 1.0)
    time.sleep(0.5)
    lines = out.getvalue().splitlines()
    assert lines[0] == "… binaries (scripts/build-go.sh, cached)"
    assert lines[1] == "  [build-go] building kube v1.34.4 ..."
    assert any(re.fullmatch(r"  … binaries \(scripts/build-go.sh, cached\): 0s elapsed", line) for line in lines)
    assert lines[-1] == "✓ binaries (scripts/build-go.sh, cached) (1.0s)", "nothing after done"


def test_release_wait_progress_line() -> None:
    from airkube.release import progress_line
    from airkube.wait import Snapshot, WorkloadState

    snap = Snapshot([WorkloadState("Deployment", "airflow-scheduler", 0, 1, False),
                     WorkloadState("StatefulSet", "airflow-postgres", 1, 1, True)], [])
    assert progress_line(snap) == "1/2 workloads ready; waiting: deployment/airflow-scheduler"
    assert progress_line(Snapshot([], [])) == "no workloads yet"
