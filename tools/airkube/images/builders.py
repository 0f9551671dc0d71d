"""How each image is built. Each builder returns the image's layers (bottom first); config comes from the spec."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from airkube.images.oci import BlobStore, FileEntry, Layer, file_members
from airkube.images.rootfs import BaseRootfs, Overlay, base_rootfs, ensure_host_tools, run_logged
from airkube.images.specs import (
    AIRFLOW_GOOGLE_GCS_DEPS,
    AIRFLOW_GOOGLE_NODEPS,
    AIRFLOW_PYPI,
    BASE_PACKAGES,
    DEBIAN_SUITE,
    ImageSpec,
)


@dataclass
class BuildContext:
    spec: ImageSpec
    repo: Path  # repository root (scripts/images/... live there)
    cache: Path  # <AIRKUBE_CACHE>/images
    store: BlobStore
    logfile: Path
    log: Callable[[str], None]

    @property
    def files(self) -> Path:
        return self.repo / "scripts" / "images" / self.spec.name

    def base(self) -> BaseRootfs:
        return base_rootfs(self.cache, self.store, DEBIAN_SUITE, BASE_PACKAGES, self.log, self.logfile)

    def overlay(self) -> Overlay:
        return Overlay(self.base().path, self.cache / "work", self.logfile)

    def go_build(self, src: Path, out: Path) -> None:
        """Static Go build of a stdlib-only main package (GOFLAGS -p=1: the machine is shared)."""
        ensure_host_tools({"go": "golang-go"}, self.log)
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": os.environ.get("GOFLAGS", "-buildvcs=false -p=1"),
               "GOTOOLCHAIN": "local"}
        run_logged(["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out), "."], self.logfile,
                   env=env, cwd=src)


def copy_into(root: Path, src: Path, dest: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
    target = root / dest.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, target)
    os.chmod(target, mode)
    os.chown(target, uid, gid)


# ----------------------------------------------------------------------------------------------------------


def build_pause(ctx: BuildContext) -> list[Layer]:
    ensure_host_tools({"gcc": "gcc"}, ctx.log)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pause"
        ctx.log("gcc -static pause.c")
        run_logged(["gcc", "-static", "-Os", "-s", "-o", str(out), str(ctx.files / "pause.c")], ctx.logfile)
        data = out.read_bytes()
    return [ctx.store.put_layer(file_members([FileEntry("pause", data=data, mode=0o755)]),
                                created_by="COPY pause /pause (gcc -static)")]


PASSWD_MIN = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
GROUP_MIN = "root:x:0:\nnogroup:x:65534:\n"


def build_coredns(ctx: BuildContext) -> list[Layer]:
    version = ctx.spec.versions["coredns"]
    cache_root = Path(os.environ.get("AIRKUBE_CACHE", Path.home() / ".cache" / "airkube"))
    binary = cache_root / "bin" / f"coredns-{version}"
    if not binary.is_file():
        ctx.log(f"building coredns {version} (scripts/build-go.sh coredns; minutes on a busy machine)")
        env = {**os.environ, "GOFLAGS": os.environ.get("GOFLAGS", "-buildvcs=false -p=1")}
        run_logged(["bash", str(ctx.repo / "scripts" / "build-go.sh"), "coredns"], ctx.logfile, env=env)
    if not binary.is_file():
        raise RuntimeError(f"scripts/build-go.sh coredns did not produce {binary}")
    entries = [
        FileEntry("coredns", source=binary, mode=0o755),
        FileEntry("etc/passwd", data=PASSWD_MIN.encode()),
        FileEntry("etc/group", data=GROUP_MIN.encode()),
        FileEntry("tmp", kind="dir", mode=0o1777),
    ]
    return [ctx.store.put_layer(file_members(entries), created_by=f"COPY coredns-{version} /coredns")]


def build_bash(ctx: BuildContext) -> list[Layer]:
    # The Debian minbase already has bash 5.2 and coreutils; sharing the base layer with the airflow,
    # postgres and git-sync images means it costs nothing extra on a node that has any of them.
    return [ctx.base().layer]


def _debian_image(ctx: BuildContext, script: str, prepare: Callable[[Path], None] | None = None,
                  binds: dict[Path, str] | None = None, created_by: str = "") -> list[Layer]:
    base = ctx.base()
    with ctx.overlay() as ov:
        if prepare is not None:
            prepare(ov.merged)
        ctx.log(f"{ctx.spec.name}: apt-get install {' '.join(ctx.spec.packages)}")
        ov.run("apt-get update -q && apt-get install -y -q --no-install-recommends " + " ".join(ctx.spec.packages))
        if script:
            ctx.log(f"{ctx.spec.name}: image steps")
            ov.run(script, binds=binds)
        ov.cleanup_build_leftovers()
        ctx.log(f"{ctx.spec.name}: packing layer")
        layer = ov.layer(ctx.store, created_by or f"apt-get install {' '.join(ctx.spec.packages)} + steps")
    return [base.layer, layer]


def build_git_sync(ctx: BuildContext) -> list[Layer]:
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "git-sync"
        ctx.log("go build git-sync (v4-compatible replacement)")
        ctx.go_build(ctx.files, binary)

        def prepare(root: Path) -> None:
            copy_into(root, binary, "git-sync", 0o755)

        script = """
groupadd --gid 65533 git-sync
useradd --uid 65533 --gid 65533 --home-dir /tmp --no-create-home --shell /bin/sh git-sync
mkdir -p /git /srv/git && chown 65533:65533 /git /srv/git
git config --system --add safe.directory '*'
# sshd (the in-cluster git server's ssh://, run as the git-sync user): no baked host keys, each pod makes its own
rm -f /etc/ssh/ssh_host_*
mkdir -p /run/sshd && chmod 0755 /run/sshd
chmod 0666 /etc/passwd  # as the real image: lets --add-user record an arbitrary runAsUser for ssh
git --version
"""
        return _debian_image(ctx, script, prepare, created_by="git, openssh-client, openssh-server, /git-sync")


def build_postgres(ctx: BuildContext) -> list[Layer]:
    def prepare(root: Path) -> None:
        copy_into(root, ctx.files / "docker-entrypoint.sh", "usr/local/bin/docker-entrypoint.sh", 0o755)

    # As the official image: the postgres user/group get 999:999 before the package creates them, and
    # Debian's automatic "main" cluster is disabled (the entrypoint runs initdb on an empty PGDATA).
    pre = """
groupadd -r --gid 999 postgres
useradd -r --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres
mkdir -p /var/lib/postgresql /etc/postgresql-common/createcluster.d
chown -R postgres:postgres /var/lib/postgresql
echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/airkube.conf
"""
    # JIT (LLVM + z3, ~160 MB) is optional in PostgreSQL: drop it, jit=off in the defaults. This leaves dpkg with
    # an unmet dependency, harmless unless a derived image runs apt-get on top.
    post = """
rm -rf /usr/lib/postgresql/17/lib/llvmjit* /usr/lib/postgresql/17/lib/bitcode
for p in $(dpkg-query -W -f '${Package}\\n' 'libllvm*' 'libz3-*' 2>/dev/null); do dpkg --purge --force-depends "$p"; done
sed -ri "s!^#?(jit)\\s*=\\s*\\S+.*!\\1 = off!" /usr/share/postgresql/17/postgresql.conf.sample
grep -E "^jit = off" /usr/share/postgresql/17/postgresql.conf.sample
sed -ri "s!^#?(listen_addresses)\\s*=\\s*\\S+.*!\\1 = '*'!" /usr/share/postgresql/17/postgresql.conf.sample
grep -F "listen_addresses = '*'" /usr/share/postgresql/17/postgresql.conf.sample
mkdir -p /var/run/postgresql /docker-entrypoint-initdb.d /var/lib/postgresql/data
chown -R postgres:postgres /var/run/postgresql /var/lib/postgresql
chmod 3777 /var/run/postgresql
chmod 1777 /var/lib/postgresql/data
ln -sf usr/local/bin/docker-entrypoint.sh /docker-entrypoint.sh
test -x /usr/lib/postgresql/17/bin/pg_isready && /usr/lib/postgresql/17/bin/postgres --version
"""
    base = ctx.base()
    with ctx.overlay() as ov:
        prepare(ov.merged)
        ctx.log("postgres: user 999:999, apt-get install postgresql-17")
        ov.run(pre + "apt-get update -q && apt-get install -y -q --no-install-recommends "
               + " ".join(ctx.spec.packages) + "\n" + post)
        ov.cleanup_build_leftovers()
        ctx.log("postgres: packing layer")
        layer = ov.layer(ctx.store, "postgresql-17 + docker-entrypoint.sh")
    return [base.layer, layer]


def build_airflow(ctx: BuildContext) -> list[Layer]:
    # Wheelhouse on the host: the PyPI proxy here answers `no-store`, so pip's HTTP cache stays empty.
    # `pip download -d` reuses wheels already in the directory; the install itself is --no-index.
    wheels = ctx.cache / "wheels" / "airflow"
    wheels.mkdir(parents=True, exist_ok=True)

    def prepare(root: Path) -> None:
        copy_into(root, ctx.files / "entrypoint.sh", "entrypoint", 0o755)

    reqs = " ".join(f"'{r}'" for r in (*AIRFLOW_PYPI, *AIRFLOW_GOOGLE_GCS_DEPS))
    script = f"""
useradd --uid 50000 --gid 0 --home-dir /home/airflow --create-home --shell /bin/bash airflow
python3 -m venv /home/airflow/.local
/home/airflow/.local/bin/pip install -q 'pip==26.3'
W=/var/cache/airkube-wheels
pip=/home/airflow/.local/bin/pip
$pip download -q --progress-bar off --no-cache-dir -d $W {reqs}
$pip download -q --progress-bar off --no-cache-dir -d $W --no-deps '{AIRFLOW_GOOGLE_NODEPS}'
$pip install --no-compile --no-index --find-links $W {reqs}
$pip install --no-compile --no-index --find-links $W --no-deps '{AIRFLOW_GOOGLE_NODEPS}'
AIRFLOW_HOME=/tmp/airflow-check /home/airflow/.local/bin/python -c 'import airflow.providers.google.cloud.log.gcs_task_handler, airflow.providers.google.cloud.hooks.gcs'
# bytecode for every module up front: task start-up should not compile (or fail to write) .pyc files
/home/airflow/.local/bin/python -m compileall -q -j 1 --invalidation-mode unchecked-hash /home/airflow/.local/lib >/dev/null || true
/home/airflow/.local/bin/python -m compileall -q -j 1 --invalidation-mode unchecked-hash /usr/lib/python3.13 >/dev/null || true
/home/airflow/.local/bin/pip freeze --all > /home/airflow/requirements-lock.txt
mkdir -p /opt/airflow/dags /opt/airflow/logs /opt/airflow/plugins /opt/airflow/config
chown -R 50000:0 /opt/airflow /home/airflow
chmod -R g+rwX /opt/airflow /home/airflow
chmod g+s /opt/airflow /opt/airflow/dags /opt/airflow/logs /opt/airflow/plugins
ln -sf /home/airflow/.local/bin/python /usr/local/bin/python
AIRFLOW_HOME=/tmp/airflow-check /home/airflow/.local/bin/airflow version
rm -rf /tmp/airflow-check
"""
    return _debian_image(ctx, script, prepare, binds={wheels: "/var/cache/airkube-wheels"},
                         created_by=f"python3 venv + {' '.join(AIRFLOW_PYPI)} + {AIRFLOW_GOOGLE_NODEPS} (GCS deps)")


def _go_install(ctx: BuildContext, name: str, module: str, version: str, ldflags: str = "-s -w") -> Path:
    """`go install module@version` (static, -p=1) into <AIRKUBE_CACHE>/bin/<name>-<version>, once."""
    cache_root = Path(os.environ.get("AIRKUBE_CACHE", Path.home() / ".cache" / "airkube"))
    out = cache_root / "bin" / f"{name}-{version}"
    if out.is_file():
        return out
    ensure_host_tools({"go": "golang-go"}, ctx.log)
    ctx.log(f"go install {module}@{version} (a long compile on a busy machine)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as gobin:
        env = {**os.environ, "CGO_ENABLED": "0", "GOBIN": gobin, "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local"),
               "GOFLAGS": os.environ.get("GOFLAGS", "-buildvcs=false -p=1") + " -trimpath"}
        run_logged(["go", "install", "-ldflags", ldflags, f"{module}@{version}"], ctx.logfile, env=env)
        (built,) = Path(gobin).iterdir()
        tmp = out.with_name(out.name + ".tmp")
        shutil.move(built, tmp)
        os.replace(tmp, out)
    return out


def build_minio(ctx: BuildContext) -> list[Layer]:
    version = ctx.spec.versions["minio"]
    binary = _go_install(ctx, "minio", "github.com/minio/minio", version)
    entries = [FileEntry("usr/bin/minio", source=binary, mode=0o755),
               FileEntry("etc/passwd", data=PASSWD_MIN.encode()), FileEntry("etc/group", data=GROUP_MIN.encode()),
               FileEntry("data", kind="dir", mode=0o777), FileEntry("tmp", kind="dir", mode=0o1777)]
    return [ctx.store.put_layer(file_members(entries), created_by=f"go install github.com/minio/minio@{version}")]


def build_fake_gcs_server(ctx: BuildContext) -> list[Layer]:
    version = ctx.spec.versions["fake-gcs-server"]
    binary = _go_install(ctx, "fake-gcs-server", "github.com/fsouza/fake-gcs-server", version)
    entries = [FileEntry("bin/fake-gcs-server", source=binary, mode=0o755),
               FileEntry("etc/passwd", data=PASSWD_MIN.encode()), FileEntry("etc/group", data=GROUP_MIN.encode()),
               FileEntry("data", kind="dir", mode=0o777), FileEntry("storage", kind="dir", mode=0o777),
               FileEntry("tmp", kind="dir", mode=0o1777)]
    return [ctx.store.put_layer(file_members(entries),
                                created_by=f"go install github.com/fsouza/fake-gcs-server@{version}")]


def _build_go_sh(ctx: BuildContext, target: str, *names: str) -> list[Path]:
    """Binaries <AIRKUBE_CACHE>/bin/<name>-<version> made (once, cached) by `scripts/build-go.sh <target>`."""
    version = next(iter(ctx.spec.versions.values()))
    cache_root = Path(os.environ.get("AIRKUBE_CACHE", Path.home() / ".cache" / "airkube"))
    paths = [cache_root / "bin" / f"{name}-{version}" for name in names]
    if not all(p.is_file() for p in paths):
        ensure_host_tools({"go": "golang-go"}, ctx.log)
        ctx.log(f"building {target} {version} (scripts/build-go.sh {target}; minutes on a busy machine)")
        env = {**os.environ, "GOFLAGS": os.environ.get("GOFLAGS", "-buildvcs=false -p=1")}
        run_logged(["bash", str(ctx.repo / "scripts" / "build-go.sh"), target], ctx.logfile, env=env)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise RuntimeError(f"scripts/build-go.sh {target} did not produce {', '.join(missing)}")
    return paths


def _static_go_image(ctx: BuildContext, binary: Path, in_image: str, dirs: tuple[str, ...] = ()) -> list[Layer]:
    """One layer: a static Go binary at /bin/<in_image>, minimal passwd/group, /tmp and any extra world-writable dirs."""
    entries = [FileEntry(f"bin/{in_image}", source=binary, mode=0o755),
               FileEntry("etc/passwd", data=PASSWD_MIN.encode()), FileEntry("etc/group", data=GROUP_MIN.encode()),
               *(FileEntry(d, kind="dir", mode=0o777) for d in dirs), FileEntry("tmp", kind="dir", mode=0o1777)]
    return [ctx.store.put_layer(file_members(entries), created_by=f"COPY {binary.name} /bin/{in_image}")]


def build_statsd_exporter(ctx: BuildContext) -> list[Layer]:
    (binary,) = _build_go_sh(ctx, "statsd-exporter", "statsd-exporter")
    return _static_go_image(ctx, binary, "statsd_exporter")


def build_prometheus(ctx: BuildContext) -> list[Layer]:
    # promtool is built alongside (the dashboard test parses PromQL with it) but stays out of the image
    prometheus, _promtool = _build_go_sh(ctx, "prometheus", "prometheus", "promtool")
    return _static_go_image(ctx, prometheus, "prometheus", dirs=("prometheus",))


def build_traefik(ctx: BuildContext) -> list[Layer]:
    (binary,) = _build_go_sh(ctx, "traefik", "traefik")
    return _static_go_image(ctx, binary, "traefik")


BUILDERS: dict[str, Callable[[BuildContext], list[Layer]]] = {
    f.__name__: f for f in (build_pause, build_coredns, build_bash, build_git_sync, build_postgres, build_airflow,
                            build_minio, build_fake_gcs_server, build_statsd_exporter, build_prometheus,
                            build_traefik)
}


# --- Object-storage emulators (s3-emulator, gcs-emulator; specs in specs._emulator_specs) ---------------------


def build_emulator(ctx: BuildContext) -> list[Layer]:
    """Debian + python3 venv at /opt/emulator with the spec's pinned PyPI packages + scripts/images/emulators."""
    from airkube.images.specs import EMULATOR_VENV

    pip_cache = ctx.cache / "pip-cache"
    pip_cache.mkdir(parents=True, exist_ok=True)
    src = ctx.repo / "scripts" / "images" / "emulators"

    def prepare(root: Path) -> None:
        for f in sorted(src.glob("*.py")):
            copy_into(root, f, f"opt/emulators/{f.name}", 0o644)

    reqs = " ".join(f"'{r}'" for r in ctx.spec.versions["pypi"].split())
    script = f"""
groupadd --gid 65532 emulator
useradd --uid 65532 --gid 65532 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin emulator
python3 -m venv {EMULATOR_VENV}
PIP_CACHE_DIR=/var/cache/airkube-pip {EMULATOR_VENV}/bin/pip install -q --progress-bar off {reqs}
{EMULATOR_VENV}/bin/python -m compileall -q -j 1 --invalidation-mode unchecked-hash {EMULATOR_VENV}/lib >/dev/null || true
{EMULATOR_VENV}/bin/python -m compileall -q --invalidation-mode unchecked-hash /opt/emulators >/dev/null || true
{EMULATOR_VENV}/bin/pip freeze --all > /opt/emulators/requirements-lock.txt
{EMULATOR_VENV}/bin/python -c "import importlib.util as u; assert u.find_spec('moto') or u.find_spec('gcp_storage_emulator')"
"""
    return _debian_image(ctx, script, prepare, binds={pip_cache: "/var/cache/airkube-pip"},
                         created_by=f"python3 venv + {ctx.spec.versions['pypi']} + scripts/images/emulators")


BUILDERS[build_emulator.__name__] = build_emulator
