"""Render charts/airflow with real helm (every values/ file and each option) and check the manifests."""
from __future__ import annotations

import base64
import configparser
import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import AIRFLOW_CHART, KUBE_VERSIONS, ROOT, Rendered, kube_validate, values_files

pytestmark = pytest.mark.helm3

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
RECOMMENDED_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                      "app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by",
                      "helm.sh/chart")


def cfg(rendered: Rendered) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(rendered.airflow_cfg())
    return parser


def containers(pod_spec: dict, init: bool = True) -> list[dict]:
    return list(pod_spec.get("containers", [])) + (list(pod_spec.get("initContainers") or []) if init else [])


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def mounts_of(container: dict) -> dict[str, dict]:
    return {m["mountPath"]: m for m in container.get("volumeMounts", [])}


def pod_spec(rendered: Rendered, component: str) -> dict:
    return rendered.deployment(component)["spec"]["template"]["spec"]


def main_container(rendered: Rendered, component: str) -> dict:
    return next(c for c in pod_spec(rendered, component)["containers"] if c["name"] == component)


# ---------------------------------------------------------------------------------------------------------------
# every values file renders, lints and validates against the Kubernetes schemas

@pytest.fixture(scope="module", params=[None, *values_files()], ids=lambda f: f or "defaults")
def each_values(request, helm) -> tuple[str | None, Rendered]:
    files = (request.param,) if request.param else ()
    return request.param, helm.template(values_files=files)


def test_values_file_renders_components(each_values):
    _, rendered = each_values
    for component in COMPONENTS:
        assert rendered.deployment(component)
    assert len(rendered.all("Job")) == 1


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_kubernetes_schema_strict(each_values, version):
    _, rendered = each_values
    objects = list(rendered.docs)
    objects.append(rendered.pod_template())  # the worker pod template is a Pod too
    for doc in objects:
        kube_validate(doc, version)


def test_helm_lint_strict(helm, each_values):
    name, _ = each_values
    args = ["lint", "--strict", str(ROOT / "charts/airflow"), "--kube-version", KUBE_VERSIONS[-1]]
    if name:
        args += ["-f", str(ROOT / "values" / name)]
    result = helm.run(*args, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_combined_values_files(helm):
    # the bench's "largest" set: every file that can coexist
    combo = ("local.yaml", "dags-git-sync.yaml", "logs-s3.yaml")
    rendered = helm.template(values_files=combo, values={"networkPolicies": {"enabled": True}})
    for doc in rendered.docs:
        kube_validate(doc, KUBE_VERSIONS[-1])


# ---------------------------------------------------------------------------------------------------------------
# labels, names, security

def test_labels_on_every_object(default_render):
    for doc in default_render.docs:
        labels = doc["metadata"].get("labels", {})
        if labels.get("app.kubernetes.io/name") != "airflow":
            continue  # subchart objects
        for label in RECOMMENDED_LABELS:
            assert label in labels, f"{doc['kind']}/{doc['metadata']['name']} lacks {label}"
        assert labels["app.kubernetes.io/version"] == "3.3.2"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"


def test_chart_metadata():
    chart = yaml.safe_load((ROOT / "charts/airflow/Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["kubeVersion"] == ">=1.30.0-0"
    assert chart["appVersion"] == "3.3.2"
    deps = {d["name"]: d for d in chart["dependencies"]}
    assert deps["postgres"]["condition"] == "postgres.enabled"
    assert deps["postgres"]["repository"] == "file://../postgres"
    assert deps["volumes"]["condition"] == "volumes.enabled"


def test_one_kind_per_file():
    for path in (ROOT / "charts/airflow/templates").rglob("*.yaml"):
        kinds = set(re.findall(r"^kind: (\S+)", path.read_text(), re.M))
        assert len(kinds) <= 1, f"{path} has several kinds {kinds}"


@pytest.mark.parametrize("component", COMPONENTS)
def test_security_defaults(default_render, component):
    spec = pod_spec(default_render, component)
    psc = spec["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["runAsUser"] == 50000
    assert psc["runAsGroup"] == 0 and psc["fsGroup"] == 0
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    for c in containers(spec):
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert sc["readOnlyRootFilesystem"] is True
        assert "/tmp" in mounts_of(c) or c["name"] == "prepare-auth", f"{c['name']} has no writable /tmp"
        assert "limits" in c["resources"] and "requests" in c["resources"]


def test_service_account_tokens_only_where_needed(default_render):
    automount = {component: pod_spec(default_render, component)["automountServiceAccountToken"]
                 for component in COMPONENTS}
    assert automount == {"api-server": True, "scheduler": True, "dag-processor": False, "triggerer": True}
    job = default_render.all("Job")[0]
    assert job["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    # task pods have no rights in the release namespace: no token unless KubernetesPodOperator support is on
    assert default_render.pod_template()["spec"]["automountServiceAccountToken"] is False


def test_security_override_merges(helm):
    rendered = helm.template(values={"scheduler": {"securityContexts": {"container": {"readOnlyRootFilesystem": False}}}})
    sc = main_container(rendered, "scheduler")["securityContext"]
    assert sc["readOnlyRootFilesystem"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]


# ---------------------------------------------------------------------------------------------------------------
# commands, probes, config

def test_component_commands_and_probes(default_render):
    api = main_container(default_render, "api-server")
    assert api["args"] == ["airflow", "api-server"]
    assert api["livenessProbe"]["httpGet"]["path"] == "/api/v2/monitor/health"
    assert api["ports"][0]["containerPort"] == 8080
    sched = main_container(default_render, "scheduler")
    assert sched["args"] == ["airflow", "scheduler"]
    assert sched["livenessProbe"]["httpGet"] == {"path": "/health", "port": "health"}
    assert sched["ports"][0]["containerPort"] == 8974
    assert main_container(default_render, "dag-processor")["args"] == ["airflow", "dag-processor"]
    # the trigger log server is off: nothing can reach it (no DNS name for the pod, ingress denied)
    assert main_container(default_render, "triggerer")["args"] == ["airflow", "triggerer", "--skip-serve-logs"]
    for component, job in (("dag-processor", "DagProcessorJob"), ("triggerer", "TriggererJob")):
        c = main_container(default_render, component)
        for probe in ("livenessProbe", "startupProbe"):
            assert c[probe]["exec"]["command"] == ["python", "/opt/airflow/config/job-check.py", job]
        assert mounts_of(c)["/opt/airflow/config"]["name"] == "config"
    script = default_render.get("ConfigMap", "airflow-config")["data"]["job-check.py"]
    assert script.rstrip("\n") == (AIRFLOW_CHART / "files" / "job-check.py").read_text().rstrip("\n")
    svc = default_render.get("Service", "airflow-api-server")
    assert svc["spec"]["ports"][0]["port"] == 8080


def test_job_check_cli_and_log_server_selectable(helm):
    rendered = helm.template(values={"dagProcessor": {"healthCheck": "cli"},
                                     "triggerer": {"healthCheck": "cli", "serveLogs": True}})
    for component, job in (("dag-processor", "DagProcessorJob"), ("triggerer", "TriggererJob")):
        c = main_container(rendered, component)
        assert c["args"] == ["airflow", component]
        for probe in ("livenessProbe", "startupProbe"):
            assert c[probe]["exec"]["command"] == ["airflow", "jobs", "check", "--job-type", job, "--local"]
    # job-check.py stays while migrations-wait.py (migrations.waitCheck script) loads its helpers
    assert "job-check.py" in rendered.get("ConfigMap", "airflow-config")["data"]
    all_cli = helm.template(values={"dagProcessor": {"healthCheck": "cli"}, "triggerer": {"healthCheck": "cli"},
                                    "migrations": {"waitCheck": "cli"}})
    assert not {"job-check.py", "migrations-wait.py"} & set(all_cli.get("ConfigMap", "airflow-config")["data"])
    mixed = helm.template(values={"dagProcessor": {"healthCheck": "cli"}, "migrations": {"waitCheck": "cli"}})
    assert "job-check.py" in mixed.get("ConfigMap", "airflow-config")["data"]


def test_health_endpoint_exists_in_airflow():
    from airflow.api_fastapi.core_api.routes.public import monitor

    paths = [r.path for r in monitor.monitor_router.routes]
    assert "/monitor/health" in paths


def test_default_airflow_cfg(default_render):
    c = cfg(default_render)
    assert c["core"]["executor"] == "KubernetesExecutor"
    assert c["core"]["execution_api_server_url"] == "http://airflow-api-server.airflow.svc:8080/execution/"
    assert c["core"]["dags_folder"] == "/opt/airflow/dags"
    assert c["kubernetes_executor"]["pod_template_file"] == "/opt/airflow/pod_templates/pod_template_file.yaml"
    assert c["kubernetes_executor"]["namespace"] == "airflow"
    assert c["kubernetes_executor"]["delete_worker_pods"] == "True"
    assert c["kubernetes_executor"]["worker_pods_creation_batch_size"] == "32"
    assert c["kubernetes_executor"]["async_pod_creation"] == "True"
    assert c["scheduler"]["max_tis_per_query"] == "128"  # else the batch never fills (P6)
    assert c["scheduler"]["enable_health_check"] == "True"
    assert c["scheduler"]["scheduler_health_check_server_port"] == "8974"
    assert c["logging"]["remote_logging"] == "False"
    assert c["dag_processor"]["parsing_pre_import_modules"] == "False"  # P5: kubernetes clients out of the manager
    assert "kubernetes" not in c.sections()


def test_config_merge_and_base_url(helm):
    rendered = helm.template(values={"config": {
        "api": {"base_url": "https://airflow.example.com/airflow/"},
        "core": {"parallelism": 48, "load_examples": True},
        "kubernetes_executor": {"worker_pods_creation_batch_size": 16},
        "custom": {"list": ["a", "b"], "templated": "{{ .Release.Namespace }}-x"},
    }}, namespace="data")
    c = cfg(rendered)
    assert c["core"]["execution_api_server_url"] == "http://airflow-api-server.data.svc:8080/airflow/execution/"
    assert c["core"]["parallelism"] == "48"
    assert c["core"]["load_examples"] == "True"
    assert c["core"]["executor"] == "KubernetesExecutor"  # default kept by the deep merge
    assert c["kubernetes_executor"]["worker_pods_creation_batch_size"] == "16"
    assert c["kubernetes_executor"]["namespace"] == "data"
    assert json.loads(c["custom"]["list"]) == ["a", "b"]
    assert c["custom"]["templated"] == "data-x"
    api = main_container(rendered, "api-server")
    assert api["livenessProbe"]["httpGet"]["path"] == "/airflow/api/v2/monitor/health"
    assert api["readinessProbe"]["httpGet"]["path"] == "/airflow/execution/health"


def test_kubernetes_executor_namespace_and_multi_namespace(helm):
    rendered = helm.template(values={"kubernetesExecutor": {"namespace": "tasks"}})
    assert cfg(rendered)["kubernetes_executor"]["namespace"] == "tasks"
    role = rendered.get("Role", "airflow-pod-launcher")
    assert role["metadata"]["namespace"] == "tasks"
    rendered = helm.template(values={"kubernetesExecutor": {"multiNamespaceMode": True, "multiNamespaces": ["a", "b"]}})
    c = cfg(rendered)
    assert c["kubernetes_executor"]["multi_namespace_mode"] == "True"
    assert c["kubernetes_executor"]["multi_namespace_mode_namespace_list"] == "a,b"
    assert rendered.find("ClusterRole", "airflow-pod-launcher")
    assert rendered.find("ClusterRoleBinding", "airflow-pod-launcher")
    assert not rendered.all("Role")


# ---------------------------------------------------------------------------------------------------------------
# RBAC

def test_rbac_rules_and_bindings(default_render):
    role = default_render.get("Role", "airflow-pod-launcher")
    rules = {tuple(r["resources"]): set(r["verbs"]) for r in role["rules"]}
    assert rules[("pods",)] == {"create", "get", "list", "watch", "patch", "delete"}
    assert rules[("pods/log",)] == {"get", "list"}
    assert ("pods/exec",) not in rules  # nothing of the chart execs into pods in the release namespace
    assert rules[("events",)] == {"list", "watch"}
    binding = default_render.get("RoleBinding", "airflow-pod-launcher")
    subjects = {s["name"] for s in binding["subjects"]}
    assert subjects == {"airflow-scheduler", "airflow-triggerer"}  # task pods: no rights (test_least_privilege.py)
    assert "airflow-dag-processor" not in subjects and "airflow-api-server" not in subjects
    assert default_render.pod_template()["spec"]["serviceAccountName"] == "airflow-worker"
    reader = default_render.get("Role", "airflow-pod-log-reader")
    assert all(set(r["verbs"]) <= {"get", "list"} for r in reader["rules"])


def test_rbac_disabled(helm):
    rendered = helm.template(values={"rbac": {"create": False}})
    assert not rendered.all("Role") and not rendered.all("RoleBinding")


# ---------------------------------------------------------------------------------------------------------------
# secrets: generated once, valid, never literal; checksums roll the components together

def test_generated_secrets_valid(default_render):
    secret = default_render.get("Secret", "airflow-keys")
    fernet_key = base64.b64decode(secret["data"]["fernet-key"])
    Fernet(fernet_key)  # raises if not a valid key
    assert len(base64.b64decode(secret["data"]["api-secret-key"])) >= 32
    assert len(base64.b64decode(secret["data"]["jwt-secret"])) >= 32
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    auth = default_render.get("Secret", "airflow-auth")
    passwords = json.loads(base64.b64decode(auth["data"]["passwords.json"]))
    assert set(passwords) == {"admin"}
    assert base64.b64decode(auth["data"]["password"]).decode() == passwords["admin"]


def test_checksums_match_rendered_secrets_and_config(default_render):
    annotations = {c: default_render.deployment(c)["spec"]["template"]["metadata"]["annotations"] for c in COMPONENTS}
    config_sums = {a["checksum/config"] for a in annotations.values()}
    secret_sums = {a["checksum/secrets"] for a in annotations.values()}
    assert len(config_sums) == 1 and len(secret_sums) == 1, "components must roll together"
    sched_ann = annotations["scheduler"]
    assert "checksum/pod-template" in sched_ann
    # the scheduler (which reads the pod template) rolls when the template changes, the others don't care
    secret = default_render.get("Secret", "airflow-keys")["data"]
    assert secret, "generated secrets rendered"


def test_pod_template_change_rolls_scheduler(helm, default_render):
    other = helm.template(values={"workers": {"labels": {"team": "data"}}})
    def ann(r, c):
        return r.deployment(c)["spec"]["template"]["metadata"]["annotations"]

    assert ann(other, "scheduler")["checksum/pod-template"] != ann(default_render, "scheduler")["checksum/pod-template"]
    assert ann(other, "scheduler")["checksum/config"] == ann(default_render, "scheduler")["checksum/config"]


def test_config_change_changes_checksum_and_job_name(helm, default_render):
    other = helm.template(values={"config": {"core": {"parallelism": 7}}})
    a = default_render.deployment("scheduler")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    b = other.deployment("scheduler")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert a != b
    assert default_render.all("Job")[0]["metadata"]["name"] != other.all("Job")[0]["metadata"]["name"]
    same = helm.template(values={"config": {"core": {"parallelism": 7}}}, cache=False)
    assert same.all("Job")[0]["metadata"]["name"] == other.all("Job")[0]["metadata"]["name"], \
        "same inputs must give the same Job name (no spurious re-runs)"


def test_existing_secrets_used(helm):
    rendered = helm.template(values={
        "secrets": {"fernetKey": {"existingSecret": "my-fernet"}, "apiSecretKey": {"existingSecret": "my-api"},
                    "jwtSecret": {"existingSecret": "my-jwt", "key": "token"}},
        "auth": {"existingSecret": "my-auth"}})
    assert not rendered.find("Secret", "airflow-keys")
    assert not rendered.find("Secret", "airflow-auth")
    env = env_of(main_container(rendered, "scheduler"))
    assert env["AIRFLOW__CORE__FERNET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "my-fernet"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "my-jwt", "key": "token"}
    vols = {v["name"]: v for v in pod_spec(rendered, "api-server")["volumes"]}
    assert vols["auth-secret"]["secret"]["secretName"] == "my-auth"


SECRET_ENV = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
              "AIRFLOW_DB_PASSWORD")


@pytest.mark.parametrize("values_file", [None, "external-postgres.yaml", "logs-s3.yaml"])
def test_no_secret_literals(helm, values_file):
    rendered = helm.template(values_files=(values_file,) if values_file else ())
    secret_values = set()
    for s in rendered.all("Secret"):
        for k, v in (s.get("data") or {}).items():
            if k == "username":
                continue  # not a secret
            decoded = base64.b64decode(v).decode()
            secret_values.add(decoded)
            if decoded.startswith("{"):
                secret_values.update(json.loads(decoded).values())
    for doc in rendered.docs:
        if doc["kind"] == "Secret":
            continue
        text = yaml.safe_dump(doc)
        for value in secret_values:
            assert value not in text, f"secret value leaks into {doc['kind']}/{doc['metadata']['name']}"
    workloads = [d["spec"]["template"]["spec"] for d in rendered.all("Deployment") + rendered.all("Job")
                 if d["metadata"]["labels"].get("app.kubernetes.io/name") == "airflow"]
    for spec in workloads:
        for c in containers(spec):
            for e in c.get("env", []):
                if e["name"] in SECRET_ENV:
                    assert "valueFrom" in e and "value" not in e, e
                if e["name"] == "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" and "value" in e:
                    assert "$(AIRFLOW_DB_PASSWORD)" in e["value"]


def test_workers_have_no_db_and_no_jwt(default_render):
    base = default_render.pod_template()["spec"]["containers"][0]
    env = env_of(base)
    assert env["CONNECTION_CHECK_MAX_COUNT"]["value"] == "0"
    for forbidden in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW_DB_PASSWORD", "AIRFLOW__API_AUTH__JWT_SECRET",
                      "AIRFLOW__API__SECRET_KEY"):
        assert forbidden not in env
    assert not default_render.pod_template()["spec"].get("initContainers")


# ---------------------------------------------------------------------------------------------------------------
# database

def test_bundled_postgres_wiring(default_render):
    env = env_of(main_container(default_render, "api-server"))
    names = list(env)
    assert names.index("AIRFLOW_DB_PASSWORD") < names.index("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    assert env["AIRFLOW_DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "airflow-postgres", "key": "password"}
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["value"] == \
        "postgresql+psycopg2://airflow:$(AIRFLOW_DB_PASSWORD)@airflow-postgres.airflow.svc:5432/airflow"
    assert default_render.get("Service", "airflow-postgres")
    assert default_render.get("Secret", "airflow-postgres")


def test_bundled_postgres_other_release_name(helm):
    rendered = helm.template(release="prod", namespace="data")
    assert rendered.get("Deployment", "prod-airflow-scheduler")
    env = env_of(next(c for c in rendered.get("Deployment", "prod-airflow-scheduler")["spec"]["template"]["spec"]["containers"]
                      if c["name"] == "scheduler"))
    assert "@prod-postgres.data.svc:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["value"]
    assert rendered.get("Service", "prod-postgres")


def test_external_database_host(helm):
    rendered = helm.template(values_files=("external-postgres.yaml",))
    assert not rendered.all("StatefulSet")
    env = env_of(main_container(rendered, "scheduler"))
    assert env["AIRFLOW_DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "airflow-db", "key": "password"}
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["value"] == \
        "postgresql+psycopg2://airflow:$(AIRFLOW_DB_PASSWORD)@postgres.database.svc.cluster.local:5432/airflow?sslmode=prefer"


def test_external_database_url_secret(helm):
    rendered = helm.template(values={"postgres": {"enabled": False},
                                     "externalDatabase": {"urlSecret": "db-url", "urlSecretKey": "uri"}})
    env = env_of(main_container(rendered, "scheduler"))
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"] == {"name": "db-url", "key": "uri"}
    assert "AIRFLOW_DB_PASSWORD" not in env


# ---------------------------------------------------------------------------------------------------------------
# migrations

def test_migration_job_is_plain_job(default_render):
    jobs = default_render.all("Job")
    assert len(jobs) == 1
    job = jobs[0]
    assert not any(k.startswith("helm.sh/hook") for k in (job["metadata"].get("annotations") or {}))
    assert re.fullmatch(r"airflow-migrate-[0-9a-f]{10}", job["metadata"]["name"])
    spec = job["spec"]["template"]["spec"]
    c = spec["containers"][0]
    assert c["args"] == ["airflow", "db", "migrate"]
    # migrations.waitCheck script: the Job waits for the database with files/migrations-wait.py, the components
    # for the schema; the entrypoint's own `airflow db check` is off where the script waits
    assert [i["name"] for i in spec["initContainers"]] == ["wait-for-database"]
    assert spec["initContainers"][0]["args"] == ["python", "/opt/airflow/config/migrations-wait.py", "--database", "600"]
    assert env_of(c)["CONNECTION_CHECK_MAX_COUNT"]["value"] == "0"
    assert "migrations-wait.py" in default_render.get("ConfigMap", "airflow-config")["data"]
    for component in COMPONENTS:
        init = pod_spec(default_render, component)["initContainers"]
        wait = next(i for i in init if i["name"] == "wait-for-migrations")
        assert wait["args"] == ["python", "/opt/airflow/config/migrations-wait.py", "600"]
        assert env_of(wait)["CONNECTION_CHECK_MAX_COUNT"]["value"] == "0"
        assert {"name": "config", "mountPath": "/opt/airflow/config", "readOnly": True} in wait["volumeMounts"]


def test_migration_wait_cli_selectable(helm):
    rendered = helm.template(values={"migrations": {"waitCheck": "cli", "waitTimeout": 90}})
    spec = rendered.all("Job")[0]["spec"]["template"]["spec"]
    assert "initContainers" not in spec  # the image entrypoint waits for the database, as before
    assert "CONNECTION_CHECK_MAX_COUNT" not in env_of(spec["containers"][0])
    for component in COMPONENTS:
        wait = next(i for i in pod_spec(rendered, component)["initContainers"] if i["name"] == "wait-for-migrations")
        assert wait["args"] == ["airflow", "db", "check-migrations", "--migration-wait-timeout=90"]
        assert "CONNECTION_CHECK_MAX_COUNT" not in env_of(wait)
    assert "migrations-wait.py" not in rendered.get("ConfigMap", "airflow-config")["data"]


def test_chart_init_containers_run_before_the_migration_wait(default_render):
    # the api-server's auth-file copy needs no schema: it runs while the migration Job works
    names = [i["name"] for i in pod_spec(default_render, "api-server")["initContainers"]]
    assert names == ["prepare-auth", "wait-for-migrations"]


def test_image_change_renames_job(helm, default_render):
    other = helm.template(values={"images": {"airflow": {"tag": "3.3.1"}}})
    assert other.all("Job")[0]["metadata"]["name"] != default_render.all("Job")[0]["metadata"]["name"]


def test_migrations_disabled(helm):
    rendered = helm.template(values={"migrations": {"enabled": False}})
    assert not rendered.all("Job")
    assert "initContainers" not in pod_spec(rendered, "scheduler")


def test_fab_auth_manager(helm):
    rendered = helm.template(values={"auth": {"manager": "fab"}})
    c = cfg(rendered)
    assert c["core"]["auth_manager"] == "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    assert "simple_auth_manager_users" not in c["core"]
    job = rendered.all("Job")[0]["spec"]["template"]["spec"]["containers"][0]
    assert "airflow users create" in job["args"][2]
    assert env_of(job)["AIRFLOW_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "airflow-auth"


def test_simple_auth_manager_passwords_file(default_render):
    c = cfg(default_render)
    assert c["core"]["simple_auth_manager_users"] == "admin:admin"
    path = c["core"]["simple_auth_manager_passwords_file"]
    spec = pod_spec(default_render, "api-server")
    prepare = next(i for i in spec["initContainers"] if i["name"] == "prepare-auth")
    assert prepare["command"][-1] == path
    api_mounts = mounts_of(main_container(default_render, "api-server"))
    assert "/opt/airflow/auth" in api_mounts and not api_mounts["/opt/airflow/auth"].get("readOnly")


# ---------------------------------------------------------------------------------------------------------------
# DAGs

def test_dags_from_image(default_render):
    assert cfg(default_render)["core"]["dags_folder"] == "/opt/airflow/dags"
    pod = default_render.pod_template()["spec"]
    assert "/opt/airflow/dags" not in mounts_of(pod["containers"][0])
    assert "dags" not in {v["name"] for v in pod["volumes"]}


def test_dags_pvc(helm):
    rendered = helm.template(values_files=("dags-pvc.yaml",))
    pvc = rendered.get("PersistentVolumeClaim", "airflow-dags")
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    pod = rendered.pod_template()["spec"]
    assert mounts_of(pod["containers"][0])["/opt/airflow/dags"]["readOnly"] is True
    assert {v["name"]: v for v in pod["volumes"]}["dags"]["persistentVolumeClaim"]["claimName"] == "airflow-dags"
    assert not pod.get("initContainers")
    for component in ("dag-processor", "triggerer"):
        assert "/opt/airflow/dags" in mounts_of(main_container(rendered, component))
    assert "/opt/airflow/dags" not in mounts_of(main_container(rendered, "scheduler"))


def test_dags_existing_claim_with_subpath(helm):
    rendered = helm.template(values={"dags": {"persistence": {"enabled": True, "existingClaim": "{{ .Release.Name }}-shared", "subPath": "dags"}}})
    assert not rendered.all("PersistentVolumeClaim")
    pod = rendered.pod_template()["spec"]
    assert {v["name"]: v for v in pod["volumes"]}["dags"]["persistentVolumeClaim"]["claimName"] == "airflow-shared"
    assert mounts_of(pod["containers"][0])["/opt/airflow/dags"]["subPath"] == "dags"


def test_git_sync(helm):
    rendered = helm.template(values_files=("dags-git-sync.yaml",))
    c = cfg(rendered)
    assert c["core"]["dags_folder"] == "/opt/airflow/dags/repo/airflow-core/src/airflow/example_dags"
    pod = rendered.pod_template()["spec"]
    init = pod["initContainers"]
    assert [i["name"] for i in init] == ["git-sync-init"]
    env = env_of(init[0])
    assert env["GITSYNC_ONE_TIME"]["value"] == "true"
    assert env["GITSYNC_REPO"]["value"] == "https://github.com/apache/airflow.git"
    assert env["GITSYNC_ROOT"]["value"] == "/opt/airflow/dags" and env["GITSYNC_LINK"]["value"] == "repo"
    assert init[0]["image"] == "registry.k8s.io/git-sync/git-sync:v4.4.2"
    assert all(k.startswith(("GITSYNC_", "HOME")) for k in env)
    assert {v["name"]: v for v in pod["volumes"]}["dags"] == {"name": "dags", "emptyDir": {"sizeLimit": "1Gi"}}
    for component in ("dag-processor", "triggerer"):
        spec = pod_spec(rendered, component)
        sidecar = next(x for x in spec["containers"] if x["name"] == "git-sync")
        senv = env_of(sidecar)
        assert senv["GITSYNC_PERIOD"]["value"] == "60s" and "GITSYNC_ONE_TIME" not in senv
        assert senv["GITSYNC_MAX_FAILURES"]["value"] == "3"
        assert sidecar["securityContext"]["runAsUser"] == 65533
        assert not mounts_of(sidecar)["/opt/airflow/dags"].get("readOnly")
        assert mounts_of(main_container(rendered, component))["/opt/airflow/dags"]["readOnly"] is True
    assert all(x["name"] != "git-sync" for x in pod_spec(rendered, "scheduler")["containers"])
    assert all(x["name"] != "git-sync" for x in pod_spec(rendered, "api-server")["containers"])
    assert "|| true" not in rendered.stdout, "git-sync errors must not be swallowed"


def test_git_sync_ssh_and_credentials(helm):
    rendered = helm.template(values={"dags": {"gitSync": {
        "enabled": True, "repo": "git@example.com:org/dags.git", "rev": "v1.2.3",
        "sshKeySecret": "git-ssh", "knownHosts": "example.com ssh-ed25519 AAAAC3Nza"}}})
    cm = rendered.get("ConfigMap", "airflow-git-known-hosts")
    assert cm["data"]["known_hosts"].strip() == "example.com ssh-ed25519 AAAAC3Nza"
    init = rendered.pod_template()["spec"]["initContainers"][0]
    env = env_of(init)
    assert env["GITSYNC_REF"]["value"] == "v1.2.3"
    assert env["GITSYNC_SSH_KEY_FILE"]["value"] == "/etc/git-secret/ssh"
    assert env["GITSYNC_SSH_KNOWN_HOSTS"]["value"] == "true"
    assert "/etc/git-known-hosts" in mounts_of(init)
    rendered = helm.template(values={"dags": {"gitSync": {"enabled": True, "repo": "https://example.com/dags.git",
                                                          "credentialsSecret": "git-creds"}}})
    env = env_of(rendered.pod_template()["spec"]["initContainers"][0])
    assert env["GITSYNC_USERNAME"]["valueFrom"]["secretKeyRef"] == {"name": "git-creds", "key": "GITSYNC_USERNAME"}
    assert env["GITSYNC_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "git-creds", "key": "GITSYNC_PASSWORD"}


def test_git_sync_into_pvc(helm):
    rendered = helm.template(values_files=("dags-git-sync.yaml", "dags-pvc.yaml"))
    pod = rendered.pod_template()["spec"]
    assert not pod.get("initContainers"), "task pods read the PVC; no per-task clone"
    assert [x["name"] for x in pod_spec(rendered, "dag-processor")["containers"]] == ["dag-processor", "git-sync"]
    assert [x["name"] for x in pod_spec(rendered, "triggerer")["containers"]] == ["triggerer"]
    assert cfg(rendered)["core"]["dags_folder"].startswith("/opt/airflow/dags/repo/")


# ---------------------------------------------------------------------------------------------------------------
# logs

def test_logs_empty_dir_warning(helm, default_render):
    pod = default_render.pod_template()["spec"]
    assert {v["name"]: v for v in pod["volumes"]}["logs"] == {"name": "logs", "emptyDir": {"sizeLimit": "512Mi"}}
    notes = helm.run("template", "airflow", str(ROOT / "charts/airflow"), "-n", "airflow", "--show-only",
                     "templates/NOTES.txt", check=False)
    install = helm.run("install", "airflow", str(ROOT / "charts/airflow"), "-n", "airflow", "--dry-run=client",
                       check=False)
    if install.returncode != 0:
        # go-installed Helm 3 assumes Kubernetes v1.20 / wants a cluster even for --dry-run=client
        pytest.skip(f"helm install --dry-run=client unavailable here: {install.stderr.strip()[:200]}")
    text = install.stdout + notes.stdout
    assert "task logs are written to an emptyDir" in text
    assert "port-forward svc/airflow-api-server" in text


def test_logs_pvc(helm):
    rendered = helm.template(values_files=("logs-pvc.yaml",))
    pvc = rendered.get("PersistentVolumeClaim", "airflow-logs")
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    pod = rendered.pod_template()["spec"]
    assert {v["name"]: v for v in pod["volumes"]}["logs"]["persistentVolumeClaim"]["claimName"] == "airflow-logs"
    for component in COMPONENTS:
        assert "/opt/airflow/logs" in mounts_of(main_container(rendered, component))
    rwx = helm.template(values={"logs": {"persistence": {"enabled": True, "accessMode": "ReadWriteMany"}}})
    assert rwx.get("PersistentVolumeClaim", "airflow-logs")["spec"]["accessModes"] == ["ReadWriteMany"]


def test_logs_s3(helm):
    rendered = helm.template(values_files=("logs-s3.yaml",), values={"logs": {"remote": {"endpointUrl": "http://minio.minio.svc:9000"}}})
    c = cfg(rendered)
    assert c["logging"]["remote_logging"] == "True"
    assert c["logging"]["remote_base_log_folder"] == "s3://airflow-logs/airflow"
    assert c["logging"]["remote_log_conn_id"] == "s3_logs"
    base = rendered.pod_template()["spec"]["containers"][0]
    assert base["envFrom"] == [{"secretRef": {"name": "airflow-s3-logs"}}]
    assert env_of(base)["AWS_ENDPOINT_URL_S3"]["value"] == "http://minio.minio.svc:9000"
    assert env_of(main_container(rendered, "api-server"))["AWS_ENDPOINT_URL_S3"]["value"] == "http://minio.minio.svc:9000"
    assert main_container(rendered, "api-server")["envFrom"] == [{"secretRef": {"name": "airflow-s3-logs"}}]


def test_logs_gcs(helm):
    rendered = helm.template(values_files=("logs-gcs.yaml",))
    c = cfg(rendered)
    assert c["logging"]["remote_base_log_folder"] == "gs://airflow-logs/airflow"
    assert c["logging"]["remote_log_conn_id"] == "gcs_logs"
    default_conn = helm.template(values={"logs": {"remote": {"enabled": True, "backend": "gcs", "baseUrl": "gs://b/p"}}})
    assert cfg(default_conn)["logging"]["remote_log_conn_id"] == "google_cloud_default"


# ---------------------------------------------------------------------------------------------------------------
# values files for clusters

def test_kind_values_use_volumes_chart(helm):
    rendered = helm.template(values_files=("kind.yaml",))
    claims = set(rendered.names("PersistentVolumeClaim"))
    assert {"airflow-dags", "airflow-logs"} <= claims
    pod = rendered.pod_template()["spec"]
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["dags"]["persistentVolumeClaim"]["claimName"] == "airflow-dags"
    assert vols["logs"]["persistentVolumeClaim"]["claimName"] == "airflow-logs"


def test_local_values_images(helm):
    rendered = helm.template(values_files=("local.yaml",))
    for d in rendered.all("Deployment") + rendered.all("StatefulSet") + rendered.all("Job"):
        for c in containers(d["spec"]["template"]["spec"]):
            assert c["image"].startswith("airkube.local/"), c["image"]
            assert c["imagePullPolicy"] == "Never"
    base = rendered.pod_template()["spec"]["containers"][0]
    assert base["image"] == "airkube.local/airflow:3.3.2" and base["imagePullPolicy"] == "Never"
    assert rendered.get("PersistentVolumeClaim", "airflow-dags")["spec"]["accessModes"] == ["ReadWriteOnce"]


# ---------------------------------------------------------------------------------------------------------------
# network policies, helm test, workers

def test_network_policies(helm):
    rendered = helm.template(values={"networkPolicies": {"enabled": True}})
    egress = rendered.get("NetworkPolicy", "airflow-egress")
    rules = egress["spec"]["egress"]
    ports = [(p["port"], p["protocol"]) for r in rules for p in r.get("ports", [])]
    assert (53, "UDP") in ports and (8080, "TCP") in ports and (5432, "TCP") in ports
    api_rule = next(r for r in rules if any(p["port"] == 8080 for p in r.get("ports", [])))
    assert api_rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "api-server"
    api = rendered.get("NetworkPolicy", "airflow-api-server")
    assert api["spec"]["ingress"][0]["ports"][0]["port"] == 8080
    assert rendered.get("NetworkPolicy", "airflow-scheduler")
    deny = rendered.get("NetworkPolicy", "airflow-deny-ingress")
    assert "worker" in deny["spec"]["podSelector"]["matchExpressions"][0]["values"]
    # task pods carry the labels the policies select on
    labels = rendered.pod_template()["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "airflow" and labels["app.kubernetes.io/instance"] == "airflow"


def test_helm_test_pod(default_render):
    pod = default_render.get("Pod", "airflow-test-health")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    # a passed test pod is deleted, so uninstall leaves no pod behind
    assert "hook-succeeded" in pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
    script = pod["spec"]["containers"][0]["args"][0]
    assert "http://airflow-api-server.airflow.svc:8080/api/v2/monitor/health" in script
    assert "http://airflow-scheduler.airflow.svc:8974/health" in script
    compile(re.sub(r"^\s{0}", "", script), "health", "exec")  # valid Python


def test_worker_values(helm):
    rendered = helm.template(values={"workers": {
        "resources": {"requests": {"cpu": "200m", "memory": "300Mi"}},
        "nodeSelector": {"pool": "tasks"}, "tolerations": [{"key": "k", "operator": "Exists"}],
        "labels": {"team": "data"}, "annotations": {"a": "b"},
        "extraEnv": [{"name": "FOO", "value": "bar"}],
        "extraVolumes": [{"name": "extra", "emptyDir": {}}],
        "extraVolumeMounts": [{"name": "extra", "mountPath": "/extra"}],
        "serviceAccount": {"name": "custom-worker", "create": True}}})
    pod = rendered.pod_template()
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["containers"][0]["name"] == "base"
    # maps merge with the defaults: the chart's ephemeral-storage request stays
    assert spec["containers"][0]["resources"]["requests"] == {"cpu": "200m", "memory": "300Mi",
                                                              "ephemeral-storage": "64Mi"}
    assert spec["nodeSelector"] == {"pool": "tasks"}
    assert pod["metadata"]["labels"]["team"] == "data" and pod["metadata"]["annotations"] == {"a": "b"}
    assert env_of(spec["containers"][0])["FOO"]["value"] == "bar"
    assert "/extra" in mounts_of(spec["containers"][0])
    assert spec["serviceAccountName"] == "custom-worker"
    assert rendered.get("ServiceAccount", "custom-worker")


def test_component_extras(helm):
    rendered = helm.template(values={"scheduler": {
        "replicas": 2, "extraEnv": [{"name": "X", "value": "1"}], "nodeSelector": {"a": "b"},
        "podAnnotations": {"p": "q"}, "labels": {"l": "m"},
        "extraVolumes": [{"name": "v", "emptyDir": {}}], "extraVolumeMounts": [{"name": "v", "mountPath": "/v"}],
        "livenessProbe": {"enabled": False}, "serviceAccount": {"annotations": {"iam": "role"}}}})
    d = rendered.deployment("scheduler")
    assert d["spec"]["replicas"] == 2
    assert d["metadata"]["labels"]["l"] == "m"
    spec = d["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"a": "b"}
    assert d["spec"]["template"]["metadata"]["annotations"]["p"] == "q"
    c = main_container(rendered, "scheduler")
    assert env_of(c)["X"]["value"] == "1" and "/v" in mounts_of(c)
    assert "livenessProbe" not in c
    assert rendered.get("ServiceAccount", "airflow-scheduler")["metadata"]["annotations"] == {"iam": "role"}


def test_component_disabled(helm):
    rendered = helm.template(values={"triggerer": {"enabled": False}, "dagProcessor": {"enabled": False}})
    assert not rendered.find("Deployment", "airflow-triggerer")
    assert not rendered.find("Deployment", "airflow-dag-processor")
    assert not rendered.find("ServiceAccount", "airflow-triggerer")


def test_migration_check_left_to_the_init_container(default_render, helm):
    # P5: the wait-for-migrations init container asserts the schema; Airflow's own start-up check repeats it
    for component in ("api-server", "scheduler", "dag-processor"):
        assert env_of(main_container(default_render, component))["AIRFLOW__DATABASE__CHECK_MIGRATIONS"]["value"] == "False"
    assert "AIRFLOW__DATABASE__CHECK_MIGRATIONS" not in env_of(main_container(default_render, "triggerer"))
    for values in ({"migrations": {"enabled": False}}, {"config": {"database": {"check_migrations": "True"}}}):
        rendered = helm.template(values=values)
        for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
            assert "AIRFLOW__DATABASE__CHECK_MIGRATIONS" not in env_of(main_container(rendered, component)), values


def test_gc_freeze_hook_only_where_it_forks(default_render, helm):
    # scheduler and triggerer: files/sitecustomize.py from the config ConfigMap (P5: children keep sharing pages)
    hook = (AIRFLOW_CHART / "files" / "sitecustomize.py").read_text()
    assert default_render.get("ConfigMap", "airflow-config")["data"]["sitecustomize.py"].rstrip("\n") == hook.rstrip("\n")
    for component in ("scheduler", "triggerer"):
        assert env_of(main_container(default_render, component))["PYTHONPATH"]["value"] == "/opt/airflow/config"
    for component in ("api-server", "dag-processor"):
        assert "PYTHONPATH" not in env_of(main_container(default_render, component))
    for component in ("scheduler", "triggerer"):
        assert env_of(main_container(default_render, component))["AIRKUBE_GC_FREEZE_BEFORE_FORK"]["value"] == "1"
    off = helm.template(values={"scheduler": {"gcFreezeBeforeFork": False}, "triggerer": {"gcFreezeBeforeFork": False},
                                "kubernetesExecutor": {"skipRepeatedPodDeletes": False, "asyncPodDeletion": False}})
    assert "sitecustomize.py" not in off.get("ConfigMap", "airflow-config")["data"]
    assert "PYTHONPATH" not in env_of(main_container(off, "scheduler"))
    mine = helm.template(values={"scheduler": {"extraEnv": [{"name": "PYTHONPATH", "value": "/x"}]}})
    assert env_of(main_container(mine, "scheduler"))["PYTHONPATH"]["value"] == "/x"  # the user's comes last, wins


def test_repeated_pod_deletes_hook_in_the_scheduler_only(default_render, helm):
    # P6: files/airkube_pod_deletes.py beside sitecustomize.py, switched on in the scheduler by its variable
    data = default_render.get("ConfigMap", "airflow-config")["data"]
    hook = (AIRFLOW_CHART / "files" / "airkube_pod_deletes.py").read_text()
    assert data["airkube_pod_deletes.py"].rstrip("\n") == hook.rstrip("\n")
    assert env_of(main_container(default_render, "scheduler"))["AIRKUBE_POD_DELETES"]["value"] == "background"
    for component in ("api-server", "dag-processor", "triggerer"):
        assert "AIRKUBE_POD_DELETES" not in env_of(main_container(default_render, component))
    once = helm.template(values={"kubernetesExecutor": {"asyncPodDeletion": False}})
    assert env_of(main_container(once, "scheduler"))["AIRKUBE_POD_DELETES"]["value"] == "once"
    # alone, without the GC freeze: the hook is still on the scheduler's path, the freeze is not asked for
    alone = helm.template(values={"scheduler": {"gcFreezeBeforeFork": False}, "triggerer": {"gcFreezeBeforeFork": False}})
    env = env_of(main_container(alone, "scheduler"))
    assert env["PYTHONPATH"]["value"] == "/opt/airflow/config" and "AIRKUBE_GC_FREEZE_BEFORE_FORK" not in env
    assert {"sitecustomize.py", "airkube_pod_deletes.py"} <= set(alone.get("ConfigMap", "airflow-config")["data"])
    off = helm.template(values={"kubernetesExecutor": {"skipRepeatedPodDeletes": False, "asyncPodDeletion": False}})
    assert "airkube_pod_deletes.py" not in off.get("ConfigMap", "airflow-config")["data"]
    assert "AIRKUBE_POD_DELETES" not in env_of(main_container(off, "scheduler"))
