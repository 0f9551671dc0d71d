"""Build images into cached OCI archives: key inputs, skip unchanged, lock, build, write atomically."""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from airkube.errors import ConfigError
from airkube.images import builders, oci, rootfs
from airkube.images.oci import BlobStore
from airkube.images.specs import IMAGES, ImageSpec
from airkube.progress import Heartbeat

REPO_ROOT = Path(__file__).resolve().parents[3]


def cache_dir() -> Path:
    return Path(os.environ.get("AIRKUBE_CACHE", Path.home() / ".cache" / "airkube")) / "images"


def _hash_path(h: hashlib._Hash, path: Path, rel: str) -> None:
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and "__pycache__" not in child.parts:
                h.update(f"{child.relative_to(REPO_ROOT)}\0".encode())
                h.update(hashlib.sha256(child.read_bytes()).digest())
    elif path.is_file():
        h.update(f"{rel}\0".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    else:
        raise FileNotFoundError(f"image input {rel} is missing from the repository ({path})")


def input_key(spec: ImageSpec) -> str:
    """Hash of everything that determines the image: spec, versions, input files, builder code."""
    h = hashlib.sha256()
    h.update(json.dumps(spec.key_material(), sort_keys=True).encode())
    for rel in spec.inputs:
        _hash_path(h, REPO_ROOT / rel, rel)
    h.update(inspect.getsource(builders.BUILDERS[spec.builder]).encode())
    for fn in (oci._info, oci.tree_members, oci.file_members, oci.BlobStore.put_layer, oci.ImageConfig,
               oci.write_archive):  # what shapes layers and archives (not verification helpers)
        h.update(inspect.getsource(fn).encode())
    if spec.debian:  # what shapes the Debian base and the diff layers (not locking, logging, mounts)
        for step in (rootfs._build_base, rootfs.Overlay.cleanup_build_leftovers, rootfs.Overlay.layer):
            h.update(inspect.getsource(step).encode())
        h.update(json.dumps([rootfs.BASE_RECIPE_VERSION, rootfs.DPKG_NODOC, rootfs.APT_NORECOMMENDS,
                             list(rootfs.EMPTY_DIRS)]).encode())
        h.update(inspect.getsource(builders._debian_image).encode())
        h.update(inspect.getsource(builders.BuildContext).encode())
    return h.hexdigest()[:16]


@dataclass
class Built:
    name: str
    ref: str
    archive: Path
    key: str
    cached: bool
    seconds: float
    size: int


def archive_path(spec: ImageSpec, key: str) -> Path:
    return cache_dir() / "archives" / f"{spec.name}-{spec.tag}-{key}.tar"


@contextmanager
def _lock(name: str) -> Iterator[None]:
    path = cache_dir() / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def status(names: list[str] | None = None) -> list[dict]:
    """Per image: ref, expected archive path, whether it is built, and its recorded metadata."""
    rows = []
    for name in names or list(IMAGES):
        spec = IMAGES[name]
        key = input_key(spec)
        path = archive_path(spec, key)
        meta_path = path.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        rows.append({"name": name, "ref": spec.ref, "key": key, "archive": path, "built": path.is_file(),
                     "description": spec.description, **{k: meta.get(k) for k in
                                                        ("archive_size", "image_size", "build_seconds")}})
    return rows


def _resolve(names: list[str] | None) -> list[str]:
    if not names:  # on-demand images (long Go compiles: minio, fake-gcs-server) only when named
        return [name for name, spec in IMAGES.items() if spec.default]
    unknown = [n for n in names if n not in IMAGES]
    if unknown:
        raise ConfigError(f"unknown image(s) {', '.join(unknown)}; known: {', '.join(IMAGES)}")
    return list(dict.fromkeys(names))


def build_images(names: list[str] | None = None, force: bool = False, console: Console | None = None) -> dict[str, Path]:
    """Build (or reuse) the OCI archives of `names` (default: every image with `default=True`);
    returns short name -> archive path."""
    console = console or Console(stderr=True)
    result: dict[str, Path] = {}
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[image]}[/] {task.description}"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        for name in _resolve(names):
            built = _build_one(IMAGES[name], force, progress)
            result[name] = built.archive
    prune_blobs()
    return result


def prune_blobs(min_age_s: float = 3600) -> int:
    """Delete blobs no archive or base rootfs refers to (older than `min_age_s`: concurrent builds are safe)."""
    cache = cache_dir()
    keep: set[str] = set()
    for meta in [*cache.glob("archives/*.json"), *cache.glob("rootfs/*/layer.json")]:
        try:
            data = json.loads(meta.read_text())
        except (OSError, ValueError):
            return 0  # being written: prune another time
        keep.update(filter(None, [data.get("digest"), data.get("manifest_digest"), data.get("config_digest")]))
        keep.update(layer["digest"] for layer in data.get("layers", []))
    removed = 0
    now = time.time()
    for blob in (cache / "blobs" / "sha256").glob("*"):
        if f"sha256:{blob.name}" not in keep and not blob.name.startswith(".") and now - blob.stat().st_mtime > min_age_s:
            blob.unlink(missing_ok=True)
            removed += 1
    return removed


def _build_one(spec: ImageSpec, force: bool, progress: Progress) -> Built:
    key = input_key(spec)
    out = archive_path(spec, key)
    task = progress.add_task("", image=spec.name, total=None)
    plain = not progress.console.is_terminal  # off a terminal rich shows nothing until the end: lines instead
    beat = Heartbeat(f"image {spec.name}", lambda text: progress.console.print(f"  {escape(text)}", highlight=False))

    def log(msg: str) -> None:
        progress.update(task, description=msg)
        if plain:
            beat.what = f"image {spec.name}: {msg}"
            beat.touch()
            progress.console.print(f"  image {escape(spec.name)}: {escape(msg)}", highlight=False)

    if out.is_file() and not force:
        progress.update(task, description=f"cached {out.name} ({out.stat().st_size / 1e6:.1f} MB)", total=1,
                        completed=1)
        return Built(spec.name, spec.ref, out, key, True, 0.0, out.stat().st_size)
    with _lock(spec.name):
        if out.is_file() and not force:  # built by a concurrent caller while we waited
            progress.update(task, description="cached (built concurrently)", total=1, completed=1)
            return Built(spec.name, spec.ref, out, key, True, 0.0, out.stat().st_size)
        cache = cache_dir()
        logfile = cache / "logs" / f"{spec.name}.log"
        logfile.parent.mkdir(parents=True, exist_ok=True)
        logfile.write_text(f"# build of {spec.ref} key {key} at {time.strftime('%F %T')}\n")
        store = BlobStore(cache / "blobs")
        ctx = builders.BuildContext(spec=spec, repo=REPO_ROOT, cache=cache, store=store, logfile=logfile, log=log)
        t0 = time.monotonic()
        log("building")
        if plain:
            beat.start()
        try:
            layers = builders.BUILDERS[spec.builder](ctx)
            log("writing OCI archive")
            summary = oci.write_archive(out, spec.ref, layers, spec.config, store)
        except Exception:
            progress.update(task, description=f"[red]failed[/] (log: {logfile})")
            raise
        finally:
            beat.stop()
        seconds = time.monotonic() - t0
        summary.update(build_seconds=round(seconds, 1), key=key, built_at=time.strftime("%F %T"),
                       name=spec.name)
        meta = out.with_suffix(".json")
        tmp = meta.with_name(meta.name + ".tmp")
        tmp.write_text(json.dumps(summary, indent=1))
        os.replace(tmp, meta)
        for old in out.parent.glob(f"{spec.name}-{spec.tag}-*"):  # superseded builds
            if old.name not in (out.name, meta.name) and not old.name.endswith(".tmp"):
                old.unlink(missing_ok=True)
        progress.update(task, description=f"built {out.name} ({out.stat().st_size / 1e6:.1f} MB) in {seconds:.0f}s",
                        total=1, completed=1)
        if plain:
            progress.console.print(f"  image {escape(spec.name)}: built in {seconds:.0f}s", highlight=False)
        return Built(spec.name, spec.ref, out, key, False, seconds, out.stat().st_size)
