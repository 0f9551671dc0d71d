"""Start, watch and stop the cluster's host processes. Every process has a PID file and a log file.

A PID file holds "<pid> <start-time-ticks>": a PID is only acted on when /proc/<pid>/stat still shows the
same start time, so a recycled PID of someone else's process is never signalled.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .config import Component, Health

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class PidRecord:
    pid: int
    start_ticks: int

    def render(self) -> str:
        return f"{self.pid} {self.start_ticks}\n"

    @classmethod
    def parse(cls, text: str) -> PidRecord | None:
        parts = text.split()
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            return None
        return cls(int(parts[0]), int(parts[1]))


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time since boot, in clock ticks); None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def read_pid(pid_file: Path) -> PidRecord | None:
    try:
        return PidRecord.parse(pid_file.read_text())
    except FileNotFoundError:
        return None


def alive(pid_file: Path) -> int | None:
    """PID of the live process the file names, or None (missing file, dead or recycled PID)."""
    record = read_pid(pid_file)
    if record is None:
        return None
    return record.pid if start_ticks(record.pid) == record.start_ticks else None


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages (the one kube binary mapped by five processes) counted once overall."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def start(component: Component, pid_file: Path, log_file: Path, env: dict[str, str] | None = None) -> int:
    """Start detached (own session, survives the CLI), stdout+stderr appended to log_file."""
    running = alive(pid_file)
    if running:
        return running
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "PATH": f"{BASE_PATH}:{os.environ.get('PATH', '')}", **(env or {})}
    with open(log_file, "ab") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {' '.join(component.argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(component.argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=full_env, close_fds=True,
        )
    ticks = None
    for _ in range(50):
        ticks = start_ticks(proc.pid)
        if ticks is not None:
            break
        time.sleep(0.01)
    if ticks is None:
        raise RuntimeError(f"{component.name} exited at once; see {log_file}")
    pid_file.write_text(PidRecord(proc.pid, ticks).render())
    return proc.pid


def stop(pid_file: Path, grace: float = 10.0) -> bool:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL. Removes the PID file. True if a process was stopped."""
    pid = alive(pid_file)
    stopped = False
    if pid:
        stopped = True
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        record = read_pid(pid_file)
        while time.monotonic() < deadline and record and start_ticks(pid) == record.start_ticks:
            time.sleep(0.1)
        if record and start_ticks(pid) == record.start_ticks:
            _signal(pid, signal.SIGKILL)
            for _ in range(50):
                if start_ticks(pid) != record.start_ticks:
                    break
                time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return stopped


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def probe(health: Health, timeout: float = 2.0) -> tuple[bool, str]:
    """(ok, detail) for an HTTP health endpoint; (True, 'no endpoint') when there is none."""
    if health.url is None:
        return True, "no endpoint"
    context: ssl.SSLContext | None = None
    if health.url.startswith("https://"):
        if health.ca_file:
            context = ssl.create_default_context(cafile=str(health.ca_file))
        else:  # loopback-only self-signed endpoints of controller-manager / scheduler
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(health.url, timeout=timeout, context=context) as response:
            body = response.read(200).decode(errors="replace").strip()
            return response.status == 200, f"{response.status} {body}"
    except urllib.error.HTTPError as exc:
        return False, f"{exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, str(reason)


def wait_ready(component: Component, pid_file: Path, log_file: Path, extra_check=None) -> float:
    """Block until the component answers its health check; raise with the log tail if it dies or times out."""
    started = time.monotonic()
    deadline = started + component.timeout
    detail = ""
    while time.monotonic() < deadline:
        if not alive(pid_file):
            raise RuntimeError(f"{component.name} died during start-up. Last log lines ({log_file}):\n{tail(log_file)}")
        ok, detail = probe(component.health)
        if ok and (extra_check is None or extra_check()):
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"{component.name} not ready after {component.timeout:.0f}s ({detail}). "
                       f"Last log lines ({log_file}):\n{tail(log_file)}")


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def find_by_argument(argument: str, value: str) -> list[int]:
    """PIDs whose argv contains `argument value` (e.g. containerd shims started with `-address <our socket>`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        args = [a.decode(errors="replace") for a in argv]
        for i, arg in enumerate(args[:-1]):
            if arg == argument and args[i + 1] == value:
                found.append(int(entry.name))
                break
    return found
