"""The git-sync v4-compatible replacement (scripts/images/git-sync), run directly on the host against real
repositories: file:// and git:// (git daemon on 127.0.0.1). Needs `go` and `git`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SRC = REPO_ROOT / "scripts" / "images" / "git-sync"

pytestmark = pytest.mark.skipif(shutil.which("go") is None or shutil.which("git") is None,
                                reason="needs go (to build git-sync) and git")


@pytest.fixture(scope="session")
def git_sync(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bin") / "git-sync"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -p=1", "GOTOOLCHAIN": "local"}
    subprocess.run(["go", "build", "-trimpath", "-o", str(out), "."], cwd=SRC, env=env, check=True)
    return out


def git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


class Origin:
    """A bare repository with a working clone to push commits from."""

    def __init__(self, base: Path) -> None:
        self.bare = base / "srv" / "dags.git"
        self.work = base / "work"
        self.bare.parent.mkdir(parents=True)
        git("init", "-q", "--bare", "-b", "main", str(self.bare))
        git("clone", "-q", str(self.bare), str(self.work))
        git("checkout", "-q", "-b", "main", cwd=self.work)

    def commit(self, name: str, content: str, branch: str = "main") -> str:
        (self.work / name).write_text(content)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", f"{name}: {content}", cwd=self.work)
        git("push", "-q", "origin", f"HEAD:{branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    @property
    def url(self) -> str:
        return f"file://{self.bare}"


@pytest.fixture
def origin(tmp_path) -> Origin:
    o = Origin(tmp_path)
    o.commit("dag.py", "v1")
    return o


def run_sync(binary: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITSYNC_", "GIT_SYNC_"))}
    return subprocess.run([str(binary), *args], env={**clean, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def link_sha(link: Path) -> str:
    target = os.readlink(link)
    assert target.startswith(".worktrees/"), target  # relative, inside root, as git-sync v4
    return Path(target).name


def wait_for(predicate, timeout: float = 30, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_one_time_env_contract_file_url(git_sync, origin, tmp_path):
    sha = git("rev-parse", "HEAD", cwd=origin.work)
    root = tmp_path / "root"
    r = run_sync(git_sync, env={"GITSYNC_REPO": origin.url, "GITSYNC_REF": "main", "GITSYNC_ROOT": str(root),
                                "GITSYNC_LINK": "repo", "GITSYNC_DEPTH": "1", "GITSYNC_ONE_TIME": "true",
                                "GITSYNC_PERIOD": "60s", "GITSYNC_MAX_FAILURES": "0"})
    assert r.returncode == 0, r.stderr
    assert link_sha(root / "repo") == sha
    assert (root / "repo" / "dag.py").read_text() == "v1"
    assert (root / ".worktrees" / sha).is_dir()
    # shallow, as --depth 1 asks
    assert git("rev-list", "--count", "HEAD", cwd=root / "repo") == "1"


def test_flags_tag_and_sha_and_v3_names(git_sync, origin, tmp_path):
    first = git("rev-parse", "HEAD", cwd=origin.work)
    git("tag", "v1.0", cwd=origin.work)
    git("push", "-q", "origin", "v1.0", cwd=origin.work)
    second = origin.commit("dag.py", "v2")
    for ref, want in (("v1.0", first), (first, first), ("main", second), ("HEAD", second)):
        root = tmp_path / f"root-{ref[:8]}"
        r = run_sync(git_sync, f"--repo={origin.url}", f"--ref={ref}", f"--root={root}", "--link=dags", "--one-time",
                     "--depth=0")
        assert r.returncode == 0, (ref, r.stderr)
        assert link_sha(root / "dags") == want, ref
    # v3 names: GIT_SYNC_BRANCH / GIT_SYNC_REV / --dest / --wait
    root = tmp_path / "root-v3"
    r = run_sync(git_sync, "--dest=d", "--wait=1", env={"GIT_SYNC_REPO": origin.url, "GIT_SYNC_BRANCH": "main",
                                                        "GIT_SYNC_REV": first, "GIT_SYNC_ROOT": str(root),
                                                        "GIT_SYNC_ONE_TIME": "true", "GITSYNC_DEPTH": "0"})
    assert r.returncode == 0, r.stderr
    assert link_sha(root / "d") == first
    r = run_sync(git_sync, env={"GITSYNC_REPO": origin.url, "GITSYNC_BRANCH": "main", "GITSYNC_ROOT": str(root),
                                "GITSYNC_LINK": "b", "GITSYNC_ONE_TIME": "1"})
    assert r.returncode == 0, r.stderr
    assert link_sha(root / "b") == second


def test_continuous_sync_swaps_link_atomically_and_healthz(git_sync, origin, tmp_path):
    root = tmp_path / "root"
    port = free_port()
    proc = subprocess.Popen([str(git_sync), f"--repo={origin.url}", "--ref=main", f"--root={root}", "--link=repo",
                             "--period=200ms", f"--http-bind=127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = wait_for(lambda: (root / "repo").is_symlink() and link_sha(root / "repo"))

        def healthz() -> int:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status
            except (urllib.error.URLError, ConnectionError):
                return 0

        assert wait_for(lambda: healthz() == 200)
        second = origin.commit("dag.py", "v2")
        wait_for(lambda: link_sha(root / "repo") == second)
        assert (root / "repo" / "dag.py").read_text() == "v2"
        wait_for(lambda: not (root / ".worktrees" / first).exists())  # old worktree cleaned up
        assert sorted(p.name for p in root.iterdir()) == [".git", ".worktrees", "repo"]  # no temp links left
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_git_daemon_url(git_sync, origin, tmp_path):
    port = free_port()
    base = origin.bare.parent
    daemon = subprocess.Popen(["git", "daemon", "--export-all", f"--base-path={base}", "--reuseaddr",
                               "--listen=127.0.0.1", f"--port={port}", "--informative-errors", str(base)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def up() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        wait_for(up, timeout=15)
        sha = git("rev-parse", "HEAD", cwd=origin.work)
        root = tmp_path / "root"
        r = run_sync(git_sync, f"--repo=git://127.0.0.1:{port}/dags.git", "--ref=main", f"--root={root}",
                     "--one-time")
        assert r.returncode == 0, r.stderr
        assert link_sha(root / "dags") == sha  # default --link: repo name without .git
        assert (root / "dags" / "dag.py").read_text() == "v1"
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def test_failures_are_logged_and_fatal_after_max_failures(git_sync, tmp_path):
    missing = f"file://{tmp_path}/missing.git"
    r = run_sync(git_sync, f"--repo={missing}", f"--root={tmp_path / 'r1'}", "--one-time")
    assert r.returncode != 0
    assert "does not appear to be a git repository" in r.stderr  # git's own error is shown
    t0 = time.monotonic()
    r = run_sync(git_sync, f"--repo={missing}", f"--root={tmp_path / 'r2'}", "--period=100ms", "--max-failures=2")
    assert r.returncode != 0
    assert r.stderr.count("sync failed") == 3, r.stderr  # 2 tolerated, the 3rd aborts
    assert "too many failures" in r.stderr
    assert time.monotonic() - t0 < 30


def test_unknown_ref_fails_one_time(git_sync, origin, tmp_path):
    r = run_sync(git_sync, f"--repo={origin.url}", "--ref=no-such-branch", f"--root={tmp_path / 'r'}", "--one-time")
    assert r.returncode != 0
    assert "no-such-branch" in r.stderr


def test_ssh_known_hosts_required_for_ssh_repos(git_sync, tmp_path):
    r = run_sync(git_sync, "--repo=git@example.invalid:org/dags.git", f"--root={tmp_path / 'r'}", "--one-time",
                 f"--ssh-known-hosts-file={tmp_path / 'missing_known_hosts'}")
    assert r.returncode != 0
    assert "known_hosts" in r.stderr


def test_restart_reuses_root(git_sync, origin, tmp_path):
    root = tmp_path / "root"
    args = [f"--repo={origin.url}", "--ref=main", f"--root={root}", "--link=repo", "--one-time"]
    assert run_sync(git_sync, *args).returncode == 0
    first = link_sha(root / "repo")
    r = run_sync(git_sync, *args)  # same commit: nothing to do, link untouched
    assert r.returncode == 0, r.stderr
    assert link_sha(root / "repo") == first
    second = origin.commit("other.py", "x")
    assert run_sync(git_sync, *args).returncode == 0
    assert link_sha(root / "repo") == second
    assert not (root / ".worktrees" / first).exists()


# ---------------------------------------------------------------------------------------------------- http auth


class _GitHTTP:
    """`git http-backend` behind a tiny HTTP server on 127.0.0.1 that demands basic auth."""

    def __init__(self, base: Path, user: str, password: str) -> None:
        import base64
        import http.server
        import threading

        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._git()

            def do_POST(self) -> None:
                self._git()

            def _git(self) -> None:
                outer.requests.append(self.path)
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path, _, query = self.path.partition("?")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                env = {"GIT_PROJECT_ROOT": str(base), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
                       "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_USER": user,
                       "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
                       "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                       "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""), "PATH": os.environ["PATH"]}
                out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
                head, _, content = out.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode().split("\r\n"):
                    k, _, v = line.partition(":")
                    if k.lower() == "status":
                        status = int(v.split()[0])
                    elif k:
                        headers.append((k, v.strip()))
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_username_password_and_password_file_over_http(git_sync, origin, tmp_path):
    srv = _GitHTTP(origin.bare.parent, "robot", "t0ken-s3cret")
    try:
        url = f"http://127.0.0.1:{srv.port}/dags.git"
        sha = git("rev-parse", "HEAD", cwd=origin.work)
        # env contract
        r = run_sync(git_sync, env={"GITSYNC_REPO": url, "GITSYNC_ROOT": str(tmp_path / "a"), "GITSYNC_ONE_TIME": "true",
                                    "GITSYNC_USERNAME": "robot", "GITSYNC_PASSWORD": "t0ken-s3cret"})
        assert r.returncode == 0, r.stderr
        assert link_sha(tmp_path / "a" / "dags") == sha
        assert "t0ken-s3cret" not in r.stderr
        # flag contract with --password-file
        pw = tmp_path / "pw"
        pw.write_text("t0ken-s3cret\n")
        r = run_sync(git_sync, f"--repo={url}", f"--root={tmp_path / 'b'}", "--one-time", "--username=robot",
                     f"--password-file={pw}")
        assert r.returncode == 0, r.stderr
        # wrong password: fails, git's error in the log, no interactive prompt hang
        r = run_sync(git_sync, f"--repo={url}", f"--root={tmp_path / 'c'}", "--one-time", "--username=robot",
                     "--password=wrong", timeout=60)
        assert r.returncode != 0
        assert "Authentication failed" in r.stderr or "401" in r.stderr, r.stderr
        # no credentials at all: fails fast too
        r = run_sync(git_sync, f"--repo={url}", f"--root={tmp_path / 'd'}", "--one-time", timeout=60)
        assert r.returncode != 0
    finally:
        srv.close()
