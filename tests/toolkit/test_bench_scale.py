"""P6 (`airkube bench --scale`): the pure parts — window rates and percentiles, the parsers of what the API server,
the kubelet and the scheduler say, kwok's configuration and fake nodes, the DAG file (parsed by real Airflow) and
the release values (rendered by the real helm). The live part runs with `make bench-scale`."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airkube-airflow-home-"))

from airkube.bench.scale import kwok
from airkube.bench.scale.probes import (
    PodStats,
    RequestSnapshot,
    footprint,
    parse_scheduler_log,
    pod_stats,
    request_rate,
    request_totals,
)
from airkube.bench.scale.report import best_variant, section, write_section
from airkube.bench.scale.values import (
    BUILTIN_VARIANTS,
    DEFAULT_VARIANTS,
    bench_values,
    dag_source,
    levers,
    parse_variant,
    release_values,
)
from airkube.bench.scale.windows import Distribution, growth_exponent, lags, percentile, window_rates
from airkube.errors import BenchError
from airkube.values.inputs import ValuesInput

ROOT = Path(__file__).resolve().parents[2]
SIZES = (100, 500, 2000)


# ------------------------------------------------------------------------------------------ rates, percentiles
def test_percentile_interpolates_like_numpy():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 95) == 10
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert percentile([5, 1, 3], 0) == 1 and percentile([5, 1, 3], 100) == 5
    with pytest.raises(ValueError):
        percentile([], 50)


def test_window_rates_of_a_steady_stream():
    times = [i / 20 for i in range(2001)]  # 20 events per second for 100 s
    rates = window_rates(times, window=10, step=1)
    assert len(rates) == 91  # windows starting at 0, 1, …, 90 s
    assert Distribution.of(rates).median == pytest.approx(20.0)


def test_window_rates_see_a_stall_that_the_mean_hides():
    # 20/s for 30 s, nothing for 60 s, 20/s for 30 s: the overall mean is 10/s; the windows show the stall (median)
    # and the pace while it ran (p95)
    times = [i / 20 for i in range(600)] + [90 + i / 20 for i in range(601)]
    rates = window_rates(times)
    dist = Distribution.of(rates)
    assert (len(times) - 1) / (times[-1] - times[0]) == pytest.approx(10.0)
    assert min(rates) == 0.0 and dist.median < 10.0 and dist.p95 == pytest.approx(20.0)


def test_a_burst_shorter_than_a_window_is_one_rate():
    assert window_rates([0.0, 0.5, 1.0, 2.0]) == [pytest.approx(1.5)]  # 3 intervals over 2 s
    assert window_rates([3.0]) == [] and window_rates([3.0, 3.0]) == []


def test_lags_pair_objects_by_name_and_growth_exponent():
    assert sorted(lags({"a": 1.0, "b": 2.0, "c": 5.0}, {"a": 1.5, "b": 4.0})) == [0.5, 2.0]
    assert growth_exponent([100, 500, 2000], [1, 5, 20]) == pytest.approx(1.0)
    assert growth_exponent([100, 500, 2000], [10, 10, 10]) == pytest.approx(0.0)
    assert growth_exponent([100], [1]) is None


# -------------------------------------------------------------------------------------------------- probes
METRICS = """\
# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1"} 120
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="status",verb="PATCH",version="v1"} 300
apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 1000
apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="POST",version="v1"} 2
apiserver_request_duration_seconds_bucket{le="0.005",resource="pods",verb="POST"} 99
"""


def test_request_totals_and_rate():
    totals = request_totals(METRICS)
    assert totals == {("POST", "pods"): 122, ("PATCH", "pods/status"): 300, ("PUT", "leases"): 1000}
    later = dict(totals)
    later[("POST", "pods")] += 200
    later[("PUT", "leases")] += 50
    rate = request_rate(RequestSnapshot(100.0, totals), RequestSnapshot(110.0, later))
    assert rate.per_s == pytest.approx(25.0)
    assert rate.pods_per_s == pytest.approx(20.0)
    assert rate.top[0] == ("POST pods", pytest.approx(20.0))


def _summary(cpu_ns: int, rss: int, when: str) -> dict:
    return {"pods": [
        {"podRef": {"name": "other", "namespace": "bench-scale"}, "cpu": {"usageCoreNanoSeconds": 1, "time": when}},
        {"podRef": {"name": "p6-scheduler-abc", "namespace": "bench-scale"},
         "cpu": {"time": when, "usageCoreNanoSeconds": cpu_ns},
         "memory": {"time": when, "workingSetBytes": rss + 10, "rssBytes": rss}},
    ]}


def test_pod_stats_and_footprint_bracket_the_run():
    stamps = ["2026-12-06T10:00:00Z", "2026-12-06T10:00:10.5Z", "2026-12-06T10:00:21Z", "2026-12-06T10:00:31Z"]
    samples = [pod_stats(_summary(cpu, rss, t), "bench-scale", "p6-scheduler-abc", 0.0)
               for cpu, rss, t in zip((1e9, 3e9, 9e9, 10e9), (100, 400, 300, 200), stamps)]
    assert all(s is not None for s in samples)
    assert samples[1].stats_time - samples[0].stats_time == pytest.approx(10.5)
    t = samples[0].stats_time
    fp = footprint([s for s in samples if s], start=t + 5, end=t + 20)  # between the 1st and 3rd measurement
    assert fp.cpu_s == pytest.approx(8.0) and fp.interval_s == pytest.approx(21.0)
    assert fp.peak_rss == 400 and fp.samples == 3
    assert pod_stats(_summary(1, 1, stamps[0]), "bench-scale", "missing", 0.0) is None
    assert footprint([PodStats(0, 0, 0, 0, 0)], 0, 1) is None


def _provider_format(text: str) -> str:
    """The log format string as it is in provider 10.25's executor source (fails when the provider changes it)."""
    import airflow.providers.cncf.kubernetes.executors as executors

    source = "".join((Path(executors.__file__).parent / name).read_text()
                     for name in ("kubernetes_executor.py", "kubernetes_executor_utils.py"))
    assert text in source, f"the executor no longer logs {text!r}: update airkube.bench.scale.probes"
    return text


def test_scheduler_log_lines_of_the_real_provider_are_recognised():
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.providers.cncf.kubernetes.executors.kubernetes_executor_types import KubernetesResults

    pod = "bench-scale-2000-noop-x7k2m9"
    key = TaskInstanceKey("bench_scale_2000", "noop", "p6-1", 1, 7)
    result = KubernetesResults(key, None, pod, "bench-scale", "4242", None)
    lines = [
        "2026-12-06T10:00:01.123456789Z " + _provider_format(
            '"Creating kubernetes pod for job is %s, with pod name %s, annotations: %s"').strip('"') % (
            key, pod, "{'dag_id': 'bench_scale_2000'}"),
        "2026-12-06T10:00:03.5Z " + _provider_format('"Event: %s Succeeded, annotations: %s"').strip('"') % (
            pod, "{'dag_id': 'bench_scale_2000'}"),
        "2026-12-06T10:00:04.000001Z " + _provider_format('"Changing state of %s to %s"').strip('"') % (result, None),
        f"2026-12-06T10:00:09Z Event: {pod} Succeeded, annotations: {{}}",  # the DELETED event: not the first
    ]
    log = parse_scheduler_log("\n".join(lines))
    t0 = datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC).timestamp()
    assert log.lines == 4
    assert log.requested[pod] == pytest.approx(t0 + 1.123456)
    assert log.watcher_succeeded[pod] == pytest.approx(t0 + 3.5)
    assert log.processed[pod] == pytest.approx(t0 + 4.000001, abs=1e-6)


# ---------------------------------------------------------------------------------------------------- kwok
def test_kwok_config_manages_only_annotated_nodes_and_opens_no_port():
    docs = list(yaml.safe_load_all(kwok.config_text()))
    conf = docs[0]
    assert conf["kind"] == "KwokConfiguration"
    options = conf["options"]
    assert options["manageAllNodes"] is False
    assert options["manageNodesWithAnnotationSelector"] == "kwok.x-k8s.io/node=fake"
    assert "serverAddress" not in options and "nodePort" not in options  # kwok starts no server without them
    stages = {d["metadata"]["name"]: d for d in docs[1:]}
    assert {d["kind"] for d in docs[1:]} == {"Stage"}
    assert set(stages) == {"node-initialize", "node-heartbeat", "pod-running", "pod-succeeded", "pod-delete"}
    assert stages["pod-running"]["spec"]["delay"]["durationMilliseconds"] == kwok.Timing().running_ms
    assert "phase: Succeeded" in stages["pod-succeeded"]["spec"]["next"]["statusTemplate"]
    assert stages["pod-delete"]["spec"]["next"] == {"delete": True}
    # no fake address anywhere: nothing may try to reach a fake node or pod
    text = kwok.config_text()
    for word in ("podIP", "hostIP", "addresses", "NodeIP", "kubeletEndpoint"):
        assert word not in text, word
    argv = kwok.kwok_argv(Path("/bin/kwok"), Path("/k"), Path("/c.yaml"))
    assert "--manage-all-nodes=false" in argv
    assert "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake" in argv


def _tolerates(tolerations: list[dict], taint: dict) -> bool:
    """Kubernetes' rule (v1.Toleration.ToleratesTaint) for Equal/Exists tolerations."""
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("key") != taint["key"]:
            continue
        if t.get("operator", "Equal") == "Exists" or t.get("value") == taint.get("value"):
            return True
    return False


def test_fake_nodes_are_valid_tainted_and_match_only_the_task_pods():
    import kubernetes_validate

    names = kwok.node_names(50)
    assert len(set(names)) == 50 and names[0] == "kwok-bench-000"
    node = kwok.fake_node(names[0])
    kubernetes_validate.validate(node, "1.34.0", strict=True)
    assert node["metadata"]["annotations"][kwok.MANAGE_ANNOTATION] == "fake"
    (taint,) = node["spec"]["taints"]
    assert taint["effect"] == "NoSchedule"
    scheduling = kwok.task_pod_scheduling()
    assert _tolerates(scheduling["tolerations"], taint)
    assert _tolerates([], taint) is False  # a pod without the toleration never lands there
    labels = node["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in scheduling["nodeSelector"].items())
    # every resource a task pod of the chart requests must exist on the node, or the pod never fits
    requests = yaml.safe_load((ROOT / "charts" / "airflow" / "values.yaml").read_text())["workers"]["resources"]
    assert set(requests["requests"]) <= set(node["status"]["allocatable"])
    with pytest.raises(BenchError):
        kwok.node_names(0)


# ----------------------------------------------------------------------------------------------- the DAGs
def test_dag_file_gives_one_dag_per_n_with_n_mapped_tasks(tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    path = tmp_path / "bench_scale_dags.py"
    path.write_text(dag_source(SIZES))
    bag = DagBag(dag_folder=str(path))
    assert bag.import_errors == {}
    assert sorted(bag.dags) == ["bench_scale_100", "bench_scale_2000", "bench_scale_500"]
    for n in SIZES:
        dag = bag.dags[f"bench_scale_{n}"]
        task = dag.get_task("noop")
        assert task.op_kwargs_expand_input.value["i"] == list(range(n))
        assert dag.max_active_tasks == n and dag.max_active_runs == 1
    with pytest.raises(BenchError):
        dag_source([])


# ----------------------------------------------------------------------------------------------- variants
def test_parse_variant():
    assert parse_variant("batch-32") == next(v for v in BUILTIN_VARIANTS if v.name == "batch-32")
    assert all(v in BUILTIN_VARIANTS for v in DEFAULT_VARIANTS) and DEFAULT_VARIANTS[0].name == "chart-defaults"
    assert len({v.name for v in BUILTIN_VARIANTS}) == len(BUILTIN_VARIANTS)
    v = parse_variant("b64:kubernetesExecutor.workerPodsCreationBatchSize=64,config.core.parallelism=256")
    assert v.name == "b64"
    assert v.values == {"kubernetesExecutor": {"workerPodsCreationBatchSize": 64}, "config": {"core": {"parallelism": 256}}}
    for bad in ("nope", "b:notanassignment", ":a=1"):
        with pytest.raises(BenchError):
            parse_variant(bad)


# ------------------------------------------------------------------------------------ values, real helm
def _profile() -> dict:
    return ValuesInput(files=(ROOT / "values" / "local.yaml",)).merged()


@pytest.mark.parametrize("variant", BUILTIN_VARIANTS, ids=lambda v: v.name)
def test_rendered_release_puts_task_pods_on_fake_nodes(helm, variant):
    rendered = helm.template(values=release_values(_profile(), variant, SIZES, "p6"), release="p6",
                             namespace="bench-scale")
    pod = rendered.pod_template("p6-airflow")
    spec = pod["spec"]
    assert spec["nodeSelector"] == {kwok.FAKE_NODE_LABEL: "kwok"}
    assert _tolerates(spec["tolerations"], kwok.fake_node("n")["spec"]["taints"][0])
    # no claim in a task pod: a claim bound on the real node would pin the pods there
    assert not [v for v in spec.get("volumes", []) if "persistentVolumeClaim" in v]
    assert rendered.names("PersistentVolumeClaim") == [] or all(
        "postgres" in n or "data" in n for n in rendered.names("PersistentVolumeClaim"))
    # the DAG file reaches the dag-processor from the release's own ConfigMap, unchanged by tpl
    cm = rendered.get("ConfigMap", "p6-bench-scale-dags")
    assert cm["data"]["bench_scale_dags.py"] == dag_source(SIZES)
    dp = rendered.deployment("dag-processor", "p6-airflow")["spec"]["template"]["spec"]
    (volume,) = [v for v in dp["volumes"] if v["name"] == "bench-scale-dags"]
    assert volume["configMap"]["name"] == cm["metadata"]["name"]  # the volume names the ConfigMap rendered
    mounts = [m for c in dp["containers"] for m in c.get("volumeMounts", []) if m["name"] == "bench-scale-dags"]
    assert mounts and mounts[0]["subPath"] == "bench_scale_dags.py"
    assert mounts[0]["mountPath"] == "/opt/airflow/dags/bench_scale_dags.py"
    cfg = rendered.airflow_cfg("p6-airflow")
    assert "dags_folder = /opt/airflow/dags" in cfg
    assert "max_active_tasks_per_dag = 4000" in cfg and "max_map_length = 4000" in cfg
    assert "default_pool_task_slot_count = 4000" in cfg  # 128 would stall every run at 128 pods
    got = levers(cfg)
    want = {"chart-defaults": ("32", "True", "0", "64", "128", "1"),  # concurrency 0 = the batch size
            "old-defaults": ("8", "False", "0", "64", "16", "1"),
            "batch-32": ("32", "False", "0", "64", "16", "1"),
            "async-32": ("32", "True", "32", "64", "16", "1"),
            "sync-deletes": ("32", "True", "32", "64", "128", "1"),
            "deletes-once": ("32", "True", "32", "64", "128", "1"),
            "parallelism-512": ("32", "True", "0", "512", "128", "1"),
            "idle-0.25": ("32", "True", "0", "512", "128", "0.25"),
            "big-cluster": ("64", "True", "0", "512", "128", "0.25")}[variant.name]
    assert tuple(got.values()) == want
    # the scheduler's pod deletes: per watch event in the variants before session 21, once and off the loop after
    deletes = {"old-defaults": None, "batch-32": None, "async-32": None, "sync-deletes": None,
               "deletes-once": "once"}.get(variant.name, "background")
    env = {e["name"]: e.get("value") for e in rendered.deployment("scheduler", "p6-airflow")["spec"]["template"]
           ["spec"]["containers"][0]["env"]}
    assert env.get("AIRKUBE_POD_DELETES") == deletes


def test_big_cluster_is_the_throughput_values_file():
    from airkube.bench.scale.values import THROUGHPUT_FILE

    big = next(v for v in BUILTIN_VARIANTS if v.name == "big-cluster")
    assert THROUGHPUT_FILE.is_file() and big.values  # an empty variant would be the chart defaults again
    assert big.values == ValuesInput(files=(THROUGHPUT_FILE,)).merged()


def test_a_custom_variant_reaches_airflow_cfg(helm):
    variant = parse_variant("b64:kubernetesExecutor.workerPodsCreationBatchSize=64,config.scheduler.max_tis_per_query=0")
    cfg = helm.template(values=release_values(_profile(), variant, (10,), "p6"), release="p6").airflow_cfg("p6-airflow")
    assert levers(cfg)["kubernetes_executor.worker_pods_creation_batch_size"] == "64"
    assert levers(cfg)["scheduler.max_tis_per_query"] == "0"
    assert bench_values((10,), "p6")["config"]["core"]["max_map_length"] == "20"


# ----------------------------------------------------------------------------------------------- report
def _run(variant: str, n: int, rate: float, cpu: float, complete: bool = True) -> dict:
    return {"variant": variant, "n": n, "complete": complete, "pods_per_s_windows": {"median": rate, "p95": rate},
            "scheduler": {"cpu_s": cpu, "peak_rss_mib": 300.0},
            "apiserver_requests": {"per_s": 50.0, "seconds": n / rate, "pods_per_s": 30.0},
            "trigger_to_all_pods_s": n / rate, "load_average": {"start": [1.0], "end": [2.0]}}


def test_best_variant_and_section_round_trip(tmp_path):
    runs = [_run("a", 100, 10, 5), _run("a", 2000, 10, 100), _run("b", 100, 30, 4), _run("b", 2000, 25, 90),
            _run("c", 2000, 40, 50, complete=False)]
    assert best_variant(runs) == "b"  # c was faster but did not finish
    assert best_variant([_run("c", 2000, 40, 50, complete=False)]) is None
    figs = {"cpus": 2, "load_average": {"start": [1, 1, 1], "end": [2, 2, 2]}, "kwok": {"version": "v0.8.0"},
            "variants": {"a": {"summary": "x", "levers": {"core.parallelism": "64"}}}, "runs": runs,
            "notes": ["artefact"]}
    text = section(figs, "airkube bench --scale", [])
    assert "`b`**, 25.0 pods/s" in text and "meets" in text
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\n## Tuning notes\n\nkept\n")
    write_section(page, text)
    write_section(page, text.replace("25.0 pods/s", "26.0 pods/s"))  # replaced in place, not appended twice
    body = page.read_text()
    assert body.count("## P6") == 1 and "26.0 pods/s" in body and body.startswith("# Benchmarks\n\n## Tuning notes")
