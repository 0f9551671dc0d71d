"""A kind node image built here, offline, from what the project already builds (no image registry needed).

Contract (learned from kind's documentation and source, implemented here from scratch): a systemd rootfs whose
entrypoint is `/usr/local/bin/entrypoint /sbin/init`, containerd on /run/containerd/containerd.sock with `ctr`,
kubeadm/kubelet/kubectl in /usr/bin, `/kind/version`, and the default CNI and StorageClass manifests that
`kind create cluster` applies (/kind/manifests/default-cni.yaml, default-storage.yaml). Every image kubeadm
v1.34 asks for is shipped in /kind/images and imported into the node's containerd by airkube-preload.service
before multi-user.target, under the exact names `kubeadm config images list` prints.

Pieces and where they come from:
- rootfs: debootstrap Debian bookworm (systemd 252 still boots on cgroup v1 hosts) + containerd, runc, CNI
  plugins, iptables from Debian; scripts/kind-node/files for the entrypoint, units and manifests;
- kube multi-call binary (kubelet; kube-apiserver/-controller-manager/-scheduler/-proxy images), kubeadm, etcd,
  CoreDNS (with forward) from scripts/build-go.sh; crictl and local-path-provisioner from their Go modules;
  kubectl from the venv (the sha256-pinned official binary); pause from the image builder.

The result is `docker import`ed into the engine as airkube.local/kind-node:<kube version>-<key>; the key hashes
every input, so a warm build is one `docker image inspect`.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ClusterError
from .local.layout import KUBE_ROUTER_VERSION

KUBE_VERSION = "v1.34.4"
NODE_SUITE = "bookworm"
NODE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "containerd", "runc", "containernetworking-plugins",
                 "iptables", "conntrack", "ethtool", "socat", "iproute2", "kmod", "procps", "util-linux", "mount",
                 "ca-certificates", "libseccomp2", "ebtables")
TOOLS_PACKAGES = ("ca-certificates", "iproute2", "iptables", "ipset", "conntrack", "procps")
CRICTL_VERSION = "v1.37.0"
LOCAL_PATH_VERSION = "v0.0.30"
TOOLS_REF = "airkube.local/kind-tools:v1"
LOCAL_PATH_REF = f"airkube.local/local-path-provisioner:{LOCAL_PATH_VERSION}"
# the NetworkPolicy enforcer of our kind nodes (kube-router's firewall only, a DaemonSet in default-cni.yaml): test
# clusters only, as on the local cluster; the node's iptables (nft) and ipset come from the tools base
KUBE_ROUTER_REF = f"airkube.local/kube-router:{KUBE_ROUTER_VERSION}"
NODE_REPO = "airkube.local/kind-node"
RECIPE_VERSION = "1"
STD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"

Log = Callable[[str], None]


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def cache_root() -> Path:
    return Path(os.environ.get("AIRKUBE_CACHE", Path.home() / ".cache" / "airkube"))


def files_dir() -> Path:
    return repo_root() / "scripts" / "kind-node" / "files"


# -- binaries ------------------------------------------------------------------------------------------------
def _run(argv: list[str], log_file: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
         stdin: int | None = None) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as out:
        out.write(("\n$ " + " ".join(argv) + "\n").encode())
        out.flush()
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, stdin=stdin)
    if proc.returncode != 0:
        tail = log_file.read_bytes()[-2500:].decode(errors="replace")
        raise ClusterError(f"`{' '.join(argv)}` failed (exit {proc.returncode}); log {log_file}:\n{tail}")


def build_go_target(target: str, binary: str, log_file: Path) -> Path:
    """scripts/build-go.sh <target>, cached in <cache>/bin/<binary>."""
    path = cache_root() / "bin" / binary
    path.parent.mkdir(parents=True, exist_ok=True)
    # the same lock as the local provider's builds (cluster/local/binaries.py): one build per target at a time
    with open(path.parent / f".build-{target}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.access(path, os.X_OK):
            _run(["bash", str(repo_root() / "scripts" / "build-go.sh"), target], log_file,
                 env={**os.environ, "AIRKUBE_CACHE": str(cache_root())})
    if not os.access(path, os.X_OK):
        raise ClusterError(f"scripts/build-go.sh {target} did not produce {path}")
    return path


def go_install(module: str, version: str, name: str, log_file: Path) -> Path:
    """`go install module@version` into <cache>/bin/<name>-<version>.d (static, trimmed)."""
    out_dir = cache_root() / "bin" / f"{name}-{version}.d"
    path = out_dir / name
    if not os.access(path, os.X_OK):
        out_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GOBIN": str(out_dir), "CGO_ENABLED": "0", "GOFLAGS": "-trimpath -buildvcs=false"}
        _run(["go", "install", "-ldflags", "-s -w", f"{module}@{version}"], log_file, env=env, cwd=Path("/"))
    return path


def kubectl_binary() -> Path:
    beside = Path(sys.executable).parent / "kubectl"
    found = beside if beside.exists() else (Path(shutil.which("kubectl") or ""))
    if not found.is_file():
        raise ClusterError("kubectl not found: run `make setup` (it installs kubectl into .venv/bin)")
    return found.resolve()


@dataclass(frozen=True)
class Binaries:
    kube: Path
    kubeadm: Path
    etcd: Path
    coredns: Path
    crictl: Path
    local_path: Path
    kubectl: Path
    kube_router: Path


def ensure_binaries(log_file: Path, log: Log) -> Binaries:

    log("kube multi-call binary, kubeadm, etcd, CoreDNS (scripts/build-go.sh; cached by version)")
    kube = build_go_target("kube", f"kube-{KUBE_VERSION}", log_file)
    kubeadm = build_go_target("kubeadm", f"kubeadm-{KUBE_VERSION}", log_file)
    etcd = build_go_target("etcd", "etcd-v3.6.16", log_file)
    coredns = build_go_target("coredns-kind", "coredns-kind-v1.14.7", log_file)
    log(f"crictl {CRICTL_VERSION}, local-path-provisioner {LOCAL_PATH_VERSION} (Go module proxy)")
    crictl = go_install("sigs.k8s.io/cri-tools/cmd/crictl", CRICTL_VERSION, "crictl", log_file)
    local_path = go_install("github.com/rancher/local-path-provisioner", LOCAL_PATH_VERSION,
                            "local-path-provisioner", log_file)
    kube_router = build_go_target("kube-router", f"kube-router-{KUBE_ROUTER_VERSION}", log_file)
    return Binaries(kube, kubeadm, etcd, coredns, crictl, local_path, kubectl_binary(), kube_router)


def kubeadm_images(kubeadm: Path) -> dict[str, str]:
    """component -> image reference, as `kubeadm config images list` prints them for KUBE_VERSION."""
    proc = subprocess.run([str(kubeadm), "config", "images", "list", "--kubernetes-version", KUBE_VERSION],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ClusterError(f"kubeadm config images list failed: {proc.stderr.strip()}")
    refs = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    out: dict[str, str] = {}
    for ref in refs:
        name = ref.rsplit("/", 1)[1].split(":", 1)[0]
        out[name] = ref
    missing = {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd", "coredns",
               "pause"} - set(out)
    if missing:
        raise ClusterError(f"kubeadm lists no image for {', '.join(sorted(missing))}: {refs}")
    return out


# -- component images (OCI archives shipped inside the node) ----------------------------------------------------
@dataclass(frozen=True)
class Shipped:
    archive: Path
    ref: str  # name inside the archive
    alias: str = ""  # extra tag in the node's containerd (kubeadm's name for our pause image)


def component_archives(bins: Binaries, refs: dict[str, str], out_dir: Path, log: Log, log_file: Path) -> list[Shipped]:
    from ..images import build_images
    from ..images.build import cache_dir
    from ..images.oci import BlobStore, FileEntry, ImageConfig, file_members, write_archive
    from ..images.rootfs import base_rootfs

    images_cache = cache_dir()
    store = BlobStore(images_cache / "blobs")
    log(f"tools base (debootstrap {NODE_SUITE} + {', '.join(TOOLS_PACKAGES)})")
    tools = base_rootfs(images_cache, store, NODE_SUITE, TOOLS_PACKAGES, log, log_file)
    etc = [FileEntry("etc/passwd", data=PASSWD.encode()), FileEntry("etc/group", data=GROUP.encode()),
           FileEntry("tmp", kind="dir", mode=0o1777)]
    kube_entries = [FileEntry("usr/local/bin/kube", source=bins.kube, mode=0o755)] + [
        FileEntry(f"usr/local/bin/{name}", kind="symlink", target="kube")
        for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")]
    kube_layer = store.put_layer(file_members(kube_entries), created_by=f"COPY kube {KUBE_VERSION} (multi-call)")
    etc_layer = store.put_layer(file_members(etc), created_by="COPY passwd group /tmp")
    env = {"PATH": STD_PATH}
    plain = ImageConfig(env=env)
    plan: list[tuple[str, list, ImageConfig]] = [
        (refs["kube-apiserver"], [etc_layer, kube_layer], plain),
        (refs["kube-controller-manager"], [etc_layer, kube_layer], plain),
        (refs["kube-scheduler"], [etc_layer, kube_layer], plain),
        (refs["kube-proxy"], [tools.layer, kube_layer], plain),
        (refs["etcd"], [etc_layer, store.put_layer(file_members(
            [FileEntry("usr/local/bin/etcd", source=bins.etcd, mode=0o755)]), created_by="COPY etcd v3.6.16")],
         plain),
        (refs["coredns"], [etc_layer, store.put_layer(file_members(
            [FileEntry("coredns", source=bins.coredns, mode=0o755)]), created_by="COPY coredns v1.14.7")],
         ImageConfig(entrypoint=["/coredns"], env=env, exposed_ports=["53/tcp", "53/udp"])),
        (TOOLS_REF, [tools.layer, store.put_layer(file_members(
            [FileEntry("usr/local/bin/kubectl", source=bins.kubectl, mode=0o755)]), created_by="COPY kubectl")],
         ImageConfig(cmd=["sh"], env=env)),
        (LOCAL_PATH_REF, [etc_layer, store.put_layer(file_members(
            [FileEntry("usr/local/bin/local-path-provisioner", source=bins.local_path, mode=0o755)]),
            created_by=f"COPY local-path-provisioner {LOCAL_PATH_VERSION}")], plain),
        (KUBE_ROUTER_REF, [tools.layer, store.put_layer(file_members(
            [FileEntry("usr/local/bin/kube-router", source=bins.kube_router, mode=0o755)]),
            created_by=f"COPY kube-router {KUBE_ROUTER_VERSION}")], plain),
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    shipped: list[Shipped] = []
    for ref, layers, config in plan:
        name = ref.rsplit("/", 1)[1].replace(":", "_") + ".tar"
        log(f"image {ref}")
        write_archive(out_dir / name, ref, layers, config, store)
        shipped.append(Shipped(out_dir / name, ref))
    pause = build_images(["pause"])["pause"]
    shutil.copyfile(pause, out_dir / "pause.tar")
    from ..images.specs import IMAGES

    shipped.append(Shipped(out_dir / "pause.tar", IMAGES["pause"].ref, alias=refs["pause"]))
    return shipped


# -- the node image -------------------------------------------------------------------------------------------
def node_key(bins: Binaries | None = None) -> str:
    """Hash of the recipe: versions, packages, the files in scripts/kind-node and scripts/build, this module."""
    h = hashlib.sha256(json.dumps([RECIPE_VERSION, KUBE_VERSION, NODE_SUITE, NODE_PACKAGES, TOOLS_PACKAGES,
                                   CRICTL_VERSION, LOCAL_PATH_VERSION, KUBE_ROUTER_VERSION]).encode())
    root = repo_root()
    for base in (root / "scripts" / "kind-node", root / "scripts" / "build", root / "scripts" / "build-go.sh"):
        paths = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for path in paths:
            h.update(str(path.relative_to(root)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    h.update(inspect.getsource(sys.modules[__name__]).encode())
    if bins is not None:
        h.update(hashlib.sha256(bins.kubectl.read_bytes()).digest())
    return h.hexdigest()[:12]


def node_image_ref() -> str:
    return f"{NODE_REPO}:{KUBE_VERSION}-{node_key()}"


def docker_env() -> dict[str, str]:
    from .docker import engine_env

    return engine_env()


def image_present(ref: str) -> bool:
    proc = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, env=docker_env())
    return proc.returncode == 0


NODE_SCRIPT = """
ln -sfn /usr/lib/cni /opt/cni/bin 2>/dev/null || { mkdir -p /opt/cni; ln -sfn /usr/lib/cni /opt/cni/bin; }
systemctl enable containerd.service kubelet.service airkube-preload.timer
systemctl mask getty@.service serial-getty@.service console-getty.service systemd-logind.service \
  systemd-udevd.service systemd-udev-trigger.service systemd-networkd.service systemd-resolved.service \
  systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service systemd-firstboot.service \
  2>/dev/null || true
update-alternatives --set iptables /usr/sbin/iptables-nft
update-alternatives --set ip6tables /usr/sbin/ip6tables-nft
mkdir -p /etc/systemd/system.conf.d /etc/cni/net.d /var/lib/kubelet /etc/kubernetes/manifests
printf '[Manager]\\nShowStatus=yes\\n' >/etc/systemd/system.conf.d/10-airkube.conf
rm -f /etc/containerd/config.toml.dpkg-dist
"""


def build_node_image(console_log: Log | None = None, force: bool = False) -> str:
    """Build (or reuse) the node image in the engine that DOCKER_HOST/engine_env() names; returns its ref."""
    from ..images.build import cache_dir
    from ..images.oci import BlobStore
    from ..images.rootfs import Overlay, base_rootfs

    log: Log = console_log or (lambda msg: print(f"[kind-node] {msg}", file=sys.stderr))
    ref = node_image_ref()
    if not force and image_present(ref):
        log(f"cached {ref}")
        return ref
    if os.geteuid() != 0:
        raise ClusterError("building the kind node image needs root (debootstrap, overlayfs mounts)")
    t0 = time.monotonic()
    work = cache_root() / "kind-node"
    log_file = cache_root() / "logs" / "kind-node.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text(f"# kind node image {ref} at {time.strftime('%F %T')}\n")
    bins = ensure_binaries(log_file, log)
    refs = kubeadm_images(bins.kubeadm)
    shipped = component_archives(bins, refs, work / "images", log, log_file)
    images_cache = cache_dir()
    store = BlobStore(images_cache / "blobs")
    log(f"node rootfs (debootstrap {NODE_SUITE} + systemd, containerd, runc, CNI plugins, iptables)")
    base = base_rootfs(images_cache, store, NODE_SUITE, NODE_PACKAGES, log, log_file)
    with Overlay(base.path, images_cache / "work", log_file) as ov:
        root = ov.merged
        shutil.copytree(files_dir(), root, symlinks=True, dirs_exist_ok=True)
        config = root / "etc/containerd/config.toml"
        config.write_text(config.read_text().replace("@PAUSE_IMAGE@", refs["pause"]))
        for src, name in ((bins.kube, "kubelet"), (bins.kubeadm, "kubeadm"), (bins.kubectl, "kubectl"),
                          (bins.crictl, "crictl")):
            shutil.copyfile(src, root / "usr/bin" / name)
            os.chmod(root / "usr/bin" / name, 0o755)
        images_dir = root / "kind/images"
        images_dir.mkdir(parents=True, exist_ok=True)
        for item in shipped:
            shutil.copyfile(item.archive, images_dir / item.archive.name)
        (images_dir / "index").write_text("".join(f"{s.archive.name} {s.ref} {s.alias}\n" for s in shipped))
        (root / "kind/version").write_text(KUBE_VERSION)
        ov.run(NODE_SCRIPT)
        log(f"docker import {ref}")
        tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "--xattrs", "-cf", "-",
                                "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*", "."],
                               stdout=subprocess.PIPE)
        try:
            _run(["docker", "import",
                  "--change", 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
                  "--change", "ENV container=docker",
                  "--change", f"LABEL io.airkube.kind-node.kubernetes={KUBE_VERSION}",
                  "-", ref], log_file, env=docker_env(), stdin=tar.stdout.fileno() if tar.stdout else None)
        finally:
            if tar.stdout:
                tar.stdout.close()
            tar.wait()
    log(f"built {ref} in {time.monotonic() - t0:.0f}s")
    return ref
