"""Issue 13 items 2, 3 and the scanner fixes of item 6, on the rendered chart (real helm):
least-privilege task pods, the KubernetesPodOperator namespace, NetworkPolicies, ephemeral storage, probes."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import Rendered, values_files

pytestmark = pytest.mark.helm3

KPO = {"kubernetesPodOperator": {"enabled": True}}
NP = {"networkPolicies": {"enabled": True}}
DB_COMPONENTS = {"scheduler", "api-server", "dag-processor", "triggerer", "migrations"}


def worker_subjects(r: Rendered) -> list[dict[str, Any]]:
    out = []
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        for b in r.all(kind):
            out += [dict(s, binding=b["metadata"]["name"], ns=b["metadata"].get("namespace"))
                    for s in b.get("subjects") or [] if s["name"] == "airflow-worker"]
    return out


def role_rules(r: Rendered, kind: str, name: str) -> dict[str, set[str]]:
    rules: dict[str, set[str]] = {}
    for rule in r.get(kind, name)["rules"]:
        for res in rule["resources"]:
            rules.setdefault(res, set()).update(rule["verbs"])
    return rules


# --- least privilege ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("values", [{}, {"kubernetesExecutor": {"multiNamespaceMode": True}}], ids=["default", "multi-ns"])
def test_task_service_account_has_no_rights_by_default(helm, values) -> None:
    r = helm.template(values=values)
    assert worker_subjects(r) == [], "the task service account is bound to a Role"
    assert r.pod_template()["spec"]["automountServiceAccountToken"] is False
    assert r.get("ServiceAccount", "airflow-worker")["automountServiceAccountToken"] is False
    kind = "ClusterRole" if values else "Role"
    launcher = role_rules(r, kind, "airflow-pod-launcher")
    assert "pods/exec" not in launcher and "secrets" not in launcher
    subjects = {s["name"] for s in r.get(kind + "Binding", "airflow-pod-launcher")["subjects"]}
    assert subjects == {"airflow-scheduler", "airflow-triggerer"}
    assert not r.all("Namespace")
    assert "AIRKUBE_KPO_NAMESPACE" not in r.stdout
    # no Role of the chart grants anything on Secrets
    for role in r.all("Role") + r.all("ClusterRole"):
        assert all("secrets" not in rule["resources"] for rule in role["rules"]), role["metadata"]["name"]


@pytest.mark.parametrize("values", [{}, {"kubernetesExecutor": {"multiNamespaceMode": True}}], ids=["default", "multi-ns"])
def test_kpo_pods_get_their_own_namespace_and_role(helm, values) -> None:
    r = helm.template(values={**KPO, **values})
    ns = r.get("Namespace", "airflow-kpo")
    assert ns["metadata"]["labels"]["app.kubernetes.io/component"] == "kubernetes-pod-operator"
    role = r.get("Role", "airflow-kpo")
    assert role["metadata"]["namespace"] == "airflow-kpo"
    assert role_rules(r, "Role", "airflow-kpo") == {
        "pods": {"create", "get", "list", "watch", "patch", "delete"},
        "pods/log": {"get", "list"},
        "pods/exec": {"create", "get"},
        "events": {"get", "list", "watch"},
    }
    subjects = worker_subjects(r)
    assert [(s["binding"], s["ns"], s["namespace"]) for s in subjects] == [("airflow-kpo", "airflow-kpo", "airflow")]
    binding = r.get("RoleBinding", "airflow-kpo")
    assert {s["name"] for s in binding["subjects"]} == {"airflow-worker", "airflow-triggerer"}
    assert r.pod_template()["spec"]["automountServiceAccountToken"] is True
    assert r.get("ServiceAccount", "airflow-worker")["automountServiceAccountToken"] is True
    # still nothing for task pods in the release namespace
    kind = "ClusterRoleBinding" if values else "RoleBinding"
    assert "airflow-worker" not in {s["name"] for s in r.get(kind, "airflow-pod-launcher")["subjects"]}


def test_every_airflow_container_knows_the_kpo_namespace(helm) -> None:
    """The smoke KPO DAG resolves its namespace from AIRKUBE_KPO_NAMESPACE, and the smoke fixtures find it in the
    release's Deployments (airkube.smoke.fixtures.kpo_namespace_from_deployments) — both against this render."""
    from kubernetes import client

    from airkube.smoke.fixtures import kpo_namespace_from_deployments

    r = helm.template(values={**KPO, "kubernetesPodOperator": {"enabled": True, "namespace": "team-kpo"}})
    env = {e["name"]: e.get("value") for e in r.pod_template()["spec"]["containers"][0]["env"]}
    assert env["AIRKUBE_KPO_NAMESPACE"] == "team-kpo"
    deployments = r.all("Deployment")
    for dep in deployments:
        env = {e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env.get("AIRKUBE_KPO_NAMESPACE") == "team-kpo", dep["metadata"]["name"]
    api = client.ApiClient()

    class _Resp:
        def __init__(self, doc: dict) -> None:
            import json
            self.data = json.dumps(doc)

    models = [api.deserialize(_Resp(d), "V1Deployment") for d in deployments]
    assert kpo_namespace_from_deployments(models, "airflow") == "team-kpo"
    assert kpo_namespace_from_deployments([api.deserialize(_Resp(d), "V1Deployment")
                                           for d in helm.template().all("Deployment")], "airflow") == "airflow"


def test_referenced_kpo_namespace_is_not_created(helm) -> None:
    r = helm.template(values={"kubernetesPodOperator": {"enabled": True, "namespace": "shared-kpo",
                                                        "createNamespace": False}})
    assert not r.all("Namespace")
    assert r.get("Role", "airflow-kpo")["metadata"]["namespace"] == "shared-kpo"


@pytest.mark.parametrize("values", [
    {"kubernetesPodOperator": {"enabled": True, "namespace": "airflow"}},
    {"kubernetesPodOperator": {"enabled": True, "namespace": "tasks"}, "kubernetesExecutor": {"namespace": "tasks"}},
], ids=["release-namespace", "task-namespace"])
def test_kpo_namespace_must_be_its_own(helm, values) -> None:
    stderr = helm.template_error(values=values)
    assert "kubernetesPodOperator.namespace is" in stderr and "use a namespace of its own" in stderr, stderr


# --- network policies ---------------------------------------------------------------------------------------
def _selects(peer: dict, labels: dict[str, str]) -> bool:
    sel = peer.get("podSelector")
    if sel is None:
        return False
    if any(labels.get(k) != v for k, v in (sel.get("matchLabels") or {}).items()):
        return False
    for expr in sel.get("matchExpressions") or []:
        value = labels.get(expr["key"])
        if expr["operator"] == "In" and value not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and value in expr["values"]:
            return False
    return True


def labels_of(component: str, name: str = "airflow") -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "airflow",
            "app.kubernetes.io/component": component}


@pytest.mark.parametrize("values", [{}, NP], ids=["default", "networkPolicies"])
def test_postgres_only_admits_the_database_users(helm, values) -> None:
    r = helm.template(values=values)
    policy = r.get("NetworkPolicy", "airflow-postgres")
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": "postgres", "protocol": "TCP"}]
    peers = rule["from"]
    assert {"podSelector": {}} not in peers, "postgres admits every pod of the namespace"
    admitted = {c for c in DB_COMPONENTS | {"worker", "test", "other"}
                if any(_selects(p, labels_of(c)) for p in peers)}
    assert admitted == DB_COMPONENTS
    # another release's components are not admitted either
    other = dict(labels_of("scheduler"), **{"app.kubernetes.io/instance": "other"})
    assert not any(_selects(p, other) for p in peers)


def test_task_pods_egress_only_dns_api_server_and_what_they_need(helm) -> None:
    r = helm.template(values=NP)
    worker = r.get("NetworkPolicy", "airflow-worker-egress")
    assert _selects({"podSelector": worker["spec"]["podSelector"]}, labels_of("worker"))
    assert worker["spec"]["policyTypes"] == ["Egress"]
    dns, api = worker["spec"]["egress"]  # nothing else by default
    assert dns == {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    assert api["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert _selects(api["to"][0], labels_of("api-server"))
    assert "5432" not in yaml.safe_dump(worker)
    # the components' egress policy no longer applies to task pods
    components = r.get("NetworkPolicy", "airflow-egress")
    sel = {"podSelector": components["spec"]["podSelector"]}
    assert not _selects(sel, labels_of("worker")) and _selects(sel, labels_of("scheduler"))
    assert any(p.get("port") == 5432 for rule in components["spec"]["egress"] for p in rule.get("ports", []))
    # the api-server is reachable on its port
    api_np = r.get("NetworkPolicy", "airflow-api-server")
    assert api_np["spec"]["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]


@pytest.mark.parametrize("values, ports", [
    ({**KPO}, [443, 6443]),
    ({"dags": {"gitSync": {"enabled": True, "repo": "https://example.com/d.git"}}}, [22, 443]),
    ({"logs": {"remote": {"enabled": True, "backend": "s3", "baseUrl": "s3://b/l",
                          "endpointUrl": "http://minio.minio.svc:9000"}}}, [443, 9000]),
    ({"networkPolicies": {"enabled": True, "workerEgressPorts": [8443]}}, [8443]),
    ({"dags": {"gitSync": {"enabled": True, "repo": "https://example.com/d.git"}, "persistence": {"enabled": True}}},
     None),  # git-sync runs in the dag-processor only: task pods need no git
], ids=["kpo", "git-sync-init", "remote-logs-minio", "workerEgressPorts", "git-sync-with-pvc"])
def test_task_pod_ports_follow_their_features(helm, values, ports) -> None:
    merged = {**values, "networkPolicies": {**NP["networkPolicies"], **values.get("networkPolicies", {})}}
    worker = helm.template(values=merged).get("NetworkPolicy", "airflow-worker-egress")
    extra = [rule for rule in worker["spec"]["egress"][2:] if "to" not in rule]
    got = sorted(p["port"] for p in extra[0]["ports"]) if extra else None
    assert got == ports


def test_extra_egress_reaches_task_pods(helm) -> None:
    rule = {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 5000, "protocol": "TCP"}]}
    r = helm.template(values={"networkPolicies": {"enabled": True, "extraEgress": [rule]}})
    assert rule in r.get("NetworkPolicy", "airflow-worker-egress")["spec"]["egress"]
    assert rule in r.get("NetworkPolicy", "airflow-egress")["spec"]["egress"]


# --- ephemeral storage, emptyDirs, probes -------------------------------------------------------------------
def pod_specs(r: Rendered) -> list[tuple[str, dict[str, Any]]]:
    out = [("pod-template", r.pod_template()["spec"])]
    for d in r.docs:
        kind = d.get("kind")
        if kind in ("Deployment", "StatefulSet", "Job"):
            out.append((f"{kind}/{d['metadata']['name']}", d["spec"]["template"]["spec"]))
        elif kind == "Pod":
            out.append((f"Pod/{d['metadata']['name']}", d["spec"]))
    return out


@pytest.mark.parametrize("name", ["<defaults>", *values_files()])
def test_every_container_limits_ephemeral_storage_and_every_emptydir_is_bounded(helm, name) -> None:
    r = helm.template(values_files=() if name == "<defaults>" else (name,),
                      values={**KPO, "tests": {"enabled": True}, "dags": {"gitSync": {"enabled": True,
                              "repo": "https://example.com/d.git"}}} if name == "<defaults>" else None)
    specs = pod_specs(r)
    assert len(specs) >= 6
    for where, spec in specs:
        for c in spec.get("initContainers", []) + spec["containers"]:
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                assert "ephemeral-storage" in (res.get(part) or {}), f"{where} {c['name']}: no {part}.ephemeral-storage"
        for v in spec.get("volumes", []):
            if "emptyDir" in v:
                assert (v["emptyDir"] or {}).get("sizeLimit"), f"{where} volume {v['name']}: emptyDir without sizeLimit"


@pytest.mark.parametrize("name", ["<defaults>", *values_files()])
def test_liveness_and_readiness_probes_differ(helm, name) -> None:
    r = helm.template(values_files=() if name == "<defaults>" else (name,))
    handlers = ("httpGet", "tcpSocket", "exec", "grpc")
    checked = 0
    for where, spec in pod_specs(r):
        for c in spec["containers"]:
            live, ready = c.get("livenessProbe"), c.get("readinessProbe")
            if live and ready:
                checked += 1
                assert {k: live.get(k) for k in handlers} != {k: ready.get(k) for k in handlers}, \
                    f"{where} {c['name']}: liveness and readiness run the same check"
    assert checked >= 2  # api-server, scheduler (+ postgres when bundled)


def test_api_server_readiness_is_the_execution_api(helm) -> None:
    r = helm.template(values={"config": {"api": {"base_url": "http://example.com/airflow"}}})
    c = r.deployment("api-server")["spec"]["template"]["spec"]["containers"][0]
    assert c["readinessProbe"]["httpGet"]["path"] == "/airflow/execution/health"
    assert c["livenessProbe"]["httpGet"]["path"] == "/airflow/api/v2/monitor/health"


def test_execution_api_health_route_exists_in_airflow() -> None:
    """The readiness path is a real route of this Airflow's execution API, outside its authenticated router."""
    from airflow.api_fastapi.execution_api.routes import execution_api_router, health

    assert "/health" in [r.path for r in health.router.routes]
    assert "/health" in [getattr(r, "path", None) for r in execution_api_router.routes]
