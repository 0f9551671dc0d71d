"""``kubectl port-forward`` to a Service on 127.0.0.1 with a random local port, stopped by PID on exit."""

from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import threading
from dataclasses import dataclass, field

from airkube.binaries import venv_tool

from .errors import PortForwardError, WaitTimeout
from .kube import poll_until

_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) ->")


def kubectl_binary() -> str:
    """kubectl of the project venv (``.venv/bin/kubectl``, installed by ``make setup``), else from PATH."""
    found = venv_tool("kubectl")
    if not found:
        raise PortForwardError("kubectl not found: run `make setup` (it installs .venv/bin/kubectl)")
    return found


@dataclass
class PortForward:
    """Context manager: ``with PortForward("svc/x", 8080, namespace="ns") as pf: pf.local_port``."""

    target: str
    remote_port: int
    namespace: str = "default"
    kube_context: str | None = None
    kubeconfig: str | None = None
    timeout: float = 30.0
    local_port: int = 0
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    _output: list[str] = field(default_factory=list, repr=False)

    def command(self) -> list[str]:
        cmd = [kubectl_binary(), "port-forward", "--address", "127.0.0.1", "-n", self.namespace]
        if self.kube_context:
            cmd += ["--context", self.kube_context]
        if self.kubeconfig:
            cmd += ["--kubeconfig", self.kubeconfig]
        cmd += [self.target, f":{self.remote_port}"]
        return cmd

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def start(self) -> PortForward:
        self.process = subprocess.Popen(  # noqa: S603
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        atexit.register(self.stop)
        found = threading.Event()

        def _reader() -> None:
            assert self.process and self.process.stdout
            for line in self.process.stdout:
                self._output.append(line.rstrip())
                match = _FORWARDING.search(line)
                if match and not found.is_set():
                    self.local_port = int(match.group(1))
                    found.set()

        threading.Thread(target=_reader, daemon=True).start()
        process = self.process

        def up() -> bool:
            if found.wait(0.2):
                return True
            if process.poll() is not None:
                raise WaitTimeout("kubectl exited")
            return False

        try:
            poll_until(up, self.timeout, "no forwarding line", interval=0)
            return self
        except WaitTimeout:
            pass
        output = "\n".join(self._output[-20:])
        self.stop()
        raise PortForwardError(f"`{' '.join(self.command())}` did not come up: {output or 'no output'}")

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # own session: only kubectl and nothing else
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def __enter__(self) -> PortForward:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
