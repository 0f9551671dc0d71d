"""What P6 installs: the DAG file (one DAG per N), the release values that put task pods on kwok's fake nodes, and
the settings compared (variants, applied with `helm upgrade` of the same release)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airkube.bench.scale.kwok import BENCH_LABEL, BENCH_LABEL_VALUE, task_pod_scheduling
from airkube.errors import BenchError
from airkube.values.inputs import ValuesInput

DAG_FILE = "bench_scale_dags.py"
DAGS_CONFIGMAP = "{release}-bench-scale-dags"  # extraObjects run through tpl, extraVolumes do not: named here
DAGS_FOLDER = "/opt/airflow/dags"  # dags.mountPath: the dags folder when DAGs come neither from a PVC nor git


def dag_id(n: int) -> str:
    return f"bench_scale_{n}"


# No "{{" in here: extraObjects run through helm's tpl (tests check the rendered ConfigMap holds this text exactly)
DAG_TEMPLATE = '''\
"""P6 of `airkube bench --scale`: one DAG per N, each one trivial task mapped over N inputs.

Their pods run on kwok's fake nodes: no Python runs in them, so the task instances' final states are an artefact
of the simulation, never a result.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

SIZES = __SIZES__


def scale_dag(n: int):
    @dag(dag_id=f"bench_scale_{n}", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
         catchup=False, max_active_runs=1, max_active_tasks=n, tags=["airkube", "bench", "p6"],
         default_args={"retries": 0})
    def bench_scale():
        @task(max_active_tis_per_dagrun=n)
        def noop(i: int) -> None:
            return None

        noop.expand(i=list(range(n)))

    return bench_scale()


for _n in SIZES:
    globals()[f"bench_scale_{_n}"] = scale_dag(_n)
'''


def dag_source(sizes: Sequence[int]) -> str:
    if not sizes or any(n < 1 for n in sizes):
        raise BenchError(f"--scale-n needs positive task counts, got {list(sizes)}")
    return DAG_TEMPLATE.replace("__SIZES__", repr(sorted(set(sizes))))


# ------------------------------------------------------------------------------------------------- variants
@dataclass(frozen=True)
class Variant:
    """One setting compared: chart values on top of the bench's own (``{}``: the chart defaults)."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


def _ex(**kw: Any) -> dict[str, Any]:
    return {"kubernetesExecutor": kw}


def _cfg(section: str, **kw: Any) -> dict[str, Any]:
    return {"config": {section: {k: str(v) for k, v in kw.items()}}}


def merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Deep merge, later layers win (maps merge, everything else is replaced), inputs untouched."""
    out: dict[str, Any] = {}
    for layer in layers:
        out = _merge2(out, layer)
    return out


def _merge2(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge2(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# A ladder from the chart's defaults before session 20 (batch 8, sequential creation, Airflow's max_tis_per_query
# 16, the provider's pod deletes per watch event): each step keeps the previous one's settings and changes one lever
# (its summary says the whole setting). Run in this order, the extremes first: a bench cut short still compares the
# defaults with all levers.
_PER_EVENT = _ex(skipRepeatedPodDeletes=False, asyncPodDeletion=False)
_OLD = merge(_ex(workerPodsCreationBatchSize=8, asyncPodCreation=False), _PER_EVENT,
             _cfg("scheduler", max_tis_per_query=16))
_B32 = merge(_OLD, _ex(workerPodsCreationBatchSize=32))
_ASYNC = merge(_B32, _ex(asyncPodCreation=True), _cfg("kubernetes_executor", pod_creation_max_concurrency=32))
_S20 = merge(_ASYNC, _cfg("scheduler", max_tis_per_query=128))  # the chart's defaults of session 20
_ONCE = merge(_S20, _ex(skipRepeatedPodDeletes=True))  # the chart's defaults = this + asyncPodDeletion
_PAR = _cfg("core", parallelism=512)  # on top of the chart's defaults from here on
_IDLE = merge(_PAR, _cfg("scheduler", scheduler_idle_sleep_time=0.25))
THROUGHPUT_FILE = Path(__file__).resolve().parents[4] / "values" / "throughput.yaml"  # the big-cluster variant


_BIG = ValuesInput(files=(THROUGHPUT_FILE,)).merged()  # the values layer's own loader (a missing file: ValuesError)
_DELETES = "each finished pod deleted once, off the scheduler loop"
BUILTIN_VARIANTS: tuple[Variant, ...] = (
    Variant("chart-defaults", {}, "the chart's defaults: batch 32, async creation (32 at once), max_tis_per_query "
            f"128, parallelism 64, Airflow's idle sleep 1 s; {_DELETES}"),
    Variant("big-cluster", _BIG, "values/throughput.yaml: batch 64 (async, 64 at once), parallelism 512, "
            f"scheduler_idle_sleep_time 0.25 s; max_tis_per_query 128; {_DELETES}"),
    Variant("sync-deletes", _S20, "the chart's defaults of session 20: the provider deletes a pod per watch event "
            "(3 DELETEs per task) in the scheduler loop; batch 32, async creation, max_tis_per_query 128"),
    Variant("old-defaults", _OLD, "the chart's defaults before session 20: batch 8, sequential creation, "
            "Airflow's max_tis_per_query 16, pod deletes per watch event (parallelism 64, idle sleep 1 s)"),
    Variant("batch-32", _B32, "batch 32; the rest as old-defaults"),
    Variant("async-32", _ASYNC, "batch 32, async_pod_creation with pod_creation_max_concurrency 32; "
            "max_tis_per_query 16, pod deletes per watch event"),
    Variant("deletes-once", _ONCE, "as sync-deletes, but each pod deleted once (still in the scheduler loop)"),
    Variant("parallelism-512", _PAR, "the chart's defaults with [core] parallelism 512"),
    Variant("idle-0.25", _IDLE, "the chart's defaults with parallelism 512 and scheduler_idle_sleep_time 0.25 s"),
)
# what `airkube bench --scale` runs without --variant (`make bench-scale`): the defaults, the fastest, and the
# defaults of the two sessions before (the whole ladder: name each variant)
DEFAULT_VARIANTS: tuple[Variant, ...] = tuple(
    v for v in BUILTIN_VARIANTS if v.name in ("chart-defaults", "big-cluster", "sync-deletes", "old-defaults"))


def parse_variant(text: str) -> Variant:
    """``NAME`` (one of the default variants) or ``NAME:key.path=value,key.path=value`` (chart values, YAML
    values, on top of the chart defaults), e.g. ``b64:kubernetesExecutor.workerPodsCreationBatchSize=64``."""
    from airkube.values.edit import parse_assignment, parse_value
    from airkube.values.yamlio import plain

    name, _, rest = text.partition(":")
    name = name.strip()
    known = {v.name: v for v in BUILTIN_VARIANTS}
    if not rest.strip():
        if name in known:
            return known[name]
        raise BenchError(f"--variant {text!r}: unknown variant; give one of {', '.join(known)} or "
                         "NAME:key.path=value,... (chart values)")
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise BenchError(f"--variant {text!r}: the name before ':' must be letters, digits, - or _")
    values: dict[str, Any] = {}
    for part in rest.split(","):
        if not part.strip():
            continue
        try:
            assignment = parse_assignment(part.strip())
        except Exception as exc:  # noqa: BLE001 - the values layer's own error, reworded for this option
            raise BenchError(f"--variant {text!r}: {exc}") from exc
        tree: Any = plain(parse_value(assignment.raw))
        for key in reversed(assignment.path):
            tree = {key: tree}
        values = merge(values, tree)
    return Variant(name, values, rest.strip())


# ---------------------------------------------------------------------------------------------- the release
def bench_values(sizes: Sequence[int], release: str) -> dict[str, Any]:
    """The values every variant shares: task pods on the fake nodes, N tasks allowed in flight, the DAG file
    mounted into the dag-processor from a ConfigMap of the release (no PVCs: a claim bound on the real node
    would pin the task pods there)."""
    biggest = max(sizes)
    configmap = DAGS_CONFIGMAP.format(release=release)
    return {
        "dags": {"persistence": {"enabled": False}},
        "logs": {"persistence": {"enabled": False}},
        "kubernetesPodOperator": {"enabled": False},
        "workers": task_pod_scheduling(),
        "dagProcessor": {
            "extraVolumes": [{"name": "bench-scale-dags", "configMap": {"name": configmap}}],
            "extraVolumeMounts": [{"name": "bench-scale-dags", "mountPath": f"{DAGS_FOLDER}/{DAG_FILE}",
                                   "subPath": DAG_FILE, "readOnly": True}],
        },
        "extraObjects": [{
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": configmap, "labels": {BENCH_LABEL: BENCH_LABEL_VALUE}},
            "data": {DAG_FILE: dag_source(sizes)},
        }],
        "config": {
            # default_pool_task_slot_count: the pool (128 slots by default) is created at `airflow db migrate` of
            # the fresh database; here task instances stay queued after their pod succeeded (they never ran), so
            # they hold their slot until the bench ends the run: with 128 slots a run stalls at 128 pods
            "core": {"max_active_tasks_per_dag": str(2 * biggest), "max_map_length": str(2 * biggest),
                     "default_pool_task_slot_count": str(2 * biggest)},
            # a slow variant may keep tasks queued for minutes: they must not be failed for it
            "scheduler": {"task_queued_timeout": "7200"},
        },
    }


def release_values(profile: dict[str, Any], variant: Variant, sizes: Sequence[int], release: str) -> dict[str, Any]:
    """The cluster profile's values (values/local.yaml), then the bench's, then the variant's."""
    return merge(profile, bench_values(sizes, release), variant.values)


# the settings reported per variant, read back from the rendered airflow.cfg: (section, key, Airflow's default)
LEVERS: tuple[tuple[str, str, str], ...] = (
    ("kubernetes_executor", "worker_pods_creation_batch_size", "1"),
    ("kubernetes_executor", "async_pod_creation", "False"),
    ("kubernetes_executor", "pod_creation_max_concurrency", "0"),
    ("core", "parallelism", "32"),
    ("scheduler", "max_tis_per_query", "16"),
    ("scheduler", "scheduler_idle_sleep_time", "1"),
)


def levers(airflow_cfg: str) -> dict[str, str]:
    """``section.key`` → value of each lever in an airflow.cfg text (Airflow's default when unset)."""
    import configparser

    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(airflow_cfg)
    return {f"{s}.{k}": cfg.get(s, k, fallback=default) for s, k, default in LEVERS}
