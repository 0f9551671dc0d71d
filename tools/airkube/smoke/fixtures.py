"""The world the seed's KubernetesPodOperator call needs, created idempotently with the kubernetes client.

* Secrets ``airflow-secrets`` (key ``sql_alchemy_conn``) and ``airflow-secrets-2`` (all keys as env)
* ConfigMaps ``test-configmap-1`` and ``test-configmap-2`` (env from)
* PVC ``test-volume`` (default StorageClass unless given, ReadWriteOnce) mounted read-only
* the label ``topology.kubernetes.io/zone`` on every node that lacks it (pod affinity's topology key)
* a running anchor pod labelled ``security=S1`` (pod affinity needs one), and no ``security=S2`` pod

Manifests are plain dicts built by pure functions (testable offline); :func:`ensure_fixtures` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airkube.kube import create_or_update, restricted_security, wait_gone, wait_pod_running

ZONE_LABEL = "topology.kubernetes.io/zone"
DEFAULT_ZONE = "airkube-zone-a"
MANAGED_BY = {"app.kubernetes.io/managed-by": "airkube", "app.kubernetes.io/part-of": "airkube-smoke"}
ANCHOR_POD = "airkube-smoke-anchor"

# Values the smoke DAG's container prints back; the runner compares them.
SECRET_SQL_CONN = "postgresql://airkube-smoke:not-a-secret@airkube-smoke.invalid:5432/smoke"
EXPECTED_EVIDENCE: dict[str, str] = {
    "secret_file": SECRET_SQL_CONN,
    "secret_env": SECRET_SQL_CONN,
    "secret_all_keys": "airkube-secret-two",
    "configmap_1": "airkube-configmap-one",
    "configmap_2": "airkube-configmap-two",
    "pvc_mount": "ro",
    "pvc_write_refused": "yes",
}


@dataclass(frozen=True)
class FixtureOptions:
    namespace: str
    image: str
    storage_class: str | None = None
    pvc_size: str = "16Mi"
    zone: str = DEFAULT_ZONE
    label_nodes: bool = True
    anchor_timeout: float = 180.0


@dataclass
class FixtureReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    labelled_nodes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _meta(name: str, namespace: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": {**MANAGED_BY, **(labels or {})}}


def secret_manifests(namespace: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta("airflow-secrets", namespace),
            "type": "Opaque",
            "stringData": {"sql_alchemy_conn": SECRET_SQL_CONN},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta("airflow-secrets-2", namespace),
            "type": "Opaque",
            "stringData": {"AIRKUBE_SECRET2": EXPECTED_EVIDENCE["secret_all_keys"]},
        },
    ]


def configmap_manifests(namespace: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("test-configmap-1", namespace),
            "data": {"AIRKUBE_CM1": EXPECTED_EVIDENCE["configmap_1"]},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("test-configmap-2", namespace),
            "data": {"AIRKUBE_CM2": EXPECTED_EVIDENCE["configmap_2"]},
        },
    ]


def pvc_manifest(namespace: str, storage_class: str | None = None, size: str = "16Mi") -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta("test-volume", namespace),
        "spec": spec,
    }


def anchor_pod_manifest(namespace: str, image: str) -> dict[str, Any]:
    """A long-running, non-root pod labelled ``security=S1``: the seed's pod affinity co-locates with it."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(ANCHOR_POD, namespace, {"security": "S1"}),
        "spec": {
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 2,
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 65534,
                "runAsGroup": 65534,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "anchor",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["bash", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"],
                    "resources": {
                        "requests": {"cpu": "1m", "memory": "4Mi"},
                        "limits": {"cpu": "50m", "memory": "32Mi"},
                    },
                    "securityContext": restricted_security(),
                }
            ],
        },
    }


def nodes_needing_zone(nodes: list[dict[str, Any]]) -> list[str]:
    """Names of nodes without the ``topology.kubernetes.io/zone`` label."""
    return [
        n["metadata"]["name"]
        for n in nodes
        if ZONE_LABEL not in ((n.get("metadata") or {}).get("labels") or {})
    ]


def all_manifests(opts: FixtureOptions) -> list[dict[str, Any]]:
    return [
        *secret_manifests(opts.namespace),
        *configmap_manifests(opts.namespace),
        pvc_manifest(opts.namespace, opts.storage_class, opts.pvc_size),
        anchor_pod_manifest(opts.namespace, opts.image),
    ]


KPO_NAMESPACE_ENV = "AIRKUBE_KPO_NAMESPACE"  # set by the chart in every Airflow container (kubernetesPodOperator)


def kpo_namespace_from_deployments(deployments: list[Any], default: str) -> str:
    """The KubernetesPodOperator namespace the release's containers are given (``AIRKUBE_KPO_NAMESPACE``), else
    ``default``. The smoke KPO DAG creates its pod there, so its world (Secrets, ConfigMaps, claim, anchor pod)
    must be there too. ``deployments`` are ``V1Deployment`` objects."""
    for dep in deployments:
        for container in dep.spec.template.spec.containers or []:
            for env in container.env or []:
                if env.name == KPO_NAMESPACE_ENV and env.value:
                    return str(env.value)
    return default


def kpo_namespace(apps: Any, namespace: str, release: str) -> str:
    """Namespace of the smoke KPO pod for a release (see :func:`kpo_namespace_from_deployments`)."""
    from airkube.kube import release_selector

    deployments = apps.list_namespaced_deployment(namespace, label_selector=release_selector(release)).items
    return kpo_namespace_from_deployments(deployments, namespace)


# --- applying ------------------------------------------------------------------------------------------------
def ensure_fixtures(core: Any, opts: FixtureOptions) -> FixtureReport:
    """Create whatever is missing; existing Secrets/ConfigMaps get the smoke keys patched in (others kept).

    A release named ``airflow`` has its own Secret ``airflow-secrets`` (``<fullname>-secrets``); the seed's
    fixture has the same name, so only ``sql_alchemy_conn`` is added to it and a warning is reported.

    ``core`` is a ``kubernetes.client.CoreV1Api``.
    """
    from kubernetes.client.exceptions import ApiException

    report = FixtureReport()
    ns = opts.namespace

    def upsert(kind: str, body: dict[str, Any], create: Any, read: Any, patch: Any | None) -> None:
        """Create; if it exists, patch in only our keys (never drop keys someone else owns)."""
        name = body["metadata"]["name"]
        if create_or_update(lambda: create(ns, body)):
            report.created.append(f"{kind}/{name}")
            return
        report.existing.append(f"{kind}/{name}")
        if patch is None:
            return
        current = read(name, ns)
        owner = (current.metadata.labels or {}).get("app.kubernetes.io/managed-by")
        if owner != "airkube":
            report.warnings.append(
                f"{kind} {ns}/{name} exists and is managed by {owner or 'someone else'}: added only the smoke keys "
                f"{sorted(body.get('stringData') or body.get('data') or {})} to it"
            )
        patch(name, ns, {k: body[k] for k in ("stringData", "data") if k in body})

    for body in secret_manifests(ns):
        upsert("secret", body, core.create_namespaced_secret, core.read_namespaced_secret, core.patch_namespaced_secret)
    for body in configmap_manifests(ns):
        upsert(
            "configmap", body, core.create_namespaced_config_map, core.read_namespaced_config_map,
            core.patch_namespaced_config_map,
        )
    upsert(
        "pvc",
        pvc_manifest(ns, opts.storage_class, opts.pvc_size),
        core.create_namespaced_persistent_volume_claim,
        core.read_namespaced_persistent_volume_claim,
        None,  # a bound claim is immutable: keep whatever is there
    )

    if opts.label_nodes:
        nodes = [n.to_dict() for n in core.list_node().items]
        for node in nodes:  # to_dict() is snake_case; labels stay as they are
            node.setdefault("metadata", {})
        for name in nodes_needing_zone(nodes):
            core.patch_node(name, {"metadata": {"labels": {ZONE_LABEL: opts.zone}}})
            report.labelled_nodes.append(name)

    s2 = core.list_namespaced_pod(ns, label_selector="security=S2").items
    if s2:
        report.warnings.append(
            "pods labelled security=S2 exist ("
            + ", ".join(p.metadata.name for p in s2)
            + "): the seed's pod anti-affinity keeps the KPO pod off their nodes"
        )

    anchor = anchor_pod_manifest(ns, opts.image)
    try:
        existing = core.read_namespaced_pod(ANCHOR_POD, ns)
        image_now = existing.spec.containers[0].image
        if image_now != opts.image or existing.status.phase in ("Failed", "Succeeded"):
            core.delete_namespaced_pod(ANCHOR_POD, ns, grace_period_seconds=0)
            wait_gone(lambda: core.read_namespaced_pod(ANCHOR_POD, ns), f"pod {ns}/{ANCHOR_POD}", 60)
            raise LookupError
        report.existing.append(f"pod/{ANCHOR_POD}")
    except (ApiException, LookupError) as exc:
        if isinstance(exc, ApiException) and exc.status != 404:
            raise
        core.create_namespaced_pod(ns, anchor)
        report.created.append(f"pod/{ANCHOR_POD}")
    wait_pod_running(core, ns, ANCHOR_POD, opts.anchor_timeout,
                     hint=f"check `kubectl -n {ns} describe pod {ANCHOR_POD}`: is the image available to the cluster?")
    return report
