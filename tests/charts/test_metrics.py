"""Metrics (issue 11), no cluster: the StatsD exporter's objects, the [metrics] config every Airflow process reads
(task pods included), its NetworkPolicies, the mapping run through the real statsd_exporter binary, the
ServiceMonitor gate, the OpenTelemetry keys, the Grafana dashboard's PromQL parsed by promtool, and bad input.

The exporter/promtool halves skip, saying so, until `scripts/build-go.sh statsd-exporter` / `prometheus` has put
the binaries in ~/.cache/airkube/bin (the metrics e2e test builds them).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import KUBE_VERSIONS, ROOT, Rendered, kube_validate  # noqa: E402

pytestmark = pytest.mark.helm3

CACHE_BIN = Path(os.environ.get("AIRKUBE_CACHE", Path.home() / ".cache" / "airkube")) / "bin"
EXPORTER_BIN = CACHE_BIN / "statsd-exporter-v0.31.0"
PROMTOOL_BIN = CACHE_BIN / "promtool-v0.316.0"
PROMQL_PARSE_BIN = CACHE_BIN / "promql-parse-v0.316.0"  # Prometheus's parser package alone (make setup builds it)
PY = str(ROOT / ".venv/bin/python") if (ROOT / ".venv/bin/python").exists() else sys.executable
AIRFLOW_PKG = Path(subprocess.run([PY, "-c", "import airflow, os; print(os.path.dirname(airflow.__file__))"],
                                  capture_output=True, text=True).stdout.strip() or "/nonexistent")
METRICS_TEMPLATE = AIRFLOW_PKG / "_shared/observability/metrics/metrics_template.yaml"

ON = {"metrics": {"enabled": True}}
NAME = "airflow-statsd"


def _cfg(rendered: Rendered) -> dict[str, dict[str, str]]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(rendered.airflow_cfg())
    return {s: dict(parser[s]) for s in parser.sections()}


@pytest.fixture(scope="module")
def on(helm) -> Rendered:
    return helm.template(values={**ON, "networkPolicies": {"enabled": True}})


def test_off_by_default(default_render: Rendered) -> None:
    assert not [d for d in default_render.docs if "statsd" in d["metadata"]["name"]]
    assert "metrics" not in _cfg(default_render) and "traces" not in _cfg(default_render)


def test_exporter_objects_validate(on: Rendered) -> None:
    objs = [on.get(kind, NAME) for kind in ("Deployment", "Service", "ConfigMap")]
    for doc in objs:
        for version in KUBE_VERSIONS:
            kube_validate(doc, version)
        assert doc["metadata"]["labels"]["app.kubernetes.io/component"] == "statsd-exporter"
    svc = on.get("Service", NAME)
    assert {(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]} == \
        {("http-metrics", 9102, "TCP"), ("statsd-udp", 9125, "UDP")}


def test_exporter_security_defaults(on: Rendered) -> None:
    pod = on.get("Deployment", NAME)["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 65534
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsUser"] == 65534
    assert c["resources"]["limits"]["memory"] and c["resources"]["requests"]["cpu"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert c["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    assert c["image"] == "quay.io/prometheus/statsd-exporter:v0.31.0"
    assert "--statsd.mapping-config=/etc/statsd-exporter/mappings.yaml" in c["args"]


def test_security_override_merges(helm) -> None:
    r = helm.template(values={"metrics": {"enabled": True, "statsdExporter": {
        "securityContexts": {"pod": {"runAsUser": 1234}, "container": {"readOnlyRootFilesystem": False}}}}})
    pod = r.get("Deployment", NAME)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 1234 and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is False
    assert pod["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_metrics_config_for_every_process_and_task_pods(on: Rendered) -> None:
    m = _cfg(on)["metrics"]
    assert m == {"statsd_on": "True", "statsd_host": "airflow-statsd.airflow.svc", "statsd_port": "9125",
                 "statsd_prefix": "airflow"}
    # every Airflow container and the task pod template mount the one airflow.cfg of the config ConfigMap
    config_cm = "airflow-config"
    pods = [d["spec"]["template"]["spec"] for d in on.all("Deployment") if d["metadata"]["name"] != NAME]
    pods.append(on.pod_template()["spec"])
    for pod in pods:
        names = {v.get("configMap", {}).get("name") for v in pod["volumes"]}
        names |= {s.get("configMap", {}).get("name") for v in pod["volumes"]
                  for s in (v.get("projected") or {}).get("sources", [])}
        assert config_cm in names, pod["containers"][0]["name"]


def test_airflow_reads_the_statsd_config(on: Rendered, tmp_path: Path) -> None:
    """Airflow's own code picks the StatsD logger with the rendered host/port/prefix (a fresh interpreter)."""
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(on.airflow_cfg())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW_CONFIG=str(cfg),
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path}/a.db")
    probe = ("import json\nfrom airflow.configuration import conf\n"
             "from airflow.observability.metrics.stats_utils import get_stats_factory\n"
             "f = get_stats_factory()\n"
             "print(json.dumps({'factory': f.__module__ + '.' + f.__name__, 'host': conf.get('metrics', 'statsd_host'),"
             " 'port': conf.getint('metrics', 'statsd_port'), 'prefix': conf.get('metrics', 'statsd_prefix')}))\n")
    out = subprocess.run([PY, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"factory": "airflow.observability.metrics.statsd_logger.get_statsd_logger",
                   "host": "airflow-statsd.airflow.svc", "port": 9125, "prefix": "airflow"}


def test_user_config_wins(helm) -> None:
    r = helm.template(values={**ON, "config": {"metrics": {"statsd_prefix": "mine", "metrics_block_list": "x"}}})
    m = _cfg(r)["metrics"]
    assert m["statsd_prefix"] == "mine" and m["metrics_block_list"] == "x" and m["statsd_on"] == "True"


def test_task_pods_in_another_namespace(helm) -> None:
    r = helm.template(values={**ON, "networkPolicies": {"enabled": True},
                              "kubernetesExecutor": {"namespace": "tasks"}})
    assert _cfg(r)["metrics"]["statsd_host"] == "airflow-statsd.airflow.svc"  # namespace-qualified
    ingress = r.get("NetworkPolicy", "airflow-statsd-ingress")
    peers = ingress["spec"]["ingress"][0]["from"]
    assert {"kubernetes.io/metadata.name": "tasks"} in [p.get("namespaceSelector", {}).get("matchLabels") for p in peers]
    egress = [d for d in r.all("NetworkPolicy") if d["metadata"]["name"] == "airflow-metrics-egress"]
    assert sorted(d["metadata"]["namespace"] for d in egress) == ["airflow", "tasks"]
    tasks = next(d for d in egress if d["metadata"]["namespace"] == "tasks")
    (rule,) = tasks["spec"]["egress"]
    assert rule["ports"] == [{"port": 9125, "protocol": "UDP"}]
    assert rule["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "airflow"}


def test_network_policies(on: Rendered) -> None:
    ingress = on.get("NetworkPolicy", "airflow-statsd-ingress")
    assert ingress["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "statsd-exporter"
    udp, scrape = ingress["spec"]["ingress"]
    assert udp["ports"] == [{"port": 9125, "protocol": "UDP"}]
    assert udp["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "airflow",
                                                             "app.kubernetes.io/instance": "airflow"}}}]
    assert scrape == {"ports": [{"port": 9102, "protocol": "TCP"}]}  # scrapeFrom empty: from anywhere
    (egress,) = [d for d in on.all("NetworkPolicy") if d["metadata"]["name"] == "airflow-metrics-egress"]
    assert egress["spec"]["egress"][0]["ports"] == [{"port": 9125, "protocol": "UDP"}]
    for doc in (ingress, egress):
        kube_validate(doc, KUBE_VERSIONS[-1])


def test_scrape_from(helm) -> None:
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    r = helm.template(values={"metrics": {"enabled": True, "scrapeFrom": [peer]}, "networkPolicies": {"enabled": True}})
    assert r.get("NetworkPolicy", "airflow-statsd-ingress")["spec"]["ingress"][1]["from"] == [peer]


def _mapping(rendered: Rendered) -> dict[str, Any]:
    return yaml.safe_load(rendered.get("ConfigMap", NAME)["data"]["mappings.yaml"])


def test_extra_mappings_first_and_checksum(helm, on: Rendered) -> None:
    extra = {"match": "airflow.custom.*", "name": "airflow_custom", "labels": {"thing": "$1"}}
    r = helm.template(values={"metrics": {"enabled": True, "statsdExporter": {"extraMappings": [extra]}}})
    assert _mapping(r)["mappings"][0] == extra
    def checksum(x: Rendered) -> str:
        return x.get("Deployment", NAME)["spec"]["template"]["metadata"]["annotations"]["checksum/mappings"]
    assert checksum(r) != checksum(on)


def test_prefix_reaches_config_and_mapping(helm) -> None:
    r = helm.template(values={"metrics": {"enabled": True, "prefix": "af"}})
    assert _cfg(r)["metrics"]["statsd_prefix"] == "af"
    matches = [m["match"] for m in _mapping(r)["mappings"]]
    assert "af.ti.finish.*.*.*" in matches and not [m for m in matches if "airflow" in m]


# --- the mapping through the real exporter ---------------------------------------------------------------------

def _legacy_samples() -> list[tuple[str, str, dict[str, str]]]:
    """(statsd line, modern name, expected labels) for every legacy name of Airflow 3.3's metrics registry that the
    chart maps (edge/celery/OpenLineage names are other executors' or plugins')."""
    registry = yaml.safe_load(METRICS_TEMPLATE.read_text())["metrics"]
    out = []
    for m in registry:
        legacy = m.get("legacy_name") or "-"
        if legacy == "-" or legacy.startswith(("edge_worker", "ol.")):
            continue
        import re

        names = re.findall(r"\{(\w+)\}", legacy)
        values = {n: f"v{i}{n.replace('_', '')}" for i, n in enumerate(names)}
        kind = {"counter": "c", "gauge": "g", "timer": "ms"}[m["type"]]
        out.append((f"airflow.{legacy.format(**values)}:7|{kind}", m["name"], values))
    return out


@pytest.fixture(scope="module")
def exporter(on: Rendered, tmp_path_factory) -> Any:
    if not EXPORTER_BIN.exists():
        pytest.skip(f"{EXPORTER_BIN} not built: run `scripts/build-go.sh statsd-exporter`")
    tmp = tmp_path_factory.mktemp("exporter")
    cfg = tmp / "mappings.yaml"
    cfg.write_text(on.get("ConfigMap", NAME)["data"]["mappings.yaml"])
    check = subprocess.run([str(EXPORTER_BIN), f"--statsd.mapping-config={cfg}", "--check-config"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    udp_port, web_port = udp.getsockname()[1], tcp.getsockname()[1]
    udp.close()
    tcp.close()
    proc = subprocess.Popen([str(EXPORTER_BIN), f"--statsd.mapping-config={cfg}",
                             f"--statsd.listen-udp=127.0.0.1:{udp_port}", "--statsd.listen-tcp=",
                             f"--web.listen-address=127.0.0.1:{web_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{web_port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/-/healthy", timeout=1)  # noqa: S310 - loopback
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield udp_port, base
    finally:
        proc.terminate()
        proc.wait(10)


def _scrape(base: str) -> str:
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as resp:  # noqa: S310 - loopback
        return resp.read().decode()


def test_every_legacy_name_becomes_a_labelled_metric(exporter) -> None:
    udp_port, base = exporter
    samples = _legacy_samples()
    assert len(samples) >= 30, "Airflow's metrics registry moved?"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for line, modern, _ in samples:
        sock.sendto(line.encode(), ("127.0.0.1", udp_port))
        sock.sendto(f"airflow.{modern}:1|c".encode(), ("127.0.0.1", udp_port))  # the variable-free copy
    time.sleep(0.5)
    text = _scrape(base)
    series = [ln for ln in text.splitlines() if ln.startswith("airflow_")]
    for line, _modern, labels in samples:
        want = [f'="{v}"' for v in labels.values()]  # label names are the chart's: pool, executor, file, …
        hits = [s for s in series if all(w in s for w in want)]
        assert hits, f"{line}: no series carries the labels {want}"
        name = hits[0].split("{", 1)[0]
        assert not any(v in name for v in labels.values()), f"{line}: a variable stayed in the name {name}"
    # the modern copies were dropped: no series of a labelled name without labels
    labelled = {s.split("{", 1)[0] for s in series if "{" in s}
    bare = {s.split(" ", 1)[0] for s in series if "{" not in s}
    assert not labelled & bare, labelled & bare
    print(f"\n[metrics] {len(samples)} legacy names -> labelled series, e.g. "
          + next(s for s in series if s.startswith("airflow_ti_finish")))


def test_timer_is_a_histogram_in_seconds(exporter) -> None:
    udp_port, base = exporter
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(b"airflow.dag.d1.t1.queued_duration:1500|ms", ("127.0.0.1", udp_port))
    sock.sendto(b"airflow.scheduler_heartbeat:1|c", ("127.0.0.1", udp_port))
    time.sleep(0.3)
    text = _scrape(base)
    assert 'airflow_task_queued_duration_seconds_sum{dag_id="d1",task_id="t1"} 1.5' in text
    assert 'airflow_task_queued_duration_seconds_bucket{dag_id="d1",task_id="t1",le="2.5"} 1' in text
    assert "\nairflow_scheduler_heartbeat " in text


# --- bad input: refused by helm (schema) and by `airkube values validate`, naming the key -----------------------

BAD = [
    ("prefix-with-dash", {"metrics": {"prefix": "air-flow"}}, "metrics.prefix"),
    ("enabled-string", {"metrics": {"enabled": "yes"}}, "metrics.enabled"),
    ("statsd-port-range", {"metrics": {"service": {"statsdPort": 70000}}}, "metrics.service.statsdPort"),
    ("ttl-not-duration", {"metrics": {"statsdExporter": {"ttl": "forever"}}}, "metrics.statsdExporter.ttl"),
    ("mapping-without-match", {"metrics": {"statsdExporter": {"extraMappings": [{"name": "x"}]}}},
     "metrics.statsdExporter.extraMappings[0]"),
    ("exporter-unknown-key", {"metrics": {"statsdExporter": {"image": "x"}}}, "metrics.statsdExporter.image"),
    ("exporter-tag-number", {"images": {"statsdExporter": {"tag": 0.31}}}, "images.statsdExporter.tag"),
    ("servicemonitor-interval", {"metrics": {"serviceMonitor": {"interval": "30"}}}, "metrics.serviceMonitor.interval"),
    ("otel-endpoint-not-url", {"metrics": {"otel": {"endpoint": "otel:4318"}}}, "metrics.otel.endpoint"),
    ("otel-interval-zero", {"metrics": {"otel": {"intervalMilliseconds": 0}}}, "metrics.otel.intervalMilliseconds"),
]


@pytest.mark.parametrize("case_id, values, key", BAD, ids=[c[0] for c in BAD])
def test_bad_metrics_values(helm, tmp_path: Path, case_id: str, values: dict, key: str) -> None:
    from test_bad_input import _airkube, names_key

    path = tmp_path / f"{case_id}.yaml"
    path.write_text(yaml.safe_dump(values))
    rendered = helm.run("template", "airflow", str(ROOT / "charts/airflow"), "--kube-version", KUBE_VERSIONS[-1],
                        "-f", str(path), check=False)
    assert rendered.returncode != 0 and names_key(rendered.stderr, key), rendered.stderr
    checked = _airkube("values", "validate", str(path))
    output = " ".join((checked.stdout + checked.stderr).split())
    assert checked.returncode == 1 and names_key(output, key), output


# --- ServiceMonitor ------------------------------------------------------------------------------------------------

SM_API = ("--api-versions", "monitoring.coreos.com/v1/ServiceMonitor")


def test_servicemonitor_fails_without_the_api(helm) -> None:
    err = helm.template_error(values={"metrics": {"enabled": True, "serviceMonitor": {"enabled": True}}})
    assert "metrics.serviceMonitor.enabled is true but the cluster does not serve monitoring.coreos.com/v1" in err
    assert "metrics.serviceMonitor.force=true" in err


@pytest.mark.parametrize("how", ["api-present", "forced"])
def test_servicemonitor_renders(helm, how: str) -> None:
    sm_values = {"enabled": True, "labels": {"release": "kube-prometheus"}, "force": how == "forced"}
    r = helm.template(values={"metrics": {"enabled": True, "serviceMonitor": sm_values}},
                      extra=SM_API if how == "api-present" else ())
    sm = r.get("ServiceMonitor", NAME)
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus"
    assert sm["spec"]["selector"]["matchLabels"] == r.get("Service", NAME)["spec"]["selector"]
    (ep,) = sm["spec"]["endpoints"]
    assert ep["port"] == "http-metrics" and ep["interval"] == "30s" and ep["scrapeTimeout"] == "10s"
    assert sm["spec"]["namespaceSelector"] == {"matchNames": ["airflow"]}


def test_no_servicemonitor_by_default(helm) -> None:
    r = helm.template(values=ON, extra=SM_API)
    assert not r.all("ServiceMonitor")


# --- OpenTelemetry -------------------------------------------------------------------------------------------------

OTEL_URL = "http://prometheus.monitoring.svc:9090/api/v1/otlp/v1/metrics"
OTEL = {"metrics": {"otel": {"enabled": True, "endpoint": OTEL_URL, "intervalMilliseconds": 5000,
                             "traces": {"enabled": True, "endpoint": "https://collector:4318/v1/traces"}}},
        "networkPolicies": {"enabled": True}}


@pytest.fixture(scope="module")
def otel(helm) -> Rendered:
    return helm.template(values=OTEL)


def test_otel_config_and_env_everywhere(otel: Rendered) -> None:
    cfg = _cfg(otel)
    assert cfg["metrics"] == {"otel_on": "True", "otel_prefix": "airflow"} and cfg["traces"] == {"otel_on": "True"}
    assert not [d for d in otel.docs if "statsd" in d["metadata"]["name"]]
    containers = [c for d in otel.all("Deployment") for c in d["spec"]["template"]["spec"]["containers"]
                  if c["image"].startswith(("apache/airflow", "airkube.local/airflow"))]
    containers.append(next(c for c in otel.pod_template()["spec"]["containers"] if c["name"] == "base"))
    assert len(containers) >= 5
    for c in containers:
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] == OTEL_URL, c["name"]
        assert env["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"] == "http/protobuf"
        assert env["OTEL_METRIC_EXPORT_INTERVAL"] == "5000" and env["OTEL_SERVICE_NAME"] == "airflow"
        assert env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == "https://collector:4318/v1/traces"
        assert env["OTEL_RESOURCE_ATTRIBUTES"] == "service.instance.id=$(AIRKUBE_POD_NAME)"
        names = [e["name"] for e in c["env"]]
        assert names.index("AIRKUBE_POD_NAME") < names.index("OTEL_RESOURCE_ATTRIBUTES")  # dependent expansion


def test_otel_egress_ports(otel: Rendered) -> None:
    (egress,) = [d for d in otel.all("NetworkPolicy") if d["metadata"]["name"] == "airflow-metrics-egress"]
    assert egress["spec"]["egress"] == [{"ports": [{"port": 9090, "protocol": "TCP"}, {"port": 4318, "protocol": "TCP"}]}]


def test_airflow_reads_the_otel_config(otel: Rendered, tmp_path: Path) -> None:
    """Airflow picks its OTel logger and the SDK endpoint the chart sets (a fresh interpreter, the pod's env)."""
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(otel.airflow_cfg())
    pod_env = {e["name"]: e["value"].replace("$(AIRKUBE_POD_NAME)", "sched-1") for e in
               otel.deployment("scheduler")["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"].startswith("OTEL_")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OTEL_"))}
    env.update(pod_env, AIRFLOW_HOME=str(tmp_path), AIRFLOW_CONFIG=str(cfg),
               AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path}/a.db")
    probe = ("import json\nfrom airflow.configuration import conf\n"
             "from airflow.observability.metrics.stats_utils import get_stats_factory\n"
             "from airflow._shared.observability.otel_env_config import load_otel_env_config, OtelDataType\n"
             "f = get_stats_factory(); c = load_otel_env_config(OtelDataType.METRICS)\n"
             "print('RESULT', json.dumps({'factory': f.__module__, 'endpoint': c.type_specific_endpoint, 'interval': c.interval_ms,"
             " 'traces': conf.getboolean('traces', 'otel_on')}))\n")
    out = subprocess.run([PY, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))[7:])
    assert got == {"factory": "airflow.observability.metrics.otel_logger", "endpoint": OTEL_URL, "interval": 5000.0,
                   "traces": True}


def test_statsd_and_otel_together_refused(helm) -> None:
    err = helm.template_error(values={"metrics": {"enabled": True, "otel": {"enabled": True, "endpoint": OTEL_URL}}})
    assert "StatsD would silently win" in err and "metrics.otel.enabled" in err


# --- Grafana dashboard -----------------------------------------------------------------------------------------

DASHBOARD = ROOT / "charts/airflow/files/grafana-dashboard.json"


def dashboard_exprs(text: str | None = None) -> list[tuple[str, str]]:
    data = json.loads(text if text is not None else DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in data["panels"] for t in p["targets"]]


def test_dashboard_configmap(helm) -> None:
    r = helm.template(values={"metrics": {"enabled": True, "prefix": "af", "dashboard": {"enabled": True,
                                                                                        "annotations": {"grafana_folder": "Airflow"}}}})
    cm = r.get("ConfigMap", "airflow-grafana-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["annotations"] == {"grafana_folder": "Airflow"}
    exprs = dashboard_exprs(cm["data"]["airflow-dashboard.json"])
    assert exprs and all("airflow_" not in e and "af_" in e for _, e in exprs)
    assert not helm.template(values=ON).find("ConfigMap", "airflow-grafana-dashboard")  # opt-in


def test_dashboard_panels_cover_the_issue() -> None:
    titles = " | ".join(t for t, _ in dashboard_exprs()).lower()
    for want in ("tasks started, finished and failed", "queued → running", "scheduler loop", "parse time",
                 "import errors", "pool slots"):
        assert want in titles, want


def test_dashboard_promql_parses_with_prometheus_parser() -> None:
    """Every panel query through Prometheus 3.16's own parser (promql/parser, scripts/build/promql-parse)."""
    if not PROMQL_PARSE_BIN.exists():
        pytest.skip(f"{PROMQL_PARSE_BIN} not built: run `scripts/build-go.sh promql-parse` (make setup does)")
    exprs = [e for _, e in dashboard_exprs()]
    res = subprocess.run([str(PROMQL_PARSE_BIN)], input=json.dumps(exprs + ["sum(rate(x[5m])"]), capture_output=True,
                         text=True, timeout=60)
    results = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(results) == len(exprs) + 1 and res.returncode == 1  # the deliberately broken last one fails
    bad = [r for r in results[:-1] if not r["ok"]]
    assert not bad, bad
    assert all(r["type"] == "vector" for r in results[:-1])
    assert "unclosed left parenthesis" in results[-1]["error"]


def test_dashboard_promql_parses_with_promtool(tmp_path: Path) -> None:
    """Every panel query through Prometheus's own parser: promtool checks a rules file with one recording rule per
    query (a broken query fails the check naming it)."""
    if not PROMTOOL_BIN.exists():
        pytest.skip(f"{PROMTOOL_BIN} not built: run `scripts/build-go.sh prometheus`")
    exprs = dashboard_exprs()
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:q{i}", "expr": e}
                                                        for i, (_, e) in enumerate(exprs)]}]}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    res = subprocess.run([str(PROMTOOL_BIN), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in res.stdout
    # the check can fail: a broken query is refused
    path.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [{"record": "r", "expr": "sum(rate(x[5m])"}]}]}))
    bad = subprocess.run([str(PROMTOOL_BIN), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0


PROMETHEUS_BIN = CACHE_BIN / "prometheus-v0.316.0"
TASK = """
from airflow.sdk._shared.observability.metrics import stats
from airflow.sdk.observability.metrics import stats_utils
from airflow.sdk.configuration import conf
stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=conf.getboolean("metrics", "legacy_names_on"))
stats.incr("ti.finish", tags={"dag_id": "smoke_executor", "task_id": "fan", "state": "success"})
"""


def test_otlp_from_short_lived_task_processes(otel: Rendered, tmp_path: Path) -> None:
    """The OTLP path end to end without a cluster: two "task pods" (fresh interpreters running the Task SDK's own
    stats code, as task_runner.main does, with the rendered airflow.cfg and the pod env) each count one ti.finish and
    exit; our Prometheus 3.16 build (--web.enable-otlp-receiver) must hold both, as separate series (the chart's
    service.instance.id), so that sum() is 2 — and under the name the e2e test and the docs use."""
    if not PROMETHEUS_BIN.exists():
        pytest.skip(f"{PROMETHEUS_BIN} not built: run `scripts/build-go.sh prometheus`")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    (tmp_path / "p.yml").write_text("global: {scrape_interval: 15s}\n")
    prom = subprocess.Popen([str(PROMETHEUS_BIN), f"--config.file={tmp_path / 'p.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--web.enable-otlp-receiver"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cfg = tmp_path / "airflow.cfg"
        cfg.write_text(otel.airflow_cfg())
        container = otel.pod_template()["spec"]["containers"][0]
        procs = []
        for pod in ("task-pod-1", "task-pod-2"):
            env = {e["name"]: e["value"].replace("$(AIRKUBE_POD_NAME)", pod) for e in container["env"]
                   if e["name"].startswith("OTEL_") and "value" in e}
            env.update(OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=f"http://127.0.0.1:{port}/api/v1/otlp/v1/metrics",
                       PATH=os.environ["PATH"], HOME=str(tmp_path), AIRFLOW_HOME=str(tmp_path), AIRFLOW_CONFIG=str(cfg),
                       AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path}/a.db")
            assert env["OTEL_RESOURCE_ATTRIBUTES"] == f"service.instance.id={pod}"
            procs.append(subprocess.Popen([PY, "-c", TASK], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
        for p in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err[-2000:]
        from airkube.metrics import Prometheus

        client = Prometheus(f"http://127.0.0.1:{port}")
        query = 'sum(airflow_ti_finish_total{dag_id="smoke_executor",task_id="fan",state="success"})'
        got = None
        for _ in range(50):
            got = client.value(query)
            if got == 2:
                break
            time.sleep(0.2)
        assert got == 2, f"{query} = {got}"  # flushed at exit, one series per process
        instances = {labels["instance"] for labels, _ in client.query('airflow_ti_finish_total{dag_id="smoke_executor"}')}
        assert instances == {"task-pod-1", "task-pod-2"}
    finally:
        prom.terminate()
        prom.wait(10)
