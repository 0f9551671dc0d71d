"""R4 logs everywhere: task logs on S3 and on GCS (in-cluster emulators), read through the REST API after the
worker pod is gone, and found as objects in the bucket. (Logs on a PVC: test_airflow_pvc.py's smoke_logs.)

One release, two phases (an install costs minutes on 2 cores): install with values/local.yaml + logs-s3.yaml,
run smoke_logs, check; then upgrade the same release to values/logs-gcs.yaml, run smoke_logs, check. The logs PVC
is switched off, so the api-server can only serve the finished task's log from the bucket.

Emulators (images built by airkube.images: s3-emulator = moto 5.2.5 S3 server from PyPI, gcs-emulator =
gcp-storage-emulator from PyPI with GCS's "No such object" 404 text) run as Deployments + Services in the test
namespace. Nothing here talks to AWS or Google: the connection carries endpoint_url (S3) and the containers get
STORAGE_EMULATOR_HOST + an anonymous connection (GCS).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from airkube.kube import create_or_update
from e2e_helpers import ROOT, TIMINGS, Release, ensure_namespace, wait_for

pytestmark = pytest.mark.reliability

NS = "e2e-logs"
RELEASE = "airflow"
BUCKET = "airflow-logs"
PREFIX = "airflow"
S3_PORT, GCS_PORT = 9000, 4443
S3_URL = f"http://s3-emulator.{NS}.svc:{S3_PORT}"
GCS_URL = f"http://gcs-emulator.{NS}.svc:{GCS_PORT}"
S3_CONN = {"conn_type": "aws", "login": "airkube-test", "password": "airkube-test-secret",
           "extra": {"region_name": "us-east-1", "endpoint_url": S3_URL,
                     "config_kwargs": {"s3": {"addressing_style": "path"}}}}
GCS_CONN = {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": "airkube"}}


# moto takes "<bucket>.<host>" virtual-host addressing for any dotted Host it does not know (e.g.
# "s3-emulator.ns.svc:9000" would mean bucket "s3-emulator"); path-style only, as MinIO serves by default.
EMULATOR_ENV = {"s3-emulator": [{"name": "S3_IGNORE_SUBDOMAIN_BUCKETNAME", "value": "true"}]}


def _emulator_objects(name: str, image: str, port: int) -> tuple[dict, dict]:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "airkube-e2e"}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {
                "automountServiceAccountToken": False, "terminationGracePeriodSeconds": 2,
                "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
                    "env": EMULATOR_ENV.get(name, []),
                    "ports": [{"name": "http", "containerPort": port}],
                    "readinessProbe": {"tcpSocket": {"port": port}, "periodSeconds": 2},
                    "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }],
            }}},
    }
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS, "labels": labels},
               "spec": {"selector": labels, "ports": [{"name": "http", "port": port, "targetPort": "http"}]}}
    return deployment, service


def _apply(core: client.CoreV1Api, apps: client.AppsV1Api, deployment: dict, service: dict) -> None:
    name = deployment["metadata"]["name"]
    create_or_update(lambda: apps.create_namespaced_deployment(NS, deployment),
                     lambda: apps.replace_namespaced_deployment(name, NS, deployment))
    create_or_update(lambda: core.create_namespaced_service(NS, service))


def _ready_pod(core: client.CoreV1Api, name: str) -> str | None:
    for pod in core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/name={name}").items:
        if pod.metadata.deletion_timestamp:
            continue
        waiting = [s.state.waiting.reason for s in pod.status.container_statuses or [] if s.state.waiting]
        if any(r in ("ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff") for r in waiting):
            pytest.fail(f"{name}: image not in the cluster ({waiting}); run `airkube images build {name}` and load it")
        if any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []):
            return pod.metadata.name
    return None


def _secret(core: client.CoreV1Api, name: str, data: dict[str, str]) -> None:
    body = client.V1Secret(metadata=client.V1ObjectMeta(name=name, namespace=NS), string_data=data)
    create_or_update(lambda: core.create_namespaced_secret(NS, body),
                     lambda: core.replace_namespaced_secret(name, NS, body))


def _http_in_pod(core: client.CoreV1Api, pod: str, method: str, url: str, body: str | None = None) -> str:
    """An HTTP request made from inside the emulator pod (its image has python; no port-forward needed)."""
    from airkube.dags import exec_in_pod

    script = (
        "import sys, urllib.request as u\n"
        "data = sys.argv[3].encode() if len(sys.argv) > 3 else None\n"
        "r = u.Request(sys.argv[2], data=data, method=sys.argv[1], headers={'Content-Type': 'application/json'})\n"
        "print(u.urlopen(r, timeout=30).read().decode())\n"
    )
    cmd = ["python3", "-c", script, method, url] + ([body] if body is not None else [])
    return exec_in_pod(core, NS, pod, cmd)


def _ensure_images(kubeconfig: Path) -> None:
    """The emulator images are on-demand (not in `airkube images build`'s default set): build them (cached) and,
    on the local cluster, import them (skipped when already present). Other clusters must have them already."""
    from airkube.cluster.local import LocalProvider
    from airkube.images import build_images

    provider = LocalProvider()
    try:
        local = Path(provider.kubeconfig()).resolve() == kubeconfig.resolve()
    except Exception:  # noqa: BLE001 - no local cluster state at all
        local = False
    if not local:
        return
    t0 = time.monotonic()
    archives = build_images(["s3-emulator", "gcs-emulator"])
    provider.load_images(list(archives.values()))
    TIMINGS["emulator_images_s"] = time.monotonic() - t0


@pytest.fixture(scope="module")
def emulators(kubeconfig: Path, core: client.CoreV1Api, api_client: client.ApiClient) -> dict[str, str]:
    from airkube.images import IMAGES

    _ensure_images(kubeconfig)
    ensure_namespace(core, NS)
    apps = client.AppsV1Api(api_client)
    t0 = time.monotonic()
    _apply(core, apps, *_emulator_objects("s3-emulator", IMAGES["s3-emulator"].ref, S3_PORT))
    gcs_dep, gcs_svc = _emulator_objects("gcs-emulator", IMAGES["gcs-emulator"].ref, GCS_PORT)
    _apply(core, apps, gcs_dep, gcs_svc)
    pods: dict[str, str] = {}

    def both_ready() -> bool:
        for name in ("s3-emulator", "gcs-emulator"):
            pod = _ready_pod(core, name)
            if not pod:
                return False
            pods[name] = pod
        return True

    wait_for(both_ready, 300, "the S3 and GCS emulator pods to be Ready")
    # buckets, created as a user would (S3 CreateBucket; GCS buckets.insert)
    _http_in_pod(core, pods["s3-emulator"], "PUT", f"http://127.0.0.1:{S3_PORT}/{BUCKET}", "")
    _http_in_pod(core, pods["gcs-emulator"], "POST", f"http://127.0.0.1:{GCS_PORT}/storage/v1/b?project=airkube",
                 json.dumps({"name": BUCKET}))
    _secret(core, "airflow-s3-logs", {"AIRFLOW_CONN_S3_LOGS": json.dumps(S3_CONN)})
    _secret(core, "airflow-gcs-logs", {"AIRFLOW_CONN_GCS_LOGS": json.dumps(GCS_CONN)})
    TIMINGS["emulators_ready_s"] = time.monotonic() - t0
    print(f"\n[R4] emulators ready in {TIMINGS['emulators_ready_s']:.0f}s: {pods}")
    return pods


def _bucket_keys(core: client.CoreV1Api, pods: dict[str, str], backend: str) -> list[str]:
    if backend == "s3":
        import xml.etree.ElementTree as ET

        text = _http_in_pod(core, pods["s3-emulator"], "GET",
                            f"http://127.0.0.1:{S3_PORT}/{BUCKET}?list-type=2&prefix={PREFIX}/")
        root = ET.fromstring(text.strip())
        return [el.text or "" for el in root.iter() if el.tag.endswith("}Key") or el.tag == "Key"]
    text = _http_in_pod(core, pods["gcs-emulator"], "GET",
                        f"http://127.0.0.1:{GCS_PORT}/storage/v1/b/{BUCKET}/o?prefix={PREFIX}/")
    return [item["name"] for item in json.loads(text).get("items", [])]


def _object_text(core: client.CoreV1Api, pods: dict[str, str], backend: str, key: str) -> str:
    from urllib.parse import quote

    if backend == "s3":  # GetObject needs a signed request (objects are private): boto3 is in the moto image
        from airkube.dags import exec_in_pod

        script = (
            "import sys, boto3\n"
            "from botocore.config import Config\n"
            f"s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:{S3_PORT}', region_name='us-east-1', "
            f"aws_access_key_id='{S3_CONN['login']}', aws_secret_access_key='{S3_CONN['password']}', "
            "config=Config(s3={'addressing_style': 'path'}))\n"
            "print(s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2])['Body'].read().decode())\n"
        )
        return exec_in_pod(core, NS, pods["s3-emulator"], ["python3", "-c", script, BUCKET, key])
    return _http_in_pod(core, pods["gcs-emulator"], "GET",
                        f"http://127.0.0.1:{GCS_PORT}/download/storage/v1/b/{BUCKET}/o/{quote(key, safe='')}?alt=media")


def _rest_log_sources(release: Release, dag: Any) -> str:
    """The raw REST log response of the smoke_logs task (its first message lists the sources read)."""
    from urllib.parse import quote

    from e2e_api import api_session

    task = dag.tasks[0]
    with api_session(release) as api:
        _, data = api.request(
            "GET", f"/api/v2/dags/{quote(dag.dag_id, safe='')}/dagRuns/{quote(dag.run_id, safe='')}/taskInstances/"
                   f"{quote(task.task_id, safe='')}/logs/{task.try_number}", params={"full_content": True, "map_index": -1})
    return json.dumps(data)


def _smoke_logs_and_check(release: Release, core: client.CoreV1Api, pods: dict[str, str], backend: str,
                          scheme: str) -> None:
    from airkube.smoke.report import render

    t0 = time.monotonic()
    result = release.smoke(dags=("smoke_logs",), fixtures=False)
    took = time.monotonic() - t0
    render(result)
    assert result.ok, result.to_dict()
    dag = next(d for d in result.dags if d.dag_id == "smoke_logs")
    assert any("worker pod gone" in n for n in dag.notes), f"log was read while the pod existed: {dag.notes}"
    marker = [ln for t in dag.tasks for ln in t.log if "AIRKUBE-LOG-MARKER" in ln and dag.run_id in ln]
    assert marker, "the REST API log lacks this run's marker"

    raw = _rest_log_sources(release, dag)
    assert f"{scheme}://{BUCKET}/{PREFIX}/" in raw, f"the api-server did not read the log from the bucket: {raw[:800]}"

    keys = _bucket_keys(core, pods, backend)
    mine = [k for k in keys if "dag_id=smoke_logs" in k and dag.run_id in k]
    assert mine, f"no log object of run {dag.run_id} in {scheme}://{BUCKET}/{PREFIX}/: {keys}"
    text = _object_text(core, pods, backend, mine[0])
    assert f"AIRKUBE-LOG-MARKER run_id={dag.run_id}" in text, text[:800]
    TIMINGS[f"smoke_logs_{backend}_s"] = took
    print(f"\n[R4 {backend}] smoke_logs ok in {took:.0f}s; REST log read after the pod was gone, from "
          f"{scheme}://{BUCKET}/{mine[0]} ({len(text)} bytes, {len(keys)} object(s) under the prefix)")


def test_logs_on_s3(kubeconfig: Path, core: client.CoreV1Api, emulators: dict[str, str]) -> None:
    rel = Release(RELEASE, NS, kubeconfig, [ROOT / "values" / "local.yaml", ROOT / "values" / "logs-s3.yaml"],
                  sets=["logs.persistence.enabled=false"])
    TIMINGS["install_logs_s3_s"] = rel.install()
    print(f"\n[R4 s3] install took {TIMINGS['install_logs_s3_s']:.0f}s")
    _smoke_logs_and_check(rel, core, emulators, "s3", "s3")


def test_logs_on_gcs_after_upgrade(kubeconfig: Path, core: client.CoreV1Api, emulators: dict[str, str]) -> None:
    rel = Release(RELEASE, NS, kubeconfig, [ROOT / "values" / "local.yaml", ROOT / "values" / "logs-gcs.yaml"],
                  sets=["logs.persistence.enabled=false",
                        f"extraEnv=[{{name: STORAGE_EMULATOR_HOST, value: '{GCS_URL}'}}]"])
    TIMINGS["upgrade_logs_gcs_s"] = rel.install()
    print(f"\n[R4 gcs] upgrade s3 -> gcs took {TIMINGS['upgrade_logs_gcs_s']:.0f}s")
    _smoke_logs_and_check(rel, core, emulators, "gcs", "gs")


def test_uninstall(kubeconfig: Path, core: client.CoreV1Api) -> None:
    rel = Release(RELEASE, NS, kubeconfig, [])
    rel.uninstall()
    wait_for(lambda: not core.list_namespaced_pod(NS, label_selector=f"app.kubernetes.io/instance={RELEASE}").items,
             300, "release pods to go away after uninstall")
    core.delete_namespace(NS)
