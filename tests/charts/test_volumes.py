"""charts/volumes rendered by the real helm (4 by default, 3 with --helm-bin=helm3), validated against the
Kubernetes 1.30 and 1.34 JSON schemas, plus assertions on claims, hostPath volumes, `fail` rules and the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.helm3

from subchart_render import (  # noqa: F401 (helm is a fixture)
    KUBE_VERSIONS,
    NAMESPACE,
    RECOMMENDED_LABELS,
    REPO,
    assert_valid_for_kubernetes,
    helm,
    lint_strict,
    make_parent_chart,
    render_chart,
    render_chart_error,
)

CHART = REPO / "charts" / "volumes"


def render(helm: str, *args: str, release: str = "af", chart: Path | str = CHART, namespace: str = NAMESPACE) -> list[dict]:
    return render_chart(helm, chart, tuple(args), release, namespace)


def render_error(helm: str, *args: str, release: str = "af") -> str:
    return render_chart_error(helm, CHART, tuple(args), release)


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


HOSTPATH = ("--set", "dags.hostPath.enabled=true", "--set", "dags.hostPath.path=/var/lib/airkube/dags",
            "--set", "logs.hostPath.enabled=true", "--set", "logs.hostPath.path=/var/lib/airkube/logs")
TEST_VOLUME = {"name": "test-volume", "size": "100Mi", "accessMode": "ReadWriteOnce"}

VALUE_SETS = {
    "defaults": (),
    "hostpath": HOSTPATH + ("--set", "logs.hostPath.nodeName=airkube-node"),
    "classes-and-extra": ("--set", "dags.storageClassName=nfs", "--set", "dags.accessMode=ReadOnlyMany",
                          "--set", "logs.storageClassName=-", "--set", "logs.accessMode=ReadWriteMany",
                          "--set-json", "extraClaims=" + json.dumps([TEST_VOLUME, {
                              "name": "scratch", "size": "2Gi", "hostPath": {"enabled": True, "path": "/srv/scratch"}}])),
    "nothing": ("--set", "dags.enabled=false", "--set", "logs.enabled=false"),
}


# --- lint and Kubernetes schemas --------------------------------------------------------------------------------

def test_lint_strict(helm: str) -> None:
    for args in ((), VALUE_SETS["hostpath"]):
        lint_strict(helm, CHART, *args)


@pytest.mark.parametrize("kube", KUBE_VERSIONS)
@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_objects_valid_for_kubernetes(helm: str, kube: str, values: str) -> None:
    assert_valid_for_kubernetes(render(helm, "--kube-version", kube, *VALUE_SETS[values]), kube,
                                allow_empty=values == "nothing")


# --- claims -----------------------------------------------------------------------------------------------------

def test_default_claims(helm: str) -> None:
    docs = render(helm)
    assert sorted((d["kind"], d["metadata"]["name"]) for d in docs) == [
        ("PersistentVolumeClaim", "af-dags"), ("PersistentVolumeClaim", "af-logs")]
    pvcs = by_kind(docs, "PersistentVolumeClaim")
    for name, size in (("af-dags", "1Gi"), ("af-logs", "5Gi")):
        spec = pvcs[name]["spec"]
        assert spec["accessModes"] == ["ReadWriteOnce"]
        assert spec["resources"]["requests"]["storage"] == size
        assert "storageClassName" not in spec, "empty storageClassName must leave the cluster default"
        assert "volumeName" not in spec
        assert pvcs[name]["metadata"]["namespace"] == NAMESPACE


def test_labels(helm: str) -> None:
    docs = render(helm, *VALUE_SETS["hostpath"], "--set", "commonLabels.team=data")
    assert docs
    for d in docs:
        labels = d["metadata"]["labels"]
        assert not [k for k in RECOMMENDED_LABELS if k not in labels], d["metadata"]["name"]
        assert labels["app.kubernetes.io/instance"] == "af"
        assert labels["app.kubernetes.io/name"] == "volumes"
        assert labels["team"] == "data"
    comps = {d["metadata"]["name"]: d["metadata"]["labels"]["app.kubernetes.io/component"] for d in docs}
    assert comps["af-dags"] == "dags" and comps["af-logs"] == "logs"


def test_claim_names_sizes_modes_classes(helm: str) -> None:
    docs = render(helm, "--set", "dags.claimName=shared-dags", "--set-json", 'logs.claimName="{{ .Release.Name }}-tasklogs"',
                  "--set", "dags.size=3Gi", "--set", "logs.accessMode=ReadWriteMany",
                  "--set", "dags.storageClassName=nfs", "--set", "logs.storageClassName=-",
                  "--set", "dags.annotations.helm\\.sh/resource-policy=keep")
    pvcs = by_kind(docs, "PersistentVolumeClaim")
    assert set(pvcs) == {"shared-dags", "af-tasklogs"}
    assert pvcs["shared-dags"]["spec"]["resources"]["requests"]["storage"] == "3Gi"
    assert pvcs["shared-dags"]["spec"]["storageClassName"] == "nfs"
    assert pvcs["shared-dags"]["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert pvcs["af-tasklogs"]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvcs["af-tasklogs"]["spec"]["storageClassName"] == ""


def test_disabled_claims(helm: str) -> None:
    assert render(helm, *VALUE_SETS["nothing"]) == []
    docs = render(helm, "--set", "logs.enabled=false")
    assert set(by_kind(docs, "PersistentVolumeClaim")) == {"af-dags"}


def test_extra_claims(helm: str) -> None:
    docs = render(helm, *VALUE_SETS["classes-and-extra"])
    pvcs = by_kind(docs, "PersistentVolumeClaim")
    assert set(pvcs) == {"af-dags", "af-logs", "test-volume", "scratch"}
    assert pvcs["test-volume"]["spec"]["resources"]["requests"]["storage"] == "100Mi"
    assert pvcs["test-volume"]["metadata"]["labels"]["app.kubernetes.io/component"] == "extra"
    pvs = by_kind(docs, "PersistentVolume")
    assert set(pvs) == {f"{NAMESPACE}-scratch"}
    assert pvs[f"{NAMESPACE}-scratch"]["spec"]["claimRef"]["name"] == "scratch"


# --- hostPath volumes -------------------------------------------------------------------------------------------

def test_hostpath_volumes_are_prebound(helm: str) -> None:
    docs = render(helm, *HOSTPATH)
    pvcs, pvs = by_kind(docs, "PersistentVolumeClaim"), by_kind(docs, "PersistentVolume")
    assert set(pvs) == {f"{NAMESPACE}-af-dags", f"{NAMESPACE}-af-logs"}
    for what in ("dags", "logs"):
        pvc, pv = pvcs[f"af-{what}"], pvs[f"{NAMESPACE}-af-{what}"]
        assert "namespace" not in pv["metadata"], "PersistentVolumes are cluster-scoped"
        assert pv["spec"]["claimRef"] == {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                          "namespace": NAMESPACE, "name": f"af-{what}"}
        assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
        assert pv["spec"]["storageClassName"] == pvc["spec"]["storageClassName"] == ""
        assert pv["spec"]["accessModes"] == pvc["spec"]["accessModes"]
        assert pv["spec"]["capacity"]["storage"] == pvc["spec"]["resources"]["requests"]["storage"]
        assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
        assert pv["spec"]["hostPath"] == {"path": f"/var/lib/airkube/{what}", "type": "DirectoryOrCreate"}
        assert "nodeAffinity" not in pv["spec"]


def test_hostpath_node_affinity_and_dedicated_class(helm: str) -> None:
    docs = render(helm, *HOSTPATH, "--set", "logs.hostPath.nodeName=airkube-node", "--set", "dags.storageClassName=manual",
                  "--set", "dags.hostPath.type=Directory")
    pvs, pvcs = by_kind(docs, "PersistentVolume"), by_kind(docs, "PersistentVolumeClaim")
    terms = pvs[f"{NAMESPACE}-af-logs"]["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["airkube-node"]}]}]
    assert pvs[f"{NAMESPACE}-af-dags"]["spec"]["storageClassName"] == "manual"
    assert pvcs["af-dags"]["spec"]["storageClassName"] == "manual"
    assert pvs[f"{NAMESPACE}-af-dags"]["spec"]["hostPath"]["type"] == "Directory"


def test_pv_names_differ_per_namespace(helm: str) -> None:
    a = by_kind(render(helm, *HOSTPATH, namespace="team-a"), "PersistentVolume")
    b = by_kind(render(helm, *HOSTPATH, namespace="team-b"), "PersistentVolume")
    assert not set(a) & set(b)


def test_as_subchart(helm: str, tmp_path: Path) -> None:
    root = make_parent_chart(tmp_path / "parent", CHART, "volumes:\n  enabled: true\nglobal: {}\n")
    docs = render(helm, chart=root, release="r1")
    assert set(by_kind(docs, "PersistentVolumeClaim")) == {"r1-dags", "r1-logs"}
    assert render(helm, "--set", "volumes.enabled=false", chart=root, release="r1") == []


# --- validation messages -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (("--set", "dags.hostPath.enabled=true"),
     "`dags.hostPath.enabled` is true but `dags.hostPath.path` is empty"),
    (("--set", "logs.hostPath.enabled=true"),
     "`logs.hostPath.enabled` is true but `logs.hostPath.path` is empty"),
    (("--set", "dags.enabled=false", "--set", "dags.hostPath.enabled=true", "--set", "dags.hostPath.path=/d"),
     "`dags.hostPath.enabled` is true but `dags.enabled` is false"),
    (("--set", "dags.claimName=x", "--set", "logs.claimName=x"),
     "`logs.claimName` and `dags.claimName` both name the claim \"x\""),
    (("--set-json", 'extraClaims=[{"name":"af-logs","size":"1Gi"}]'),
     "`extraClaims[0].name` and `logs.claimName` both name the claim \"af-logs\""),
    (("--set", "dags.claimName=Bad_Name"), "`dags.claimName` is \"Bad_Name\", which is not a valid claim name"),
    (HOSTPATH[:4] + ("--set", "logs.hostPath.enabled=true", "--set", "logs.hostPath.path=/var/lib/airkube/dags"),
     "`logs.hostPath.path` and `dags.hostPath.path` are both \"/var/lib/airkube/dags\""),
    (("--set-json", 'extraClaims=[{"name":"e","size":"1Gi","hostPath":{"enabled":true}}]'),
     "`extraClaims[0].hostPath.enabled` is true but `extraClaims[0].hostPath.path` is empty"),
])
def test_fail_messages(helm: str, args: tuple[str, ...], message: str) -> None:
    assert message in render_error(helm, *args)


@pytest.mark.parametrize("args,key", [
    (("--set", "bogus=1"), r"bogus"),
    (("--set", "dags.size=1GB"), r"dags[/.]size"),
    (("--set", "logs.size=lots"), r"logs[/.]size"),
    (("--set", "logs.accessMode=RWX"), r"logs[/.]accessMode"),
    (("--set", "dags.hostPath.path=relative/dir"), r"dags[/.]hostPath[/.]path"),
    (("--set", "dags.hostPath.type=Socket"), r"dags[/.]hostPath[/.]type"),
    (("--set", "logs.enabled=yes"), r"logs[/.]enabled"),
    (("--set", "dags.hostpath.enabled=true"), r"hostpath"),
    (("--set-json", 'extraClaims=[{"size":"1Gi"}]'), r"extraClaims[/.\[]0"),
    (("--set-json", 'extraClaims=[{"name":"x","size":"1Gi","mode":"RWO"}]'), r"mode"),
])
def test_schema_rejections_name_the_key(helm: str, args: tuple[str, ...], key: str) -> None:
    err = render_error(helm, *args)
    assert re.search(key, err), f"stderr does not name {key}:\n{err}"
