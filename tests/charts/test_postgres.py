"""charts/postgres rendered by the real helm (4 by default, 3 with --helm-bin=helm3), validated against the
Kubernetes 1.30 and 1.34 JSON schemas, plus assertions on the manifests, the `fail` rules and the values schema."""

from __future__ import annotations

import base64
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

CHART = REPO / "charts" / "postgres"


def render(helm: str, *args: str, release: str = "db", chart: Path | str = CHART, namespace: str = NAMESPACE) -> list[dict]:
    return render_chart(helm, chart, tuple(args), release, namespace)


def render_error(helm: str, *args: str, release: str = "db", chart: Path | str = CHART) -> str:
    return render_chart_error(helm, chart, tuple(args), release)


def find(docs: list[dict], kind: str, name: str | None = None) -> dict:
    hits = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(hits) == 1, f"expected one {kind} {name or ''}, got {[d['metadata']['name'] for d in hits]}"
    return hits[0]


def kinds(docs: list[dict]) -> list[tuple[str, str]]:
    return sorted((d["kind"], d["metadata"]["name"]) for d in docs)


def container(docs: list[dict]) -> dict:
    sts = find(docs, "StatefulSet")
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    return c


def env_of(c: dict) -> dict[str, dict]:
    return {e["name"]: e for e in c.get("env", [])}


# --- lint and Kubernetes schemas --------------------------------------------------------------------------------

VALUE_SETS = {
    "defaults": (),
    "existing-secret": ("--set", "auth.existingSecret=my-db", "--set", "auth.passwordKey=pw"),
    "no-persistence": ("--set", "persistence.enabled=false", "--set", "networkPolicy.enabled=false"),
    "nodeport-digest": ("--set", "service.type=NodePort", "--set", "service.nodePort=30432",
                        "--set", "image.digest=sha256:" + "a" * 64, "--set", "persistence.storageClassName=-",
                        "--set-json", 'extraArgs=["-c","max_connections=200"]',
                        "--set-json", 'extraEnv=[{"name":"TZ","value":"UTC"}]',
                        "--set", "serviceAccount.create=false", "--set", "readinessProbe.enabled=false"),
}


def test_lint_strict(helm: str) -> None:
    lint_strict(helm, CHART)
    lint_strict(helm, CHART, *VALUE_SETS["nodeport-digest"])


@pytest.mark.parametrize("kube", KUBE_VERSIONS)
@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_objects_valid_for_kubernetes(helm: str, kube: str, values: str) -> None:
    assert_valid_for_kubernetes(render(helm, "--kube-version", kube, *VALUE_SETS[values]), kube)


def test_rejects_kubernetes_older_than_1_30(helm: str) -> None:
    err = render_error(helm, "--kube-version", "1.29.0")
    assert "kubeVersion" in err or "incompatible" in err


# --- names ------------------------------------------------------------------------------------------------------

def test_objects_and_names_installed_alone(helm: str) -> None:
    docs = render(helm)
    assert kinds(docs) == [
        ("NetworkPolicy", "db-postgres"), ("Secret", "db-postgres"), ("Service", "db-postgres"),
        ("Service", "db-postgres-hl"), ("ServiceAccount", "db-postgres"), ("StatefulSet", "db-postgres"),
    ]
    for d in docs:
        assert d["metadata"]["namespace"] == NAMESPACE


def test_release_name_containing_chart_name_is_used_alone(helm: str) -> None:
    docs = render(helm, release="my-postgres")
    assert find(docs, "Service", "my-postgres")
    assert find(docs, "Secret", "my-postgres")


@pytest.mark.parametrize("override,expected", [("pg", "pg"), ("{{ .Release.Name }}-meta", "db-meta")])
def test_fullname_override_is_templated(helm: str, override: str, expected: str) -> None:
    docs = render(helm, "--set-json", f"fullnameOverride={json.dumps(override)}")
    assert find(docs, "StatefulSet", expected)
    assert find(docs, "Service", expected)
    assert find(docs, "Secret", expected)


def test_name_override(helm: str) -> None:
    docs = render(helm, "--set", "nameOverride=pgsql")
    sts = find(docs, "StatefulSet", "db-pgsql")
    assert sts["metadata"]["labels"]["app.kubernetes.io/name"] == "pgsql"


@pytest.fixture(scope="module")
def parent_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal parent chart with this chart as dependency `postgres` (the way charts/airflow uses it)."""
    return make_parent_chart(
        tmp_path_factory.mktemp("parent") / "parent", CHART, "postgres:\n  enabled: true\nglobal:\n  foo: bar\n",
        {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-parent\ndata:\n"
                    "  dbHost: {{ .Release.Name }}-postgres\n"})


@pytest.mark.parametrize("release", ["af", "postgres", "my-postgres-prod"])
def test_subchart_name_contract(helm: str, parent_chart: Path, release: str) -> None:
    """Installed as dependency `postgres` of release R, Service and Secret are `R-postgres`, whatever R is."""
    docs = render(helm, chart=parent_chart, release=release)
    expected = f"{release}-postgres"
    svc = find(docs, "Service", expected)
    secret = find(docs, "Secret", expected)
    assert "password" in secret["data"]
    assert svc["spec"]["ports"][0]["port"] == 5432
    sts = find(docs, "StatefulSet", expected)
    assert sts["spec"]["serviceName"] == f"{expected}-hl"


def test_subchart_existing_secret_is_templated(helm: str, parent_chart: Path) -> None:
    docs = render(helm, "--set-json", 'postgres.auth.existingSecret="{{ .Release.Name }}-db-credentials"',
                  chart=parent_chart, release="af")
    assert not [d for d in docs if d["kind"] == "Secret"]
    vols = {v["name"]: v for v in find(docs, "StatefulSet")["spec"]["template"]["spec"]["volumes"]}
    assert vols["password"]["secret"]["secretName"] == "af-db-credentials"


def test_subchart_disabled_by_condition(helm: str, parent_chart: Path) -> None:
    docs = render(helm, "--set", "postgres.enabled=false", chart=parent_chart, release="af")
    assert kinds(docs) == [("ConfigMap", "af-parent")]


# --- manifests --------------------------------------------------------------------------------------------------

def test_labels_on_every_object(helm: str) -> None:
    docs = render(helm, "--set", "commonLabels.team=data")
    for d in docs:
        labels = d["metadata"]["labels"]
        missing = [k for k in RECOMMENDED_LABELS if k not in labels]
        assert not missing, f"{d['kind']} lacks {missing}"
        assert labels["app.kubernetes.io/name"] == "postgres"
        assert labels["app.kubernetes.io/instance"] == "db"
        assert labels["app.kubernetes.io/component"] == "database"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == "17"
        assert labels["team"] == "data"
    sts = find(docs, "StatefulSet")
    selector = sts["spec"]["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": "postgres", "app.kubernetes.io/instance": "db"}
    assert selector.items() <= sts["spec"]["template"]["metadata"]["labels"].items()
    for svc in (d for d in docs if d["kind"] == "Service"):
        assert svc["spec"]["selector"] == selector


def test_generated_secret(helm: str) -> None:
    secret = find(render(helm), "Secret", "db-postgres")
    assert secret["type"] == "Opaque"
    assert list(secret["data"]) == ["password"]
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert re.fullmatch(r"[A-Za-z0-9]{24}", password)
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    secret = find(render(helm, "--set", "auth.keepSecretOnUninstall=false"), "Secret")
    assert "helm.sh/resource-policy" not in (secret["metadata"].get("annotations") or {})


def test_secret_template_reuses_password_found_in_cluster() -> None:
    """`helm template` has no cluster, so check the template text: lookup first, randAlphaNum only as fallback."""
    text = (CHART / "templates" / "secret.yaml").read_text()
    assert 'lookup "v1" "Secret" .Release.Namespace $name' in text
    assert "randAlphaNum 24" in text
    assert "index $existing.data $key" in text


def test_password_key_and_existing_secret(helm: str) -> None:
    docs = render(helm, "--set", "auth.existingSecret=my-db", "--set", "auth.passwordKey=pw")
    assert not [d for d in docs if d["kind"] == "Secret"]
    c = container(docs)
    vols = {v["name"]: v for v in find(docs, "StatefulSet")["spec"]["template"]["spec"]["volumes"]}
    assert vols["password"]["secret"]["secretName"] == "my-db"
    assert vols["password"]["secret"]["items"] == [{"key": "pw", "path": "pw"}]
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert env_of(c)["POSTGRES_PASSWORD_FILE"]["value"] == mounts["password"]["mountPath"] + "/pw"
    docs = render(helm, "--set", "auth.passwordKey=pw")
    assert list(find(docs, "Secret")["data"]) == ["pw"]


def test_container_env_and_image(helm: str) -> None:
    c = container(render(helm))
    assert c["image"] == "docker.io/library/postgres:17"
    assert c["imagePullPolicy"] == "IfNotPresent"
    env = env_of(c)
    assert env["POSTGRES_USER"]["value"] == "airflow"
    assert env["POSTGRES_DB"]["value"] == "airflow"
    assert "POSTGRES_PASSWORD" not in env, "the password must come from the mounted Secret, not a literal env value"
    assert env["POSTGRES_PASSWORD_FILE"]["value"] == "/etc/postgres-secret/password"
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert mounts["data"]["mountPath"] == "/var/lib/postgresql/data"
    assert env["PGDATA"]["value"] == "/var/lib/postgresql/data/pgdata", "PGDATA must be a subdirectory of the mount"
    assert mounts["password"]["readOnly"] is True
    assert c["ports"] == [{"name": "postgres", "containerPort": 5432, "protocol": "TCP"}]
    c = container(render(helm, "--set", "image.digest=sha256:" + "b" * 64))
    assert c["image"] == "docker.io/library/postgres@sha256:" + "b" * 64


def test_probes_use_pg_isready(helm: str) -> None:
    c = container(render(helm, "--set", "auth.username=meta", "--set", "auth.database=metadb"))
    # liveness: the port accepts connections; readiness and startup: pg_isready (distinct checks, kube-score)
    assert c["livenessProbe"]["tcpSocket"] == {"port": "postgres"} and "exec" not in c["livenessProbe"]
    for probe in ("readinessProbe", "startupProbe"):
        cmd = c[probe]["exec"]["command"]
        assert cmd[0] == "pg_isready"
        assert "--username=meta" in cmd and "--dbname=metadb" in cmd
        assert c[probe]["periodSeconds"] >= 1
    assert c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] >= 120
    c = container(render(helm, "--set", "livenessProbe.enabled=false"))
    assert "livenessProbe" not in c and "readinessProbe" in c


def test_security_contexts(helm: str) -> None:
    docs = render(helm)
    pod = find(docs, "StatefulSet")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "db-postgres"
    assert find(docs, "ServiceAccount")["automountServiceAccountToken"] is False
    psc = pod["securityContext"]
    assert (psc["runAsUser"], psc["runAsGroup"], psc["fsGroup"]) == (999, 999, 999)
    assert psc["runAsNonRoot"] is True
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
    csc = container(docs)["securityContext"]
    assert csc["runAsNonRoot"] is True and csc["runAsUser"] == 999
    assert csc["allowPrivilegeEscalation"] is False
    assert csc["readOnlyRootFilesystem"] is True
    assert csc["capabilities"] == {"drop": ["ALL"]}
    assert csc["seccompProfile"] == {"type": "RuntimeDefault"}
    mounts = {m["mountPath"]: m["name"] for m in container(docs)["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    for path in ("/var/run/postgresql", "/tmp", "/dev/shm"):
        assert "emptyDir" in vols[mounts[path]], f"{path} must be a writable emptyDir with readOnlyRootFilesystem"
    assert vols[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"


def test_resources_have_defaults(helm: str) -> None:
    res = container(render(helm))["resources"]
    assert {"cpu", "memory"} <= res["requests"].keys()
    assert {"cpu", "memory"} <= res["limits"].keys()


def test_volume_claim_template(helm: str) -> None:
    sts = find(render(helm), "StatefulSet")
    (vct,) = sts["spec"]["volumeClaimTemplates"]
    assert vct["metadata"]["name"] == "data"
    assert vct["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert vct["spec"]["resources"]["requests"]["storage"] == "8Gi"
    assert "storageClassName" not in vct["spec"], "empty storageClassName must leave the cluster default"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    sts = find(render(helm, "--set", "persistence.size=20Gi", "--set", "persistence.storageClassName=fast",
                      "--set", "persistence.accessMode=ReadWriteOncePod"), "StatefulSet")
    (vct,) = sts["spec"]["volumeClaimTemplates"]
    assert vct["spec"]["storageClassName"] == "fast"
    assert vct["spec"]["accessModes"] == ["ReadWriteOncePod"]
    assert vct["spec"]["resources"]["requests"]["storage"] == "20Gi"
    (vct,) = find(render(helm, "--set", "persistence.storageClassName=-"), "StatefulSet")["spec"]["volumeClaimTemplates"]
    assert vct["spec"]["storageClassName"] == ""


def test_persistence_disabled_uses_emptydir(helm: str) -> None:
    sts = find(render(helm, "--set", "persistence.enabled=false"), "StatefulSet")
    assert "volumeClaimTemplates" not in sts["spec"]
    vols = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert vols["data"] == {"name": "data", "emptyDir": {"sizeLimit": "8Gi"}}


def test_services(helm: str) -> None:
    docs = render(helm, "--set", "service.port=6543")
    svc = find(docs, "Service", "db-postgres")
    hl = find(docs, "Service", "db-postgres-hl")
    assert svc["spec"]["type"] == "ClusterIP"
    assert hl["spec"]["clusterIP"] == "None"
    for s in (svc, hl):
        assert s["spec"]["ports"] == [{"name": "postgres", "port": 6543, "targetPort": "postgres", "protocol": "TCP"}]
    svc = find(render(helm, "--set", "service.type=NodePort", "--set", "service.nodePort=30432"), "Service", "db-postgres")
    assert svc["spec"]["ports"][0]["nodePort"] == 30432


def test_network_policy(helm: str) -> None:
    np = find(render(helm), "NetworkPolicy")
    assert np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "postgres"
    (rule,) = np["spec"]["ingress"]
    assert rule["ports"] == [{"port": "postgres", "protocol": "TCP"}]
    assert rule["from"] == [{"podSelector": {}}]
    peer = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "airflow"}}}
    np = find(render(helm, "--set", "networkPolicy.allowSameNamespace=false", "--set-json",
                     f"networkPolicy.extraFrom=[{json.dumps(peer)}]"), "NetworkPolicy")
    assert np["spec"]["ingress"][0]["from"] == [peer]
    np = find(render(helm, "--set", "networkPolicy.allowSameNamespace=false"), "NetworkPolicy")
    assert np["spec"]["ingress"] == []
    assert not [d for d in render(helm, "--set", "networkPolicy.enabled=false") if d["kind"] == "NetworkPolicy"]


# --- validation messages -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (("--set", "image.tag=", "--set", "image.digest="), "set `image.tag` or `image.digest`"),
    (("--set", "persistence.accessMode=ReadOnlyMany"), "`persistence.accessMode` is ReadOnlyMany"),
    (("--set", "service.nodePort=30432"), "`service.nodePort` is set but `service.type` is ClusterIP"),
    (("--set-json", 'auth.existingSecret="{{ \\"\\" }}"'), "`auth.existingSecret` renders to an empty name"),
])
def test_fail_messages(helm: str, args: tuple[str, ...], message: str) -> None:
    assert message in render_error(helm, *args)


@pytest.mark.parametrize("args,key", [
    (("--set", "bogus=1"), r"bogus"),
    (("--set", "persistence.size=8GB"), r"persistence[/.]size"),
    (("--set", "persistence.accessMode=RWO"), r"persistence[/.]accessMode"),
    (("--set", "service.port=0"), r"service[/.]port"),
    (("--set", "service.type=ExternalName"), r"service[/.]type"),
    (("--set", "auth.username="), r"auth[/.]username"),
    (("--set", "auth.passwordKey="), r"auth[/.]passwordKey"),
    (("--set", "image.pullPolicy=Sometimes"), r"image[/.]pullPolicy"),
    (("--set", "image.digest=latest"), r"image[/.]digest"),
    (("--set", "startupProbe.periodSeconds=0"), r"startupProbe[/.]periodSeconds"),
    (("--set", "persistence.retentionPolicy.whenDeleted=Keep"), r"retentionPolicy[/.]whenDeleted"),
    (("--set", "persistence.typo=1"), r"typo"),
])
def test_schema_rejections_name_the_key(helm: str, args: tuple[str, ...], key: str) -> None:
    err = render_error(helm, *args)
    assert re.search(key, err), f"stderr does not name {key}:\n{err}"


def test_checkov_skips_are_conditional(helm: str) -> None:
    """The skips for pull policy and digest disappear when the user opts in to what checkov asks for."""
    ann = find(render(helm), "StatefulSet")["metadata"]["annotations"]
    skipped = {v.split("=", 1)[0] for k, v in ann.items() if k.startswith("checkov.io/skip")}
    assert skipped == {"CKV_K8S_15", "CKV_K8S_40", "CKV_K8S_43"}
    for v in ann.values():
        assert v.count("=") == 1 and len(v.split("=", 1)[1]) > 20, f"checkov skip needs one `=` and a reason: {v}"
    ann = find(render(helm, "--set", "image.pullPolicy=Always", "--set", "image.digest=sha256:" + "c" * 64),
               "StatefulSet")["metadata"]["annotations"]
    assert {v.split("=", 1)[0] for k, v in ann.items() if k.startswith("checkov.io/skip")} == {"CKV_K8S_40"}
