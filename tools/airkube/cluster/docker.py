"""airkube's private Docker engine for the kind provider (scripts/docker-engine.sh does the work).

The engine is Debian's docker.io (20.10) on its own socket, data root, exec root and containerd, started and
stopped by PID file; it never touches the local cluster's containerd nor a system Docker. Containers may only
use the network `airkube-kind` (bridge airkube-kind0, 10.87.0.0/24): no NAT, nothing forwarded off the bridge,
and the embedded DNS forwards only to the bridge's own address, where the host refuses it.

`--privileged` asks for every capability; this host's bounding set lacks CAP_SYS_RESOURCE, so the engine's
default OCI runtime is scripts/docker/airkube-runc: runc, minus the capabilities outside CapBnd.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import ClusterError

PRIVATE_SOCKET = Path("/run/airkube-docker/docker.sock")
PRIVATE_HOST = f"unix://{PRIVATE_SOCKET}"
NETWORK = "airkube-kind"
KIND_VERSION = "v0.33.0"


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def engine_script() -> Path:
    return repo_root() / "scripts" / "docker-engine.sh"


def private_engine_up() -> bool:
    return PRIVATE_SOCKET.is_socket() and _answers(PRIVATE_HOST)


def _answers(host: str, timeout: float = 10.0) -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    try:
        return subprocess.run([docker, "version"], capture_output=True, timeout=timeout,
                              env={**os.environ, "DOCKER_HOST": host}).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def uses_private_engine() -> bool:
    """True when kind should talk to airkube's engine: DOCKER_HOST names it, or DOCKER_HOST is unset and the
    private engine is the one that answers."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host == PRIVATE_HOST
    return private_engine_up()


def engine_env() -> dict[str, str]:
    """Environment for docker/kind: the private engine (and its network for kind) when that is the one in use."""
    env = dict(os.environ)
    if uses_private_engine():
        env["DOCKER_HOST"] = PRIVATE_HOST
        env["KIND_EXPERIMENTAL_DOCKER_NETWORK"] = NETWORK
    return env


def run_engine_script(action: str, *args: str) -> None:
    proc = subprocess.run(["bash", str(engine_script()), action, *args])
    if proc.returncode != 0:
        raise ClusterError(f"scripts/docker-engine.sh {action} failed (exit {proc.returncode}); "
                           "logs in /run/airkube-docker/*.log")


def up() -> None:
    run_engine_script("up")


def down(purge: bool = False) -> None:
    run_engine_script("down", *(["--purge"] if purge else []))


def kind_binary(build: bool = True) -> Path | None:
    """kind: .venv/bin/kind, else PATH, else the Go build of sigs.k8s.io/kind@KIND_VERSION cached by version
    (built here from the Go module proxy when `build` is true, about a minute cold; None when absent and not built)."""
    beside = Path(sys.executable).parent / "kind"
    if beside.exists():
        return beside
    found = shutil.which("kind")
    if found:
        return Path(found)
    cache = Path(os.environ.get("AIRKUBE_CACHE", Path.home() / ".cache" / "airkube")) / "bin"
    out_dir = cache / f"kind-{KIND_VERSION}.d"
    path = out_dir / "kind"
    if os.access(path, os.X_OK):
        return path
    if not build:
        return None
    if not shutil.which("go"):
        raise ClusterError("kind is not installed and Go is missing to build it: install kind "
                           f"{KIND_VERSION} (https://kind.sigs.k8s.io) or Go, then retry")
    print(f"[kind] building sigs.k8s.io/kind@{KIND_VERSION} with go install (once, cached in {out_dir})",
          file=sys.stderr)
    tmp_dir = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    env = {**os.environ, "GOBIN": str(tmp_dir), "CGO_ENABLED": "0", "GOFLAGS": "-trimpath -buildvcs=false"}
    proc = subprocess.run(["go", "install", "-ldflags", "-s -w", f"sigs.k8s.io/kind@{KIND_VERSION}"],
                          env=env, cwd="/", capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise ClusterError(f"go install sigs.k8s.io/kind@{KIND_VERSION} failed:\n{proc.stderr[-2000:]}")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp_dir.rename(out_dir)  # whole or not at all
    return path
