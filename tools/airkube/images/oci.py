"""OCI image layout archives written by hand: layers (tar), config, manifest, index.json.

No Docker, no registry: a layer is a tar stream produced from a directory (whole rootfs, an overlayfs
upper dir with its whiteouts converted to OCI `.wh.` entries, or an explicit file list); blobs live in a
content-addressed store (`<cache>/blobs/sha256/<hex>`) so a layer shared by several images (the Debian base)
is written once. `write_archive` packs one image as an OCI layout tarball that `ctr images import` and
`skopeo copy oci-archive:` understand.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, cast

MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
ANN_REF_NAME = "org.opencontainers.image.ref.name"
ANN_CONTAINERD_NAME = "io.containerd.image.name"

WHITEOUT_PREFIX = ".wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"


@dataclass(frozen=True)
class Layer:
    """A layer blob in the store: `digest` of the (maybe compressed) blob, `diff_id` of the plain tar."""

    digest: str
    diff_id: str
    size: int
    media_type: str
    created_by: str = ""

    def to_json(self) -> dict:
        return {"digest": self.digest, "diff_id": self.diff_id, "size": self.size,
                "media_type": self.media_type, "created_by": self.created_by}

    @classmethod
    def from_json(cls, data: dict) -> Layer:
        return cls(**data)


@dataclass(frozen=True)
class FileEntry:
    """One entry of an explicit layer: a file copied from `source`, inline `data`, a dir or a symlink."""

    path: str  # path inside the image, without leading slash
    source: Path | None = None
    data: bytes | None = None
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    kind: str = "file"  # file | dir | symlink
    target: str = ""  # symlink target


class _HashWriter(io.RawIOBase):
    """Write-through file object computing sha256 and size of what passes."""

    def __init__(self, out) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.sha.update(b)
        self.size += len(b)
        self.out.write(b)
        return len(b)


class BlobStore:
    """Content-addressed blobs under `root/sha256/<hex>`, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "sha256").mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        algo, hexd = digest.split(":", 1)
        return self.root / algo / hexd

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        p = self.path(digest)
        if not p.exists():
            tmp = p.with_name(p.name + f".tmp{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, p)
        return digest, len(data)

    def put_layer(self, entries: Iterable[tarfile.TarInfo | tuple[tarfile.TarInfo, object]],
                  *, compress: bool = False, created_by: str = "") -> Layer:
        """Stream tar members into a new blob. Items are TarInfo or (TarInfo, readable fileobj)."""
        fd, tmpname = tempfile.mkstemp(dir=self.root / "sha256", prefix=".layer-")
        with os.fdopen(fd, "wb") as raw:
            outer = _HashWriter(raw)
            if compress:
                gz = gzip.GzipFile(fileobj=outer, mode="wb", compresslevel=1, mtime=0)
                inner = _HashWriter(gz)
            else:
                gz = None
                inner = outer
            with tarfile.open(fileobj=inner, mode="w|", format=tarfile.PAX_FORMAT) as tf:
                for item in entries:
                    if isinstance(item, tuple):
                        info, fobj = item
                        tf.addfile(info, cast(IO[bytes], fobj))
                    else:
                        tf.addfile(item)
            if gz is not None:
                gz.close()
            raw.flush()
            os.fsync(raw.fileno())
        digest = "sha256:" + outer.sha.hexdigest()
        diff_id = "sha256:" + inner.sha.hexdigest()
        os.replace(tmpname, self.path(digest))
        return Layer(digest=digest, diff_id=diff_id, size=outer.size,
                     media_type=MT_LAYER_GZIP if compress else MT_LAYER, created_by=created_by)


# ----------------------------------------------------------------------------------------------------------
# tar members from directories and file lists


def _info(name: str, st: os.stat_result, kind: bytes) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""
    ti.mtime = int(st.st_mtime)
    return ti


def tree_members(root: Path, *, whiteouts: bool = False, exclude_contents: Iterable[str] = (),
                 exclude: Iterable[str] = ()) -> Iterator[tarfile.TarInfo | tuple[tarfile.TarInfo, object]]:
    """Members for every entry under `root` (sorted, numeric owners, hard links kept).

    `whiteouts=True` reads `root` as an overlayfs upper dir: a 0/0 character device becomes `.wh.<name>`,
    a directory with xattr trusted.overlay.opaque=y gets a `.wh..wh..opq` member.
    `exclude_contents`: dirs kept empty (dev, proc, sys); `exclude`: paths dropped entirely.
    """
    empty = {p.strip("/") for p in exclude_contents}
    skip = {p.strip("/") for p in exclude}
    links: dict[tuple[int, int], str] = {}

    def walk(rel: str) -> Iterator:
        base = root / rel if rel else root
        with os.scandir(base) as it:
            names = sorted(e.name for e in it)
        for name in names:
            arc = f"{rel}/{name}" if rel else name
            if arc in skip:
                continue
            full = base / name
            st = os.lstat(full)
            mode = st.st_mode
            if whiteouts and stat.S_ISCHR(mode) and st.st_rdev == 0:
                ti = _info(f"{rel}/{WHITEOUT_PREFIX}{name}" if rel else WHITEOUT_PREFIX + name, st, tarfile.REGTYPE)
                ti.mode, ti.size = 0o644, 0
                yield ti
            elif stat.S_ISDIR(mode):
                yield _info(arc, st, tarfile.DIRTYPE)
                if whiteouts:
                    try:
                        opaque = os.getxattr(full, "trusted.overlay.opaque", follow_symlinks=False)
                    except OSError:
                        opaque = b""
                    if opaque == b"y":
                        ti = _info(f"{arc}/{WHITEOUT_OPAQUE}", st, tarfile.REGTYPE)
                        ti.mode, ti.size = 0o644, 0
                        yield ti
                if arc not in empty:
                    yield from walk(arc)
            elif stat.S_ISLNK(mode):
                ti = _info(arc, st, tarfile.SYMTYPE)
                ti.linkname = os.readlink(full)
                yield ti
            elif stat.S_ISREG(mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in links:
                    ti = _info(arc, st, tarfile.LNKTYPE)
                    ti.linkname = links[key]
                    yield ti
                    continue
                if st.st_nlink > 1:
                    links[key] = arc
                ti = _info(arc, st, tarfile.REGTYPE)
                ti.size = st.st_size
                with open(full, "rb") as f:
                    yield (ti, f)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                ti = _info(arc, st, tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE)
                ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
                yield ti
            elif stat.S_ISFIFO(mode):
                yield _info(arc, st, tarfile.FIFOTYPE)
            # sockets are not representable in tar: skipped

    yield from walk("")


def file_members(entries: Iterable[FileEntry], mtime: int = 0) -> Iterator:
    """Members for an explicit list; parent directories are added (0755 root) when not listed."""
    seen: set[str] = set()
    entries = list(entries)
    listed = {e.path.strip("/") for e in entries if e.kind == "dir"}
    for e in sorted(entries, key=lambda e: e.path):
        path = e.path.strip("/")
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent not in seen and parent not in listed:
                seen.add(parent)
                ti = tarfile.TarInfo(parent)
                ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, mtime
                yield ti
        seen.add(path)
        ti = tarfile.TarInfo(path)
        ti.mode, ti.uid, ti.gid, ti.mtime = e.mode, e.uid, e.gid, mtime
        if e.kind == "dir":
            ti.type = tarfile.DIRTYPE
            yield ti
        elif e.kind == "symlink":
            ti.type, ti.linkname = tarfile.SYMTYPE, e.target
            yield ti
        else:
            data = e.data if e.data is not None else Path(e.source).read_bytes()  # type: ignore[arg-type]
            ti.size = len(data)
            yield (ti, io.BytesIO(data))


# ----------------------------------------------------------------------------------------------------------
# config / manifest / index / archive


@dataclass
class ImageConfig:
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    workdir: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: list[str] = field(default_factory=list)
    stop_signal: str = ""

    def to_json(self) -> dict:
        cfg: dict = {"Env": [f"{k}={v}" for k, v in self.env.items()]}
        if self.entrypoint is not None:
            cfg["Entrypoint"] = self.entrypoint
        if self.cmd is not None:
            cfg["Cmd"] = self.cmd
        if self.user:
            cfg["User"] = self.user
        if self.workdir:
            cfg["WorkingDir"] = self.workdir
        if self.labels:
            cfg["Labels"] = self.labels
        if self.exposed_ports:
            cfg["ExposedPorts"] = {p: {} for p in self.exposed_ports}
        if self.stop_signal:
            cfg["StopSignal"] = self.stop_signal
        return cfg


def _canon(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def write_archive(out: Path, ref: str, layers: list[Layer], config: ImageConfig, store: BlobStore,
                  created: datetime | None = None) -> dict:
    """Write an OCI image layout tarball for `ref` (atomically); returns a summary (digests, size)."""
    created_s = (created or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cfg = {
        "created": created_s,
        "architecture": "amd64",
        "os": "linux",
        "config": config.to_json(),
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": created_s, "created_by": layer.created_by or "airkube images"} for layer in layers],
    }
    cfg_digest, cfg_size = store.put_bytes(_canon(cfg))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": cfg_digest, "size": cfg_size},
        "layers": [{"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size} for layer in layers],
        "annotations": {"org.opencontainers.image.created": created_s},
    }
    man_digest, man_size = store.put_bytes(_canon(manifest))
    tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else "latest"
    index = {
        "schemaVersion": 2,
        "mediaType": MT_INDEX,
        "manifests": [{
            "mediaType": MT_MANIFEST, "digest": man_digest, "size": man_size,
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {ANN_CONTAINERD_NAME: ref, ANN_REF_NAME: tag},
        }],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tf:
        def add_bytes(name: str, data: bytes, mode: int = 0o644) -> None:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.type = len(data), mode, tarfile.REGTYPE
            tf.addfile(ti, io.BytesIO(data))

        for d in ("blobs", "blobs/sha256"):
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            tf.addfile(ti)
        add_bytes("oci-layout", _canon({"imageLayoutVersion": "1.0.0"}))
        add_bytes("index.json", _canon(index))
        written: set[str] = set()
        for digest in [cfg_digest, man_digest, *[layer.digest for layer in layers]]:
            if digest in written:
                continue
            written.add(digest)
            src = store.path(digest)
            ti = tarfile.TarInfo("blobs/sha256/" + digest.split(":", 1)[1])
            ti.size, ti.mode, ti.type = src.stat().st_size, 0o644, tarfile.REGTYPE
            with open(src, "rb") as f:
                tf.addfile(ti, f)
    os.replace(tmp, out)
    return {
        "ref": ref, "manifest_digest": man_digest, "config_digest": cfg_digest,
        "layers": [layer.to_json() for layer in layers],
        "image_size": sum(layer.size for layer in layers) + cfg_size + man_size,
        "archive_size": out.stat().st_size,
    }


def _stream_digest(fobj, gunzip: bool = False) -> tuple[str, int, str | None]:
    """sha256 and size of a stream, and (gunzip=True) the sha256 of its decompressed content."""
    sha, size = hashlib.sha256(), 0
    inner = hashlib.sha256() if gunzip else None
    dec = zlib.decompressobj(16 + zlib.MAX_WBITS) if gunzip else None
    while chunk := fobj.read(1 << 20):
        sha.update(chunk)
        size += len(chunk)
        if dec is not None and inner is not None:
            inner.update(dec.decompress(chunk))
    if dec is not None and inner is not None:
        inner.update(dec.flush())
    return "sha256:" + sha.hexdigest(), size, ("sha256:" + inner.hexdigest()) if inner else None


def verify_archive(path: Path) -> list[str]:
    """Check an OCI layout tarball: every referenced blob exists with the right size and sha256,
    config diff_ids match the uncompressed layers. Returns a list of problems (empty when valid).
    Streams blobs: memory use does not grow with layer size."""
    problems: list[str] = []
    with tarfile.open(path) as tf:
        members = {m.name: m for m in tf.getmembers()}

        def open_member(name: str):
            if name not in members:
                problems.append(f"missing {name}")
                return None
            return tf.extractfile(members[name])

        def check(desc: dict, gunzip: bool = False) -> tuple[bool, str | None]:
            f = open_member("blobs/sha256/" + desc["digest"].split(":", 1)[1])
            if f is None:
                return False, None
            digest, size, inner = _stream_digest(f, gunzip)
            if size != desc["size"]:
                problems.append(f"{desc['digest']}: size {size} != {desc['size']}")
            if digest != desc["digest"]:
                problems.append(f"{desc['digest']}: content does not match digest")
            return True, inner if gunzip else digest

        def read_json(desc: dict) -> dict:
            ok, _ = check(desc)
            if not ok:
                return {}
            member = tf.extractfile(members["blobs/sha256/" + desc["digest"].split(":", 1)[1]])
            return json.loads(member.read()) if member is not None else {}

        layout = open_member("oci-layout")
        if layout is not None and json.loads(layout.read()).get("imageLayoutVersion") != "1.0.0":
            problems.append("oci-layout: imageLayoutVersion is not 1.0.0")
        raw_index = open_member("index.json")
        if raw_index is None:
            return problems
        index = json.loads(raw_index.read())
        if not index.get("manifests"):
            problems.append("index.json lists no manifests")
        for mdesc in index.get("manifests", []):
            manifest = read_json(mdesc)
            if not manifest:
                continue
            cfg = read_json(manifest["config"])
            diff_ids = cfg.get("rootfs", {}).get("diff_ids", [])
            if len(diff_ids) != len(manifest["layers"]):
                problems.append("config diff_ids and manifest layers differ in number")
            for ldesc, diff_id in zip(manifest["layers"], diff_ids):
                ok, plain = check(ldesc, gunzip=ldesc["mediaType"].endswith("+gzip"))
                if ok and plain != diff_id:
                    problems.append(f"{ldesc['digest']}: diff_id mismatch")
    return problems
