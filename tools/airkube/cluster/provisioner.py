"""hostPath provisioner of the local cluster: `python -m airkube.cluster.provisioner --kubeconfig K --root DIR`.

Watches PVCs of StorageClass `airkube-hostpath` (provisioner `airkube.local/hostpath`), creates one hostPath PV
per claim under <root>/<ns>-<pvc>-<uid> (mode 0777 so non-root pods, e.g. uid 50000/999, can write), honouring
the claim's access modes and size; when a claim goes away its PV is Released and we delete PV and directory.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STORAGE_CLASS = "airkube-hostpath"
PROVISIONER_NAME = "airkube.local/hostpath"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"

log = logging.getLogger("airkube.provisioner")


@dataclass(frozen=True)
class Claim:
    namespace: str
    name: str
    uid: str
    storage_class: str | None
    access_modes: tuple[str, ...]
    size: str
    volume_mode: str
    phase: str
    volume_name: str | None

    @classmethod
    def from_api(cls, pvc: Any) -> Claim:
        spec = pvc.spec
        requests = (spec.resources.requests or {}) if spec.resources else {}
        return cls(
            namespace=pvc.metadata.namespace, name=pvc.metadata.name, uid=pvc.metadata.uid,
            storage_class=spec.storage_class_name, access_modes=tuple(spec.access_modes or ("ReadWriteOnce",)),
            size=requests.get("storage", "1Gi"), volume_mode=spec.volume_mode or "Filesystem",
            phase=(pvc.status.phase if pvc.status else None) or "Pending", volume_name=spec.volume_name,
        )

    def wants_volume(self) -> bool:
        return self.storage_class == STORAGE_CLASS and self.phase == "Pending" and not self.volume_name

    @property
    def pv_name(self) -> str:
        return f"pvc-{self.uid}"

    def directory(self, root: Path) -> Path:
        return root / f"{self.namespace}-{self.name}-{self.uid}"


def pv_manifest(claim: Claim, root: Path) -> dict[str, Any]:
    """The PV bound in advance to `claim` (pure; unit-tested)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": claim.pv_name,
            "annotations": {PROVISIONED_BY: PROVISIONER_NAME},
            "labels": {"airkube.local/provisioner": "hostpath"},
        },
        "spec": {
            "capacity": {"storage": claim.size},
            "accessModes": list(claim.access_modes),
            "volumeMode": claim.volume_mode,
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": STORAGE_CLASS,
            "hostPath": {"path": str(claim.directory(root)), "type": "DirectoryOrCreate"},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "namespace": claim.namespace, "name": claim.name, "uid": claim.uid},
        },
    }


def make_directory(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)  # explicit: umask must not take the write bit away from uid 50000/999


def remove_directory(path: Path, root: Path) -> None:
    resolved = path.resolve()
    if resolved.parent != root.resolve():
        raise ValueError(f"refusing to delete {path}: not directly under {root}")
    shutil.rmtree(resolved, ignore_errors=True)


class Provisioner:
    def __init__(self, core: Any, root: Path) -> None:
        self.core = core
        self.root = root
        self.wake = threading.Event()
        self.stopping = threading.Event()

    def reconcile(self) -> None:
        from kubernetes.client.exceptions import ApiException

        for pvc in self.core.list_persistent_volume_claim_for_all_namespaces().items:
            claim = Claim.from_api(pvc)
            if not claim.wants_volume():
                continue
            try:
                self.core.read_persistent_volume(claim.pv_name)
                continue
            except ApiException as exc:
                if exc.status != 404:
                    raise
            make_directory(claim.directory(self.root))
            self.core.create_persistent_volume(pv_manifest(claim, self.root))
            log.info("provisioned %s for %s/%s (%s, %s)", claim.pv_name, claim.namespace, claim.name,
                     claim.size, ",".join(claim.access_modes))
        for pv in self.core.list_persistent_volume(label_selector="airkube.local/provisioner=hostpath").items:
            annotations = pv.metadata.annotations or {}
            phase = pv.status.phase if pv.status else None
            if annotations.get(PROVISIONED_BY) != PROVISIONER_NAME or phase not in ("Released", "Failed"):
                continue
            if pv.spec.persistent_volume_reclaim_policy != "Delete":
                continue
            if pv.spec.host_path:
                remove_directory(Path(pv.spec.host_path.path), self.root)
            try:
                self.core.delete_persistent_volume(pv.metadata.name)
            except ApiException as exc:
                if exc.status != 404:
                    raise
            log.info("deleted %s (claim gone) and its directory", pv.metadata.name)

    def _watch(self, list_call: Any) -> None:
        from kubernetes import watch

        while not self.stopping.is_set():
            try:
                for _ in watch.Watch().stream(list_call, timeout_seconds=60):
                    self.wake.set()
                    if self.stopping.is_set():
                        return
            except Exception as exc:  # API restarts, timeouts: back off and re-watch
                log.debug("watch ended: %s", exc)
                time.sleep(1)

    def run(self) -> None:
        for call in (self.core.list_persistent_volume_claim_for_all_namespaces, self.core.list_persistent_volume):
            threading.Thread(target=self._watch, args=(call,), daemon=True).start()
        while not self.stopping.is_set():
            try:
                self.reconcile()
            except Exception as exc:
                log.warning("reconcile failed (retrying): %s", exc)
                time.sleep(1)
            self.wake.wait(timeout=15)
            self.wake.clear()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--root", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from airkube.kube import connect

    args.root.mkdir(parents=True, exist_ok=True)
    provisioner = Provisioner(connect(args.kubeconfig, in_cluster=False).core, args.root)

    def _stop(*_: Any) -> None:
        provisioner.stopping.set()
        provisioner.wake.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("watching PVCs of class %s; volumes under %s", STORAGE_CLASS, args.root)
    provisioner.run()


if __name__ == "__main__":
    main()
