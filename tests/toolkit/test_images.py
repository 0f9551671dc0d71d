"""airkube.images: OCI layout validity, layer whiteouts, cache behaviour, and a real import + run in a
private containerd (its own root/state/socket under a temp dir, stopped by PID)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from airkube.errors import ConfigError
from airkube.images import IMAGES, build_images
from airkube.images import build as build_mod
from airkube.images.oci import BlobStore, tree_members, verify_archive
from airkube.images.rootfs import Overlay

IS_ROOT = os.geteuid() == 0


# ---------------------------------------------------------------------------------------------------- specs


def test_specs_pinned_full_refs():
    assert list(IMAGES)[:3] == ["pause", "coredns", "bash"]
    for name, spec in IMAGES.items():
        assert spec.name == name
        assert spec.ref.startswith("airkube.local/"), spec.ref
        assert spec.tag and spec.tag != "latest", spec.ref
    assert IMAGES["pause"].ref == "airkube.local/pause:3.10"
    assert IMAGES["coredns"].ref == "airkube.local/coredns:1.14.7"
    assert IMAGES["airflow"].config.user == "50000"
    assert IMAGES["airflow"].config.env["AIRFLOW_HOME"] == "/opt/airflow"
    assert IMAGES["postgres"].config.cmd == ["postgres"]
    assert IMAGES["git-sync"].config.entrypoint == ["/git-sync"]


def test_unknown_image_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown image.*known: pause"):
        build_images(["nope"])


# ---------------------------------------------------------------------------------------------------- layers


def members(layer_blob: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(layer_blob) as tf:
        return {m.name: m for m in tf.getmembers()}


@pytest.mark.skipif(not IS_ROOT, reason="mknod of whiteout devices and trusted.* xattrs need root")
def test_overlay_upper_whiteouts_become_oci_whiteouts(tmp_path):
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "new.conf").write_text("x")
    os.mknod(upper / "etc" / "gone.conf", 0o600 | 0o020000, os.makedev(0, 0))  # overlayfs whiteout
    (upper / "opt" / "replaced").mkdir(parents=True)
    os.setxattr(upper / "opt" / "replaced", "trusted.overlay.opaque", b"y")
    (upper / "opt" / "replaced" / "f").write_text("y")
    os.link(upper / "etc" / "new.conf", upper / "etc" / "hard.conf")
    store = BlobStore(tmp_path / "blobs")
    layer = store.put_layer(tree_members(upper, whiteouts=True))
    got = members(store.path(layer.digest))
    assert "etc/.wh.gone.conf" in got and got["etc/.wh.gone.conf"].isfile()
    assert "etc/gone.conf" not in got
    assert "opt/replaced/.wh..wh..opq" in got
    # sorted walk: the first name of a hard-linked inode carries the data, the second links to it
    assert got["etc/hard.conf"].isfile() and got["etc/hard.conf"].uid == 0 and got["etc/hard.conf"].size == 1
    assert got["etc/new.conf"].islnk() and got["etc/new.conf"].linkname == "etc/hard.conf"
    assert layer.digest == layer.diff_id  # uncompressed


@pytest.mark.skipif(not IS_ROOT, reason="overlayfs mounts need root")
def test_overlay_diff_layer_against_a_real_lower(tmp_path):
    lower = tmp_path / "lower"
    (lower / "etc").mkdir(parents=True)
    (lower / "bin").mkdir()
    (lower / "etc" / "keep").write_text("keep")
    (lower / "etc" / "drop").write_text("drop")
    (lower / "bin" / "sh").write_text("")
    log = tmp_path / "log"
    store = BlobStore(tmp_path / "blobs")
    try:
        with Overlay(lower, tmp_path / "work", log) as ov:
            (ov.merged / "etc" / "drop").unlink()
            (ov.merged / "etc" / "added").write_text("new")
            layer = ov.layer(store, "test")
    except RuntimeError as exc:
        pytest.skip(f"overlayfs not usable here: {exc}")
    got = members(store.path(layer.digest))
    assert set(got) == {"etc", "etc/.wh.drop", "etc/added"}, set(got)


# ---------------------------------------------------------------------------------------------------- builds


@pytest.fixture
def private_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AIRKUBE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "images"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="pause is built with gcc -static")
def test_pause_build_valid_layout_and_cache_hit(private_cache):
    t0 = time.monotonic()
    path = build_images(["pause"])["pause"]
    assert path.is_relative_to(private_cache) and path.suffix == ".tar"
    assert verify_archive(path) == []
    with tarfile.open(path) as tf:
        index = json.load(tf.extractfile("index.json"))
        (desc,) = index["manifests"]
        assert desc["annotations"]["io.containerd.image.name"] == "airkube.local/pause:3.10"
        assert desc["annotations"]["org.opencontainers.image.ref.name"] == "3.10"
        assert desc["platform"] == {"architecture": "amd64", "os": "linux"}
        manifest = json.load(tf.extractfile("blobs/sha256/" + desc["digest"].split(":")[1]))
        config = json.load(tf.extractfile("blobs/sha256/" + manifest["config"]["digest"].split(":")[1]))
        assert len(manifest["layers"]) == 1  # single layer
        layer = tf.extractfile("blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1])
        with tarfile.open(fileobj=layer) as lt:
            assert lt.getnames() == ["pause"]
            assert lt.getmember("pause").mode == 0o755
    assert config["config"]["Entrypoint"] == ["/pause"]
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    first = time.monotonic() - t0
    mtime = path.stat().st_mtime_ns

    # unchanged inputs: no rebuild, same file
    t1 = time.monotonic()
    assert build_images(["pause"])["pause"] == path
    assert path.stat().st_mtime_ns == mtime
    assert time.monotonic() - t1 < max(first, 1.0)
    # --force rebuilds in place
    assert build_images(["pause"], force=True)["pause"] == path
    assert path.stat().st_mtime_ns != mtime
    assert not list(path.parent.glob("*.tmp*"))


def test_input_key_follows_script_contents(monkeypatch, tmp_path):
    spec = IMAGES["pause"]
    before = build_mod.input_key(spec)
    fake_repo = tmp_path / "repo"
    shutil.copytree(build_mod.REPO_ROOT / "scripts" / "images" / "pause", fake_repo / "scripts/images/pause")
    monkeypatch.setattr(build_mod, "REPO_ROOT", fake_repo)
    assert build_mod.input_key(spec) == before
    (fake_repo / "scripts/images/pause/pause.c").write_text("/* changed */\n", encoding="utf-8")
    assert build_mod.input_key(spec) != before


# ---------------------------------------------------------------------------------------------------- containerd

CTR_CONFIG = """version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{d}/c.sock"
[ttrpc]
  address = "{d}/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
"""


@pytest.fixture(scope="module")
def containerd():
    """A private containerd (own root, state and socket; never the default one), stopped by PID."""
    missing = [b for b in ("containerd", "ctr", "runc") if shutil.which(b) is None]
    if missing or not IS_ROOT:
        pytest.skip(f"needs root and {', '.join(missing) or 'containerd'} (apt-get install containerd runc)")
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="airkube-ctrd-", dir="/tmp"))
    (d / "config.toml").write_text(CTR_CONFIG.format(d=d))
    log = open(d / "containerd.log", "wb")
    proc = subprocess.Popen(["containerd", "--config", str(d / "config.toml")], stdout=log, stderr=log)
    sock = d / "c.sock"
    try:
        for _ in range(100):
            if sock.exists() and subprocess.run(["ctr", "--address", str(sock), "version"],
                                                capture_output=True).returncode == 0:
                break
            if proc.poll() is not None:
                pytest.skip(f"private containerd exited: {(d / 'containerd.log').read_text()[-800:]}")
            time.sleep(0.1)
        else:
            pytest.skip("private containerd did not answer within 10 s")
        yield sock
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        subprocess.run(["umount", "-R", str(d / "root")], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def ctr(sock: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["ctr", "--address", str(sock), "-n", "k8s.io", *args], capture_output=True, text=True,
                          timeout=timeout)

def stop_container(containerd, name: str) -> None:
    """Kill a container started with `ctr run -d`, then delete its task and the container."""
    ctr(containerd, "task", "kill", "-s", "SIGKILL", name)
    for _ in range(50):
        if ctr(containerd, "task", "delete", name).returncode == 0:
            break
        time.sleep(0.2)
    ctr(containerd, "containers", "delete", name)


@pytest.mark.skipif(not IS_ROOT, reason="building the Debian base needs root (debootstrap, chroot)")
def test_bash_image_imports_and_runs(containerd):
    archives = build_images(["pause", "bash"])
    for name, path in archives.items():
        assert verify_archive(path) == [], name
        r = ctr(containerd, "images", "import", "--all-platforms", str(path))
        assert r.returncode == 0, r.stderr
    listed = ctr(containerd, "images", "ls", "-q").stdout.split()
    assert "airkube.local/pause:3.10" in listed and "airkube.local/bash:5.2" in listed
    r = ctr(containerd, "run", "--rm", "airkube.local/bash:5.2", f"airkube-test-{os.getpid()}",
            "bash", "-c", "echo hello from bash $BASH_VERSION; ls /usr/bin/env")
    if r.returncode != 0 and "runc" in r.stderr and "cgroup" in r.stderr:
        pytest.skip(f"runc cannot start containers here: {r.stderr.strip()[-300:]}")
    assert r.returncode == 0, r.stderr
    assert "hello from bash 5.2" in r.stdout


# ---------------------------------------------------------------------------------------------------- big images
# Built only when already in the cache (or AIRKUBE_IMAGE_TESTS=all): a cold airflow build takes ~10 minutes.


def built_or_skip(name: str) -> Path:
    from airkube.images import status

    (row,) = status([name])
    if not row["built"] and os.environ.get("AIRKUBE_IMAGE_TESTS") != "all":
        pytest.skip(f"{name} image not built for the current inputs: `airkube images build {name}` "
                    "(or AIRKUBE_IMAGE_TESTS=all)")
    path = build_images([name])[name]
    assert verify_archive(path) == []
    return path


def import_image(sock: Path, path: Path) -> None:
    r = ctr(sock, "images", "import", "--all-platforms", str(path), timeout=600)
    assert r.returncode == 0, r.stderr


def test_git_sync_image(containerd):
    import_image(containerd, built_or_skip("git-sync"))
    r = ctr(containerd, "run", "--rm", "airkube.local/git-sync:v4.4.2", f"gs-{os.getpid()}", "sh", "-c",
            "/git-sync --version && id -u && git --version && test -x /usr/lib/git-core/git-http-backend "
            "&& git daemon --init-timeout=1 --help >/dev/null 2>&1; command -v ssh")
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[0] == "v4.4.2-airkube" and out[1] == "65533" and out[-1] == "/usr/bin/ssh"


def test_postgres_image_initdb_and_password_login(containerd, tmp_path):
    import_image(containerd, built_or_skip("postgres"))
    dirs = {d: tmp_path / d.strip("/").replace("/", "_") for d in ("/var/run/postgresql", "/tmp", "/var/lib/postgresql/data")}
    for host in dirs.values():
        host.mkdir()
        os.chown(host, 999, 999)
    mounts = [arg for inside, host in dirs.items()
              for arg in ("--mount", f"type=bind,src={host},dst={inside},options=rbind:rw")]
    port = "54329"
    name = f"pg-{os.getpid()}"
    env = ["--env", "POSTGRES_USER=airflow", "--env", "POSTGRES_PASSWORD=s3cret", "--env", "POSTGRES_DB=airflow",
           "--env", "PGDATA=/var/lib/postgresql/data/pgdata"]
    # host network (ctr has no CNI here) -> listen on loopback only, on a private port
    r = ctr(containerd, "run", "-d", "--net-host", "--read-only", *mounts, *env, "airkube.local/postgres:17", name,
            "docker-entrypoint.sh", "postgres", "-c", "listen_addresses=127.0.0.1", "-p", port)
    assert r.returncode == 0, r.stderr
    try:
        def ready() -> bool:
            return ctr(containerd, "task", "exec", "--exec-id", f"r{time.monotonic_ns()}", name,
                       "pg_isready", "-h", "127.0.0.1", "-p", port).returncode == 0

        deadline = time.monotonic() + 90
        while not ready():
            assert time.monotonic() < deadline, "postgres did not become ready"
            time.sleep(1)
        q = ctr(containerd, "task", "exec", "--exec-id", "q", name, "env", "PGPASSWORD=s3cret", "psql", "-h",
                "127.0.0.1", "-p", port, "-U", "airflow", "-d", "airflow", "-tAc",
                "select current_user, current_database(), current_setting('password_encryption'), "
                "(select rolpassword like 'SCRAM-SHA-256%' from pg_authid where rolname='airflow')")
        assert q.returncode == 0, q.stderr
        assert q.stdout.strip() == "airflow|airflow|scram-sha-256|t"
        bad = ctr(containerd, "task", "exec", "--exec-id", "b", name, "env", "PGPASSWORD=wrong", "psql", "-h",
                  "127.0.0.1", "-p", port, "-U", "airflow", "-d", "airflow", "-c", "select 1")
        assert bad.returncode != 0 and "password authentication failed" in bad.stderr
        hba = (dirs["/var/lib/postgresql/data"] / "pgdata" / "pg_hba.conf").read_text()
        assert "host all all all scram-sha-256" in hba
        assert (dirs["/var/lib/postgresql/data"] / "pgdata").stat().st_uid == 999
    finally:
        stop_container(containerd, name)


def test_airflow_image_layout_and_entrypoint(containerd):
    import_image(containerd, built_or_skip("airflow"))
    script = ("set -e; id; echo HOME=$HOME; pwd; command -v airflow python; "
              "ls -ld /opt/airflow /opt/airflow/dags /opt/airflow/logs /opt/airflow/plugins; "
              "python -c 'import airflow.providers.cncf.kubernetes, airflow.providers.postgres, "
              "airflow.providers.amazon, airflow.providers.google, psycopg2; print(\"providers ok\")'")
    r = ctr(containerd, "run", "--rm", "--env", "CONNECTION_CHECK_MAX_COUNT=0", "airkube.local/airflow:3.3.2",
            f"af-{os.getpid()}", "/usr/bin/dumb-init", "--", "/entrypoint", "bash", "-c", script, timeout=300)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "uid=50000(airflow) gid=0(root)" in out
    assert "/opt/airflow\n" in out and "/home/airflow/.local/bin/airflow" in out
    assert "providers ok" in out
    for d in ("/opt/airflow/dags", "/opt/airflow/logs", "/opt/airflow/plugins"):
        line = next(x for x in out.splitlines() if x.endswith(d))
        assert line.startswith("drwxrws") and " airflow root " in line, line
    v = ctr(containerd, "run", "--rm", "--env", "CONNECTION_CHECK_MAX_COUNT=0", "airkube.local/airflow:3.3.2",
            f"afv-{os.getpid()}", "/usr/bin/dumb-init", "--", "/entrypoint", "airflow", "version", timeout=300)
    assert v.returncode == 0, v.stderr
    assert v.stdout.strip().splitlines()[-1] == "3.3.2"


def test_second_build_of_built_images_is_a_cache_hit():
    from airkube.images import status

    built = [row["name"] for row in status() if row["built"]]
    if not built:
        pytest.skip("no image built for the current inputs yet")
    before = {n: p.stat().st_mtime_ns for n, p in ((r["name"], r["archive"]) for r in status(built))}
    t0 = time.monotonic()
    paths = build_images(built)
    assert time.monotonic() - t0 < 15  # hashing inputs only
    assert {n: p.stat().st_mtime_ns for n, p in paths.items()} == before


def test_cli_list_and_bad_name():
    from typer.testing import CliRunner

    from airkube.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["images", "list"])
    assert r.exit_code == 0, r.output
    assert "airkube.local/pause:3.10" in r.output
    r = runner.invoke(app, ["images", "build", "no-such-image"])
    assert r.exit_code != 0
    assert "unknown image" in r.output


def test_fake_gcs_server_image_serves_objects(containerd):
    import urllib.request

    import_image(containerd, built_or_skip("fake-gcs-server"))
    port = "48443"
    name = f"fgcs-{os.getpid()}"
    r = ctr(containerd, "run", "-d", "--net-host", "airkube.local/fake-gcs-server:v1.56.1", name,
            "/bin/fake-gcs-server", "-data", "/data", "-scheme", "http", "-host", "127.0.0.1", "-port", port,
            "-backend", "memory")
    assert r.returncode == 0, r.stderr
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/storage/v1/b", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "fake-gcs-server did not answer"
                time.sleep(0.3)
        req = urllib.request.Request(f"{base}/storage/v1/b", data=b'{"name":"logs"}',
                                     headers={"content-type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=5)
        req = urllib.request.Request(f"{base}/upload/storage/v1/b/logs/o?uploadType=media&name=dag/1.log",
                                     data=b"task log", method="POST")
        urllib.request.urlopen(req, timeout=5)
        got = urllib.request.urlopen(f"{base}/storage/v1/b/logs/o/dag%2F1.log?alt=media", timeout=5).read()
        assert got == b"task log"
    finally:
        stop_container(containerd, name)


def test_minio_image_answers_health(containerd, tmp_path):
    import urllib.request

    import_image(containerd, built_or_skip("minio"))
    spec = IMAGES["minio"]
    name = f"minio-{os.getpid()}"
    r = ctr(containerd, "run", "-d", "--net-host", "--env", "MINIO_ROOT_USER=airkube", "--env",
            "MINIO_ROOT_PASSWORD=airkube-secret", spec.ref, name, "/usr/bin/minio", "server", "/data",
            "--address", "127.0.0.1:49000", "--console-address", "127.0.0.1:49001")
    assert r.returncode == 0, r.stderr
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen("http://127.0.0.1:49000/minio/health/live", timeout=2).status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "minio did not become live"
            time.sleep(0.5)
    finally:
        stop_container(containerd, name)
