"""Debian root filesystems without Docker: debootstrap once, then overlayfs per image.

`base_rootfs()` runs `debootstrap --variant=minbase` for a suite and package list, trims docs/locales and
caches the result (directory + its layer blob) keyed by suite, packages and this module's recipe. An image
adds its own layer with `Overlay`: overlayfs with the base as lowerdir, commands run by `chroot` in the
merged view, and the upper dir (with whiteouts) becomes the image's diff layer. Needs root.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from airkube.images.oci import BlobStore, Layer, tree_members

from ..errors import HostToolMissing

DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_SECURITY = "http://deb.debian.org/debian-security"

# Kept out of every image: documentation, man pages, translations (as the slim official images do).
DPKG_NODOC = """\
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/linda/*
"""
APT_NORECOMMENDS = 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'

# Runtime-managed paths: kept as empty dirs in layers, never shipped.
EMPTY_DIRS = ("dev", "proc", "sys", "run", "tmp", "var/tmp", "var/cache/apt/archives/partial")

Log = Callable[[str], None]


def ensure_host_tools(tools: dict[str, str], log: Log) -> None:
    """Make sure each command exists; install the Debian package providing it when it does not."""
    missing = {cmd: pkg for cmd, pkg in tools.items() if shutil.which(cmd) is None}
    if not missing:
        return
    pkgs = sorted(set(missing.values()))
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise HostToolMissing(f"image builds need {', '.join(missing)}: install the Debian packages "
                              f"{' '.join(pkgs)} (apt-get install -y {' '.join(pkgs)}) and retry")
    log(f"installing host packages needed by image builds: {' '.join(pkgs)} (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    r = subprocess.run(["apt-get", "install", "-y", "-q", *pkgs], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        r = subprocess.run(["apt-get", "install", "-y", "-q", *pkgs], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise HostToolMissing(f"apt-get install {' '.join(pkgs)} failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")


def run_logged(cmd: list[str], logfile: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    """Run a command, appending its output to `logfile`; on failure raise with the tail of the log."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logfile, "ab") as f:
        f.write(("\n$ " + " ".join(cmd) + "\n").encode())
        f.flush()
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    if r.returncode != 0:
        tail = logfile.read_bytes()[-3000:].decode(errors="replace")
        raise RuntimeError(f"command failed (exit {r.returncode}): {' '.join(cmd)}\n--- {logfile} (tail) ---\n{tail}")


@dataclass(frozen=True)
class BaseRootfs:
    suite: str
    packages: tuple[str, ...]
    path: Path  # the rootfs directory (read-only use: it is the lowerdir of every overlay)
    layer: Layer


HOST_CA = "/run/airkube-host-ca.crt"  # build-time copy of the host's CA bundle inside the chroot


def _chroot_env() -> dict[str, str]:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
           "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive", "TERM": "dumb",
           "PIP_CERT": HOST_CA, "SSL_CERT_FILE": HOST_CA, "REQUESTS_CA_BUNDLE": HOST_CA,
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_DEFAULT_TIMEOUT": "180"}
    for key in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"):  # registry mirrors, if set
        if os.environ.get(key):
            env[key] = os.environ[key]
    return env


BASE_RECIPE_VERSION = "1"


def base_key(suite: str, packages: tuple[str, ...]) -> str:
    h = hashlib.sha256(json.dumps([BASE_RECIPE_VERSION, suite, sorted(packages), DPKG_NODOC,
                                   APT_NORECOMMENDS]).encode())
    return h.hexdigest()[:16]


def base_rootfs(cache: Path, store: BlobStore, suite: str, packages: tuple[str, ...], log: Log,
                logfile: Path) -> BaseRootfs:
    """The cached minbase rootfs of `suite` with `packages`; built with debootstrap on first use."""
    key = base_key(suite, packages)
    root = cache / "rootfs" / f"{suite}-{key}"
    meta = root / "layer.json"
    if meta.is_file():
        return BaseRootfs(suite, packages, root / "rootfs", Layer.from_json(json.loads(meta.read_text())))
    lockfile = cache / "locks" / f"rootfs-{suite}-{key}.lock"
    lockfile.parent.mkdir(parents=True, exist_ok=True)
    with open(lockfile, "w") as lock:  # one debootstrap at a time; the others wait and reuse it
        fcntl.flock(lock, fcntl.LOCK_EX)
        if meta.is_file():
            return BaseRootfs(suite, packages, root / "rootfs", Layer.from_json(json.loads(meta.read_text())))
        return _build_base(cache, store, suite, packages, key, root, log, logfile)


def _build_base(cache: Path, store: BlobStore, suite: str, packages: tuple[str, ...], key: str, root: Path,
                log: Log, logfile: Path) -> BaseRootfs:
    ensure_host_tools({"debootstrap": "debootstrap"}, log)
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    (cache / "rootfs").mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{suite}-{key}.", dir=cache / "rootfs"))
    try:
        rfs = tmp / "rootfs"
        log(f"debootstrap {suite} (minbase + {', '.join(packages)})")
        cmd = ["debootstrap", "--variant=minbase", f"--cache-dir={debs}"]
        if packages:
            cmd.append("--include=" + ",".join(packages))
        run_logged([*cmd, suite, str(rfs), DEBIAN_MIRROR], logfile)
        (rfs / "etc/dpkg/dpkg.cfg.d/01-airkube-nodoc").write_text(DPKG_NODOC)
        (rfs / "etc/apt/apt.conf.d/01-airkube-norecommends").write_text(APT_NORECOMMENDS)
        (rfs / "etc/apt/sources.list").unlink(missing_ok=True)
        (rfs / "etc/apt/sources.list.d/debian.sources").write_text(
            f"Types: deb\nURIs: {DEBIAN_MIRROR}\nSuites: {suite} {suite}-updates\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
            f"Types: deb\nURIs: {DEBIAN_SECURITY}\nSuites: {suite}-security\nComponents: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
        # trim what the exclusions above would have kept out, and the build leftovers
        for pattern in ("usr/share/doc/*/[!c]*", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*",
                        "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb", "var/lib/apt/lists/*",
                        "var/log/*", "var/cache/debconf/*-old", "var/lib/dpkg/*-old", "tmp/*", "root/.*"):
            for p in rfs.glob(pattern):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink(missing_ok=True)
        for docdir in (rfs / "usr/share/doc").iterdir():
            if docdir.is_dir() and not any(docdir.iterdir()):
                docdir.rmdir()
        for name in ("etc/resolv.conf", "etc/hostname", "etc/machine-id"):
            (rfs / name).unlink(missing_ok=True)
        (rfs / "etc/hostname").write_text("localhost\n")
        log(f"packing base layer ({suite})")
        layer = store.put_layer(tree_members(rfs, exclude_contents=EMPTY_DIRS),
                                created_by=f"debootstrap --variant=minbase {suite} +{','.join(packages)}")
        (tmp / "layer.json").write_text(json.dumps(layer.to_json(), indent=1))
        if root.exists():  # an interrupted earlier attempt (no layer.json): replace it
            shutil.rmtree(root)
        os.rename(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BaseRootfs(suite, packages, root / "rootfs", layer)


class Overlay:
    """overlayfs over a base rootfs; `run()` executes shell in a chroot of the merged view."""

    def __init__(self, base: Path, workroot: Path, logfile: Path) -> None:
        self.base = base
        self.logfile = logfile
        workroot.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="overlay.", dir=workroot))
        self.upper = self.dir / "upper"
        self.work = self.dir / "work"
        self.merged = self.dir / "merged"
        self._mounts: list[Path] = []

    def _mount(self, args: list[str], target: Path) -> None:
        run_logged(["mount", *args, str(target)], self.logfile)
        self._mounts.append(target)

    def __enter__(self) -> Overlay:
        for d in (self.upper, self.work, self.merged):
            d.mkdir()
        try:
            self._mount(["-t", "overlay", "overlay", "-o",
                         f"lowerdir={self.base},upperdir={self.upper},workdir={self.work},"
                         "redirect_dir=off,metacopy=off,index=off"], self.merged)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\noverlayfs is needed for image layers (modprobe overlay)") from exc
        return self

    @contextlib.contextmanager
    def chroot_mounts(self) -> Iterator[None]:
        """/proc, /dev, /sys, resolv.conf and a policy-rc.d while commands run; removed afterwards."""
        m = self.merged
        mounts = [(["-t", "proc", "proc"], m / "proc"), (["--bind", "/dev"], m / "dev"),
                  (["-t", "sysfs", "sysfs"], m / "sys")]
        done: list[Path] = []
        resolv = m / "etc/resolv.conf"
        policy = m / "usr/sbin/policy-rc.d"
        had_resolv = resolv.exists() or resolv.is_symlink()
        try:
            for args, target in mounts:
                run_logged(["mount", *args, str(target)], self.logfile)
                done.append(target)
            if not had_resolv:
                shutil.copyfile("/etc/resolv.conf", resolv)
            host_ca = Path(os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
                           or "/etc/ssl/certs/ca-certificates.crt")
            if host_ca.is_file():  # the build host's trust (TLS-intercepting proxies); never kept in a layer
                (m / "run").mkdir(exist_ok=True)
                shutil.copyfile(host_ca, m / HOST_CA.lstrip("/"))
            policy.write_text("#!/bin/sh\nexit 101\n")
            policy.chmod(0o755)
            yield
        finally:
            policy.unlink(missing_ok=True)
            (m / HOST_CA.lstrip("/")).unlink(missing_ok=True)
            if not had_resolv:
                resolv.unlink(missing_ok=True)
            for target in reversed(done):
                subprocess.run(["umount", "-l", str(target)], capture_output=True)

    def run(self, script: str, env: dict[str, str] | None = None, binds: dict[Path, str] | None = None) -> None:
        """Run `script` with /bin/sh -eux in the chroot; `binds` maps host dirs to chroot paths (caches)."""
        with self.chroot_mounts():
            mounted: list[Path] = []
            try:
                for host, inside in (binds or {}).items():
                    target = self.merged / inside.lstrip("/")
                    target.mkdir(parents=True, exist_ok=True)
                    run_logged(["mount", "--bind", str(host), str(target)], self.logfile)
                    mounted.append(target)
                run_logged(["chroot", str(self.merged), "/bin/sh", "-euxc", script], self.logfile,
                           env={**_chroot_env(), **(env or {})})
            finally:
                for target in reversed(mounted):
                    subprocess.run(["umount", "-l", str(target)], capture_output=True)
                    with contextlib.suppress(OSError):
                        target.rmdir()

    def cleanup_build_leftovers(self) -> None:
        """Drop apt lists/caches, logs, tmp and pyc-less junk that a build leaves in the upper dir."""
        self.run("rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb "
                 "/var/log/apt /var/log/dpkg.log /var/log/alternatives.log /var/cache/debconf/*-old "
                 "/var/lib/dpkg/*-old /tmp/* /var/tmp/* /root/.cache")

    def close(self) -> None:
        for target in reversed(self._mounts):
            if os.path.ismount(target):
                r = subprocess.run(["umount", str(target)], capture_output=True)
                if r.returncode != 0:  # busy: detach now, the kernel frees it when the last user goes
                    subprocess.run(["umount", "-l", str(target)], capture_output=True)
        self._mounts.clear()

    def __exit__(self, *exc) -> None:
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def layer(self, store: BlobStore, created_by: str, compress: bool = False) -> Layer:
        """Unmount, then pack the upper dir as a diff layer (whiteouts converted)."""
        self.close()
        return store.put_layer(tree_members(self.upper, whiteouts=True, exclude_contents=EMPTY_DIRS),
                               compress=compress, created_by=created_by)
