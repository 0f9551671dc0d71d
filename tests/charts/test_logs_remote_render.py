"""Remote task logs (R4, no cluster): values/logs-s3.yaml and values/logs-gcs.yaml render an airflow.cfg that
Airflow's own config parser reads as remote logging to the right URL and connection, and the connection reaches
every Airflow container (api-server reads logs, task pods write them) from a Secret, never as a literal.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import Rendered

pytestmark = pytest.mark.helm3

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")

CASES = {
    "logs-s3.yaml": {"url": "s3://airflow-logs/airflow", "conn_id": "s3_logs", "secret": "airflow-s3-logs",
                     "handler": "airflow.providers.amazon.aws.log.s3_task_handler"},
    "logs-gcs.yaml": {"url": "gs://airflow-logs/airflow", "conn_id": "gcs_logs", "secret": "airflow-gcs-logs",
                      "handler": "airflow.providers.google.cloud.log.gcs_task_handler"},
}


@pytest.fixture(autouse=True)
def _no_airflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """AirflowConfigParser lets AIRFLOW__SECTION__KEY env vars win: keep the runner's environment out of it."""
    for key in list(os.environ):
        if key.startswith("AIRFLOW__"):
            monkeypatch.delenv(key)


def airflow_conf(rendered: Rendered):
    from airflow.configuration import AirflowConfigParser

    parser = AirflowConfigParser()
    parser.read_string(rendered.airflow_cfg())
    return parser


def airflow_containers(rendered: Rendered) -> dict[str, dict]:
    """Every container that runs Airflow code: components (+ init), migration Job, worker pod template."""
    found: dict[str, dict] = {}
    for component in COMPONENTS:
        spec = rendered.deployment(component)["spec"]["template"]["spec"]
        for c in list(spec["containers"]) + list(spec.get("initContainers") or []):
            if c["name"] in (component, "wait-for-migrations"):  # not git-sync, not the auth-file helper
                found[f"{component}/{c['name']}"] = c
    for job in rendered.all("Job"):
        for c in job["spec"]["template"]["spec"]["containers"]:
            found[f"job/{job['metadata']['name']}/{c['name']}"] = c
    pod = rendered.pod_template()
    for c in pod["spec"]["containers"]:
        found[f"pod-template/{c['name']}"] = c
    return found


@pytest.mark.parametrize("values_file", sorted(CASES))
def test_airflow_parses_remote_logging(helm, values_file: str) -> None:
    case = CASES[values_file]
    conf = airflow_conf(helm.template(values_files=(values_file,)))
    assert conf.getboolean("logging", "remote_logging") is True
    assert conf.get("logging", "remote_base_log_folder") == case["url"]
    assert conf.get("logging", "remote_log_conn_id") == case["conn_id"]
    assert conf.getboolean("logging", "delete_local_logs") is False
    # Airflow picks the handler from the URL scheme (airflow_local_settings: "s3://" / "gs://")
    assert conf.get("logging", "remote_base_log_folder").split("://")[0] in ("s3", "gs")
    print(f"\n[R4 render] {values_file}: remote_logging=True base={case['url']} conn_id={case['conn_id']}")


@pytest.mark.parametrize("values_file", sorted(CASES))
def test_connection_comes_from_secret_everywhere(helm, values_file: str) -> None:
    case = CASES[values_file]
    rendered = helm.template(values_files=(values_file,))
    containers = airflow_containers(rendered)
    assert any(k.startswith("api-server/") for k in containers) and "pod-template/base" in containers
    for where, c in containers.items():
        refs = [e.get("secretRef", {}).get("name") for e in c.get("envFrom") or []]
        assert case["secret"] in refs, f"{where}: envFrom lacks secretRef {case['secret']} ({c.get('envFrom')})"
        for env in c.get("env") or []:
            assert not env["name"].startswith("AIRFLOW_CONN_"), f"{where}: connection as a literal env {env}"
    # nowhere in the rendered manifests (ConfigMaps included) is a connection written out
    assert "AIRFLOW_CONN_" not in rendered.stdout
    for cm in rendered.all("ConfigMap"):
        assert "conn_type" not in str(cm.get("data", {})), cm["metadata"]["name"]


def test_s3_endpoint_url_exported_to_readers_and_writers(helm) -> None:
    endpoint = "http://s3-emulator.airflow.svc:9000"
    rendered = helm.template(values_files=("logs-s3.yaml",), values={"logs": {"remote": {"endpointUrl": endpoint}}})
    for where, c in airflow_containers(rendered).items():
        env = {e["name"]: e for e in c.get("env") or []}
        assert env.get("AWS_ENDPOINT_URL_S3", {}).get("value") == endpoint, where


def test_gcs_emulator_host_through_extra_env(helm) -> None:
    """GCS emulators are reached with STORAGE_EMULATOR_HOST (google-cloud-storage); `extraEnv` carries it to all."""
    host = "http://gcs-emulator.airflow.svc:4443"
    rendered = helm.template(values_files=("logs-gcs.yaml",),
                             values={"extraEnv": [{"name": "STORAGE_EMULATOR_HOST", "value": host}]})
    for where, c in airflow_containers(rendered).items():
        env = {e["name"]: e for e in c.get("env") or []}
        assert env.get("STORAGE_EMULATOR_HOST", {}).get("value") == host, where


def test_remote_logs_with_local_profile_and_no_logs_pvc(helm) -> None:
    """The e2e combination: local.yaml + logs-s3.yaml, logs PVC off (the REST API must read the bucket)."""
    rendered = helm.template(values_files=("local.yaml", "logs-s3.yaml"),
                             values={"logs": {"persistence": {"enabled": False}}})
    conf = airflow_conf(rendered)
    assert conf.getboolean("logging", "remote_logging")
    assert not [p for p in rendered.all("PersistentVolumeClaim") if p["metadata"]["name"].endswith("-logs")]
