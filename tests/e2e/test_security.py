"""Security on the live cluster: NetworkPolicies really drop packets, and an attacker gets nothing.

1. Enforcement (the local cluster's kube-router firewall): two pods talk; a default-deny policy stops it (the
   firewall rejects the SYN: ICMP port-unreachable, never reaching the listening server); an allow policy for the client's label lets it through again, while an unlabelled pod stays
   out.
2. Attacks on a release installed with values/local.yaml and `networkPolicies.enabled=true`, in a namespace
   that enforces Pod Security "restricted":
   - from a task pod (the worker pod template of the release, run as is, with the task service account's own
     token): exec into the scheduler, read a Secret, create a pod that mounts the release's Secrets,
     connect to postgres:5432;
   - from an unrelated pod in another namespace: connect to postgres, and to the scheduler's health port.
   Each denial is asserted and printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from e2e_helpers import ROOT, Release, wait_for
from netpol_probe import (
    connect,
    delete_namespace,
    deny_then_allow,
    psa_namespace,
    restricted_pod,
    run_pod,
    start_pods,
)

NP_NS = "netpol-enforce"
ATTACK_NS = "netpol-attack"  # the release under attack (PSA restricted)
OUTSIDE_NS = "netpol-outside"  # an unrelated namespace
RELEASE = "airflow"
def say(text: str) -> None:
    print(f"[security] {text}", flush=True)


# --- 1. enforcement ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def np_pods(kubeconfig: Path, core: client.CoreV1Api):  # type: ignore[no-untyped-def]
    delete_namespace(core, NP_NS)
    wait_for(lambda: NP_NS not in {n.metadata.name for n in core.list_namespace().items}, 120, f"{NP_NS} gone")
    psa_namespace(core, NP_NS)
    yield start_pods(core, NP_NS)
    delete_namespace(core, NP_NS)


def test_networkpolicy_default_deny_drops_and_allow_admits(kubeconfig: Path, api_client: client.ApiClient,
                                                           np_pods: dict[str, str]) -> None:
    deny_then_allow(kubeconfig, client.NetworkingV1Api(api_client), NP_NS, np_pods, say)


# --- 2. attacks on a release ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def attacked(kubeconfig: Path, core: client.CoreV1Api):  # type: ignore[no-untyped-def]
    psa_namespace(core, ATTACK_NS)
    # NetworkPolicies are opt-in in the chart; the local cluster enforces them, so the attacked release has them
    rel = Release(RELEASE, ATTACK_NS, kubeconfig, [ROOT / "values" / "local.yaml"],
                  sets=["networkPolicies.enabled=true"])
    say(f"install {RELEASE} in {ATTACK_NS} (PSA restricted): {rel.install():.0f}s")
    yield rel
    rel.uninstall()
    delete_namespace(core, ATTACK_NS)


def _one_pod(core: client.CoreV1Api, ns: str, component: str) -> client.V1Pod:
    pods = core.list_namespaced_pod(ns, label_selector=f"app.kubernetes.io/component={component}").items
    running = [p for p in pods if p.status.phase == "Running"]
    assert running, f"no running {component} pod in {ns}"
    return running[0]


def _postgres_service(core: client.CoreV1Api, ns: str) -> str:
    services = [s.metadata.name for s in core.list_namespaced_service(ns).items
                if (s.spec.ports or []) and any(p.port == 5432 for p in s.spec.ports)]
    assert services, f"no Service on port 5432 in {ns}"
    return f"{sorted(services)[0]}.{ns}.svc"


def _task_pod_manifest(core: client.CoreV1Api, ns: str, name: str) -> dict[str, Any]:
    """The release's worker pod template, exactly as the executor would start it, running a sleep."""
    cms = [c for c in core.list_namespaced_config_map(ns).items if (c.data or {}).get("pod_template_file.yaml")]
    assert cms, f"no pod template ConfigMap in {ns}"
    pod = yaml.safe_load(cms[0].data["pod_template_file.yaml"])
    pod["metadata"] = {**(pod.get("metadata") or {}), "name": name, "namespace": ns}
    pod["metadata"].setdefault("labels", {})
    pod["metadata"]["labels"].update({"kubernetes_executor": "True", "dag_id": "attack", "task_id": "attack"})
    base = next(c for c in pod["spec"]["containers"] if c["name"] == "base")
    base["command"], base["args"] = ["sleep", "3600"], []
    pod["spec"]["containers"] = [base]
    return pod


def _task_sa_api(api_client: client.ApiClient, core: client.CoreV1Api, ns: str, sa: str) -> client.ApiClient:
    """An API client holding the task service account's own token (what a task pod's token grants)."""
    token = core.create_namespaced_service_account_token(
        sa, ns, {"spec": {"expirationSeconds": 600}}).status.token
    cfg = client.Configuration()
    cfg.host = api_client.configuration.host
    cfg.ssl_ca_cert = api_client.configuration.ssl_ca_cert
    cfg.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(cfg)


def _denied(call, what: str) -> None:  # type: ignore[no-untyped-def]
    try:
        call()
    except client.ApiException as exc:  # the exec websocket reports "Handshake status 403 Forbidden" as status 0
        reason = str(exc.reason or "")
        assert exc.status in (401, 403) or "403 Forbidden" in reason, f"{what}: unexpected {exc.status} {reason}"
        try:
            message = json.loads(exc.body or "{}").get("message", "")
        except (ValueError, TypeError, AttributeError):
            message = str(exc.body)
        say(f"{what}: DENIED {exc.status or 403} {reason.split(' -+-+- ')[0][:80]}: {message[:160]}")
        return
    except Exception as exc:  # the exec websocket: kubernetes' stream fails on the 403 with its own errors
        chain, cause = [], exc
        while cause is not None:
            chain.append(f"{type(cause).__name__}: {cause}")
            cause = cause.__cause__ or cause.__context__
        text = " <- ".join(chain)
        assert "403" in text or "Forbidden" in text, f"{what}: unexpected {text}"
        say(f"{what}: DENIED {next((c for c in chain if '403' in c), text)[:200]}")
        return
    pytest.fail(f"{what}: ALLOWED — the task service account can do it")


def test_task_pod_is_admitted_and_cannot_take_the_keys(kubeconfig: Path, api_client: client.ApiClient,
                                                       core: client.CoreV1Api, attacked: Release) -> None:
    task = run_pod(core, ATTACK_NS, _task_pod_manifest(core, ATTACK_NS, "attack-task"))
    sa = task.spec.service_account_name or "default"
    say(f"task pod {task.metadata.name} admitted under PSA restricted, service account {sa}, "
        f"automountServiceAccountToken={task.spec.automount_service_account_token}")
    scheduler = _one_pod(core, ATTACK_NS, "scheduler")
    secrets = [s.metadata.name for s in core.list_namespaced_secret(ATTACK_NS).items
               if s.type != "helm.sh/release.v1"]
    stolen = client.CoreV1Api(_task_sa_api(api_client, core, ATTACK_NS, sa))

    from kubernetes.stream import stream

    _denied(lambda: stream(stolen.connect_get_namespaced_pod_exec, scheduler.metadata.name, ATTACK_NS,
                           command=["env"], stderr=True, stdout=True, stdin=False, tty=False),
            f"exec into the scheduler {scheduler.metadata.name} as {sa}")
    _denied(lambda: stolen.read_namespaced_secret(secrets[0], ATTACK_NS), f"read Secret {secrets[0]} as {sa}")
    _denied(lambda: stolen.list_namespaced_secret(ATTACK_NS), f"list Secrets as {sa}")
    thief = restricted_pod("thief", {"app": "thief"}, ["sleep", "60"],
                           volumes=[{"name": s, "secret": {"secretName": s}} for s in secrets])
    _denied(lambda: stolen.create_namespaced_pod(ATTACK_NS, thief),
            f"create a pod mounting {', '.join(secrets)} as {sa}")

    pg = _postgres_service(core, ATTACK_NS)
    got = connect(kubeconfig, ATTACK_NS, task.metadata.name, pg, 5432)
    say(f"task pod -> {pg}:5432 {'ALLOWED' if got['ok'] else 'DENIED'} {got}")
    assert not got["ok"], f"a task pod reaches postgres: {got}"


def test_unrelated_pod_reaches_neither_postgres_nor_the_scheduler(kubeconfig: Path, core: client.CoreV1Api,
                                                                  attacked: Release) -> None:
    delete_namespace(core, OUTSIDE_NS)
    wait_for(lambda: OUTSIDE_NS not in {n.metadata.name for n in core.list_namespace().items}, 120,
             f"{OUTSIDE_NS} gone")
    psa_namespace(core, OUTSIDE_NS)
    try:
        outsider = run_pod(core, OUTSIDE_NS, restricted_pod("outsider", {"app": "outsider"}, ["sleep", "3600"]))
        pg = _postgres_service(core, ATTACK_NS)
        scheduler = _one_pod(core, ATTACK_NS, "scheduler")
        health = next((p.container_port for c in scheduler.spec.containers for p in c.ports or []
                       if p.name and "health" in p.name), 8974)
        for host, port, what in ((pg, 5432, "postgres"), (scheduler.status.pod_ip, health, "scheduler health")):
            got = connect(kubeconfig, OUTSIDE_NS, outsider.metadata.name, host, port)
            say(f"{OUTSIDE_NS}/outsider -> {what} {host}:{port} {'ALLOWED' if got['ok'] else 'DENIED'} {got}")
            assert not got["ok"], f"an unrelated pod reaches {what}: {got}"
    finally:
        delete_namespace(core, OUTSIDE_NS)
