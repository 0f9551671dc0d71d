"""Issue 10, chart side: the production keys (PDB, HPA, placement, extra containers, Ingress, HTTPRoute,
extraObjects) render with real helm into objects that pass the Kubernetes schemas and `helm lint --strict`, and
bad input is refused by helm and by `airkube values validate`, naming the key."""
from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import AIRFLOW_CHART, KUBE_VERSIONS, ROOT, VENV_BIN, Rendered, kube_validate

pytestmark = pytest.mark.helm3

COMPONENTS = {"apiServer": "api-server", "scheduler": "scheduler", "dagProcessor": "dag-processor",
              "triggerer": "triggerer"}
SIDECAR = {"name": "sidecar", "image": "registry.example/sidecar:1.0", "args": ["sleep", "infinity"],
           "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "50m", "memory": "32Mi"}}}
SPREAD = {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}

# every production key switched on at once (the HTTPRoute under /airflow, the Ingress at /)
ALL_ON: dict[str, Any] = {
    **{key: {"replicas": 3, "priorityClassName": "airflow-critical", "topologySpreadConstraints": [SPREAD],
             "extraContainers": [SIDECAR], "extraInitContainers": [{**SIDECAR, "name": "init-extra", "args": ["true"]}],
             "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}
       for key in ("scheduler", "dagProcessor", "triggerer")},
    "apiServer": {"priorityClassName": "airflow-critical", "podDisruptionBudget": {"enabled": True},
                  "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5,
                                  "targetCPUUtilizationPercentage": 70}},
    "ingress": {"enabled": True, "className": "traefik", "host": "airflow.example.com",
                "annotations": {"traefik.ingress.kubernetes.io/router.entrypoints": "web"},
                "tls": {"secretName": "airflow-tls"}},
    "httpRoute": {"enabled": True, "path": "/airflow", "hostnames": ["gw.example.com"],
                  "parentRefs": [{"name": "gateway", "namespace": "gateway-system"}]},
    "extraObjects": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "{{ .Release.Name }}-extra-map"},
         "data": {"namespace": "{{ .Release.Namespace }}"}},
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra-string\n",
    ],
}


def cfg(rendered: Rendered) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(rendered.airflow_cfg())
    return parser


def spec(rendered: Rendered, component: str) -> dict[str, Any]:
    return rendered.deployment(component)["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def all_on(helm) -> Rendered:
    return helm.template(values=ALL_ON)


# ---------------------------------------------------------------------------------------------------------------
# everything on: schemas, lint

@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_all_on_passes_the_kubernetes_schemas(all_on: Rendered, version: str) -> None:
    kinds = set()
    for doc in all_on.docs:
        kinds.add(doc["kind"])
        if doc["kind"] == "HTTPRoute":
            # Gateway API is a CRD: kubernetes-validate has no schema for it (checked field by field below)
            continue
        kube_validate(doc, version)
    assert {"PodDisruptionBudget", "HorizontalPodAutoscaler", "Ingress", "HTTPRoute"} <= kinds


def test_all_on_passes_helm_lint_strict(helm, tmp_path: Path) -> None:
    path = tmp_path / "all-on.yaml"
    path.write_text(yaml.safe_dump(ALL_ON))
    result = helm.run("lint", "--strict", str(AIRFLOW_CHART), "--kube-version", KUBE_VERSIONS[-1], "-f", str(path),
                      check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_defaults_render_none_of_it(default_render: Rendered) -> None:
    for kind in ("PodDisruptionBudget", "HorizontalPodAutoscaler", "Ingress", "HTTPRoute"):
        assert default_render.all(kind) == [], kind
    for component in COMPONENTS.values():
        pod = spec(default_render, component)
        assert "priorityClassName" not in pod and "topologySpreadConstraints" not in pod
        assert [c["name"] for c in pod["containers"]][0] == component
    assert default_render.deployment("api-server")["spec"]["replicas"] == 1
    assert "base_url" not in cfg(default_render)["api"]


# ---------------------------------------------------------------------------------------------------------------
# PodDisruptionBudget, HPA, placement, extra containers

def test_pdb_per_component_selects_its_pods(all_on: Rendered) -> None:
    for component in COMPONENTS.values():
        pdb = all_on.get("PodDisruptionBudget", f"airflow-{component}")
        assert pdb["apiVersion"] == "policy/v1"
        pod_labels = all_on.deployment(component)["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        if component == "api-server":
            assert pdb["spec"] == {**pdb["spec"], "maxUnavailable": 1} and "minAvailable" not in pdb["spec"]
        else:
            assert pdb["spec"]["minAvailable"] == 1 and "maxUnavailable" not in pdb["spec"]


@pytest.mark.parametrize("bound", [{"minAvailable": "50%"}, {"maxUnavailable": 2}, {"maxUnavailable": "25%"}])
def test_pdb_takes_integer_or_percentage(helm, bound: dict[str, Any]) -> None:
    rendered = helm.template(values={"scheduler": {"replicas": 4, "podDisruptionBudget": {"enabled": True, **bound}}})
    pdb = rendered.get("PodDisruptionBudget", "airflow-scheduler")
    assert {k: pdb["spec"][k] for k in bound} == bound
    kube_validate(pdb, KUBE_VERSIONS[-1])


def test_hpa_owns_the_api_server_replicas(all_on: Rendered) -> None:
    assert "replicas" not in all_on.deployment("api-server")["spec"]
    assert all_on.deployment("scheduler")["spec"]["replicas"] == 3  # only the api-server is autoscaled
    hpa = all_on.get("HorizontalPodAutoscaler", "airflow-api-server")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "airflow-api-server"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}


def test_priority_class_and_topology_spread(all_on: Rendered) -> None:
    for component in COMPONENTS.values():
        assert spec(all_on, component)["priorityClassName"] == "airflow-critical"
    pod = spec(all_on, "scheduler")
    (tsc,) = pod["topologySpreadConstraints"]
    # no labelSelector given: the component's own pods are spread
    assert tsc["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "scheduler"
    assert tsc["labelSelector"]["matchLabels"].items() <= all_on.deployment("scheduler")["spec"]["template"][
        "metadata"]["labels"].items()
    assert tsc["maxSkew"] == 1


def test_topology_spread_keeps_a_given_label_selector(helm) -> None:
    own = {**SPREAD, "labelSelector": {"matchLabels": {"team": "data"}}}
    rendered = helm.template(values={"triggerer": {"topologySpreadConstraints": [own]}})
    assert spec(rendered, "triggerer")["topologySpreadConstraints"] == [own]


def test_extra_containers_and_init_containers(all_on: Rendered) -> None:
    pod = spec(all_on, "scheduler")
    assert [c["name"] for c in pod["containers"]] == ["scheduler", "sidecar"]
    assert pod["containers"][1]["image"] == SIDECAR["image"]
    # the chart's own init container runs first
    assert [c["name"] for c in pod["initContainers"]] == ["wait-for-migrations", "init-extra"]


def test_extra_containers_as_tpl_string(helm) -> None:
    text = "- name: '{{ .Release.Name }}-probe'\n  image: registry.example/probe:{{ .Chart.AppVersion }}\n"
    rendered = helm.template(values={"dagProcessor": {"extraContainers": text}, "apiServer": {"extraInitContainers": text}})
    side = spec(rendered, "dag-processor")["containers"][-1]
    assert side["name"] == "airflow-probe" and side["image"].startswith("registry.example/probe:")
    assert spec(rendered, "api-server")["initContainers"][-1]["name"] == "airflow-probe"


# ---------------------------------------------------------------------------------------------------------------
# Ingress, HTTPRoute and the base path

def test_ingress_at_root(all_on: Rendered) -> None:
    ing = all_on.get("Ingress", "airflow-api-server")
    assert ing["spec"]["ingressClassName"] == "traefik"
    assert ing["metadata"]["annotations"] == ALL_ON["ingress"]["annotations"]
    assert ing["spec"]["tls"] == [{"secretName": "airflow-tls", "hosts": ["airflow.example.com"]}]
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == "airflow.example.com"
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    assert path["backend"]["service"] == {"name": "airflow-api-server", "port": {"name": "http"}}
    assert all_on.find("Service", "airflow-api-server")


def test_httproute_under_a_sub_path_sets_the_base_path_everywhere(all_on: Rendered) -> None:
    route = all_on.get("HTTPRoute", "airflow-api-server")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == ALL_ON["httpRoute"]["parentRefs"]
    assert route["spec"]["hostnames"] == ["gw.example.com"]
    (rule,) = route["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/airflow"}}]
    assert rule["backendRefs"] == [{"name": "airflow-api-server", "port": 8080}]
    parsed = cfg(all_on)
    assert parsed["api"]["base_url"] == "http://gw.example.com/airflow"
    assert parsed["core"]["execution_api_server_url"] == "http://airflow-api-server.airflow.svc:8080/airflow/execution/"
    api = next(c for c in spec(all_on, "api-server")["containers"] if c["name"] == "api-server")
    assert api["livenessProbe"]["httpGet"]["path"] == "/airflow/api/v2/monitor/health"
    assert api["readinessProbe"]["httpGet"]["path"].startswith("/airflow/")


@pytest.mark.parametrize("values, base_url", [
    ({"ingress": {"enabled": True, "path": "/airflow/"}}, "/airflow"),
    ({"ingress": {"enabled": True, "path": "/ui", "host": "a.example.com"}}, "http://a.example.com/ui"),
    ({"ingress": {"enabled": True, "path": "/ui", "host": "a.example.com", "tls": {"secretName": "t"}}},
     "https://a.example.com/ui"),
    ({"httpRoute": {"enabled": True, "path": "/af", "parentRefs": [{"name": "gw"}]}}, "/af"),
])
def test_sub_path_base_url(helm, values: dict[str, Any], base_url: str) -> None:
    parsed = cfg(helm.template(values=values))
    assert parsed["api"]["base_url"] == base_url
    path = "/" + base_url.split("/", 3)[-1] if base_url.startswith("http") else base_url
    assert parsed["core"]["execution_api_server_url"].endswith(f":8080{path}/execution/")


def test_explicit_base_url_wins(helm) -> None:
    rendered = helm.template(values={"ingress": {"enabled": True, "path": "/x"},
                                     "config": {"api": {"base_url": "https://airflow.example.com/x"}}})
    parsed = cfg(rendered)
    assert parsed["api"]["base_url"] == "https://airflow.example.com/x"
    assert parsed["core"]["execution_api_server_url"].endswith(":8080/x/execution/")


def test_extra_objects_maps_and_strings_through_tpl(all_on: Rendered) -> None:
    assert all_on.get("ConfigMap", "airflow-extra-map")["data"] == {"namespace": "airflow"}
    assert all_on.find("ConfigMap", "airflow-extra-string")


DIGEST = "sha256:" + "ab" * 32


def _images(rendered: Rendered) -> set[str]:
    out = set()
    for doc in [*rendered.docs, rendered.pod_template()]:
        pod = doc.get("spec", {}).get("template", {}).get("spec") if doc["kind"] != "Pod" else doc["spec"]
        for c in (pod or {}).get("containers", []) + (pod or {}).get("initContainers", []):
            out.add(c["image"])
    return out


def test_image_digests(helm) -> None:
    rendered = helm.template(values={
        "images": {"airflow": {"digest": DIGEST}, "gitSync": {"digest": DIGEST}},
        "dags": {"gitSync": {"enabled": True, "repo": "https://git.example.com/dags.git"}}})
    airflow = {i for i in _images(rendered) if "airflow" in i}
    assert airflow == {f"apache/airflow:3.3.2@{DIGEST}"}  # every component, the migration Job and task pods
    assert {i for i in _images(rendered) if "git-sync" in i} == {f"registry.k8s.io/git-sync/git-sync:v4.4.2@{DIGEST}"}
    for doc in rendered.docs:
        kube_validate(doc, KUBE_VERSIONS[-1])


# ---------------------------------------------------------------------------------------------------------------
# airflowLocalSettings: one file in the config ConfigMap, on sys.path ($AIRFLOW_HOME/config) of every Airflow pod

LOCAL = "def pod_mutation_hook(pod):\n    pod.metadata.labels['x'] = 'y'\n"


def _airflow_pods(rendered: Rendered) -> dict[str, dict[str, Any]]:
    pods = {c: spec(rendered, c) for c in COMPONENTS.values()}
    (job,) = rendered.all("Job")
    pods["migrations"] = job["spec"]["template"]["spec"]
    pods["task pod"] = rendered.pod_template()["spec"]
    return pods


def test_local_settings_mounted_in_every_airflow_pod(helm) -> None:
    rendered = helm.template(values={"airflowLocalSettings": LOCAL})
    config = rendered.get("ConfigMap", "airflow-config")
    assert config["data"]["airflow_local_settings.py"] == LOCAL
    for where, pod in _airflow_pods(rendered).items():
        volume = next(v["name"] for v in pod["volumes"] if v.get("configMap", {}).get("name") == "airflow-config")
        main = pod["containers"][0]
        env = {e["name"]: e.get("value") for e in main["env"]}
        assert env["AIRFLOW_HOME"] == "/opt/airflow", where
        mount = next(m for m in main["volumeMounts"] if m["name"] == volume)
        # the whole ConfigMap (no subPath/items): airflow_local_settings.py lands in $AIRFLOW_HOME/config
        assert mount["mountPath"] == "/opt/airflow/config" and "subPath" not in mount, where
        assert "items" not in next(v for v in pod["volumes"] if v["name"] == volume)["configMap"], where


def test_local_settings_change_rolls_the_components(helm, default_render: Rendered) -> None:
    rendered = helm.template(values={"airflowLocalSettings": LOCAL})
    def checksum(r: Rendered, component: str) -> str:
        return r.deployment(component)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    for component in COMPONENTS.values():
        assert checksum(rendered, component) != checksum(default_render, component), component


# ---------------------------------------------------------------------------------------------------------------
# bad input: helm and `airkube values validate` both refuse it and name the key

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("pdb-min-available-word", {"scheduler": {"podDisruptionBudget": {"enabled": True, "minAvailable": "most"}}},
     "scheduler.podDisruptionBudget.minAvailable"),
    ("pdb-unknown-key", {"triggerer": {"podDisruptionBudget": {"maxUnavailble": 1}}},
     "triggerer.podDisruptionBudget"),
    ("priority-class-not-string", {"dagProcessor": {"priorityClassName": 7}}, "dagProcessor.priorityClassName"),
    ("spread-not-a-list", {"scheduler": {"topologySpreadConstraints": {"maxSkew": 1}}},
     "scheduler.topologySpreadConstraints"),
    ("extra-container-without-name", {"scheduler": {"extraContainers": [{"image": "x"}]}},
     "scheduler.extraContainers"),
    ("hpa-max-zero", {"apiServer": {"autoscaling": {"enabled": True, "maxReplicas": 0}}},
     "apiServer.autoscaling.maxReplicas"),
    ("ingress-path-relative", {"ingress": {"enabled": True, "path": "airflow"}}, "ingress.path"),
    ("ingress-path-type", {"ingress": {"pathType": "Regex"}}, "ingress.pathType"),
    ("ingress-host-url", {"ingress": {"host": "https://airflow.example.com"}}, "ingress.host"),
    ("httproute-parent-without-name", {"httpRoute": {"parentRefs": [{"namespace": "gw"}]}}, "httpRoute.parentRefs"),
    ("extra-objects-number", {"extraObjects": [3]}, "extraObjects"),
    ("digest-not-sha256", {"images": {"airflow": {"digest": "latest"}}}, "images.airflow.digest"),
    ("local-settings-not-text", {"airflowLocalSettings": {"pod_mutation_hook": "x"}}, "airflowLocalSettings"),
    ("pod-template-not-a-pod", {"workers": {"podTemplate": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                           "spec": {"containers": [{"name": "base"}]}}}},
     "workers.podTemplate"),
    ("pod-template-without-base", {"workers": {"podTemplate": {"apiVersion": "v1", "kind": "Pod",
                                                              "spec": {"containers": [{"name": "main"}]}}}},
     "workers.podTemplate"),
    ("pod-template-number", {"workers": {"podTemplate": 3}}, "workers.podTemplate"),
    # cross-field rules (rules.yaml): the human messages of the issue
    ("hpa-with-replicas", {"apiServer": {"replicas": 2, "autoscaling": {"enabled": True}}}, "apiServer.replicas"),
    ("pdb-min-equals-replicas", {"scheduler": {"replicas": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 2}}},
     "scheduler.podDisruptionBudget.minAvailable"),
    ("pdb-min-vs-hpa-min", {"apiServer": {"autoscaling": {"enabled": True, "minReplicas": 2},
                                          "podDisruptionBudget": {"enabled": True, "minAvailable": 2}}},
     "apiServer.podDisruptionBudget.minAvailable"),
    ("ingress-and-route-same-path", {"ingress": {"enabled": True, "path": "/airflow"},
                                     "httpRoute": {"enabled": True, "path": "/airflow/", "parentRefs": [{"name": "gw"}]}},
     "httpRoute.path"),
    ("route-without-gateway", {"httpRoute": {"enabled": True}}, "httpRoute.parentRefs"),
]


def _names(text: str, key: str) -> bool:
    """The message names `key`, dotted (rules, airkube) or as the schema's JSON pointer (helm)."""
    return key in text or "/" + key.replace(".", "/") in text


def _airkube(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([str(VENV_BIN / "airkube"), *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)


@pytest.mark.parametrize("case_id, values, key", BAD, ids=[c[0] for c in BAD])
def test_bad_input_refused_naming_the_key(helm, tmp_path: Path, case_id: str, values: dict[str, Any], key: str) -> None:
    path = tmp_path / f"{case_id}.yaml"
    path.write_text(yaml.safe_dump(values))
    result = helm.run("template", "airflow", str(AIRFLOW_CHART), "--namespace", "airflow",
                      "--kube-version", KUBE_VERSIONS[-1], "-f", str(path), check=False)
    assert result.returncode != 0, f"helm accepted {case_id}"
    assert _names(result.stderr, key), result.stderr
    checked = _airkube("values", "validate", str(path))
    output = " ".join((checked.stdout + checked.stderr).split())
    assert checked.returncode == 1, output
    assert _names(output, key), output


@pytest.mark.parametrize("values", [
    {"scheduler": {"replicas": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}},
    {"apiServer": {"autoscaling": {"enabled": True, "minReplicas": 3}, "podDisruptionBudget": {"enabled": True,
                                                                                               "minAvailable": 2}}},
    {"ingress": {"enabled": True}, "httpRoute": {"enabled": True, "path": "/airflow", "parentRefs": [{"name": "gw"}]}},
], ids=["pdb-below-replicas", "pdb-below-hpa-min", "ingress-root-route-sub-path"])
def test_the_good_neighbours_of_each_rule_render(helm, tmp_path: Path, values: dict[str, Any]) -> None:
    helm.template(values=values)
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(values))
    checked = _airkube("values", "validate", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _pod_specs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    if doc["kind"] == "Pod":
        return [spec]
    if doc["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    return [spec["template"]["spec"]] if "template" in spec else []


def test_every_image_of_the_chart_takes_a_digest(helm) -> None:
    """images.<name>.digest for every images.* block of values.yaml (read from the file, so a new image is covered
    the day it lands) and postgres.image.digest: with everything that starts a container switched on, every
    container, init container and task pod carries the digest."""
    defaults = yaml.safe_load((AIRFLOW_CHART / "values.yaml").read_text())
    names = sorted(defaults["images"])
    assert {"airflow", "gitSync"} <= set(names)
    rendered = helm.template(values={
        "images": {name: {"digest": DIGEST} for name in names},
        "postgres": {"image": {"digest": DIGEST}},
        "dags": {"gitSync": {"enabled": True, "repo": "https://git.example.com/dags.git"}},
        "logs": {"persistence": {"enabled": True}},
        "metrics": {"enabled": True},
        "cleanup": {"database": {"enabled": True}, "logs": {"enabled": True}},
        "migrations": {"enabled": True}, "tests": {"enabled": True},
    })
    seen: dict[str, str] = {}
    for doc in [*rendered.docs, rendered.pod_template()]:
        for pod in _pod_specs(doc):
            for c in pod.get("containers", []) + pod.get("initContainers", []):
                seen[f"{doc['kind']}/{doc.get('metadata', {}).get('name', '?')}/{c['name']}"] = c["image"]
    assert len(seen) >= 12, seen
    missing = {where: image for where, image in seen.items() if not image.endswith("@" + DIGEST)}
    assert not missing, f"images without the digest: {missing}"
    postgres = next(i for w, i in seen.items() if w.startswith("StatefulSet/"))
    assert postgres == f"docker.io/library/postgres@{DIGEST}"  # the subchart pins by digest instead of the tag
    repos = {image.split("@")[0].rsplit(":", 1)[0] for image in seen.values()}
    unused = {n for n in names if defaults["images"][n]["repository"] not in repos}
    assert not unused, f"images.* blocks no container used here: {unused} (switch on what starts them above)"
