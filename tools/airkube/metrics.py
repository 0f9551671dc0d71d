"""Read Airflow's health from the REST API and, when there is one, from Prometheus (`airkube status`, e2e tests).

Standard library only. `Prometheus` is a small client of the HTTP API (`/api/v1/query`, `/api/v1/query_range`);
`health_summary` gathers the figures an operator looks at first: scheduler/triggerer heartbeat age, DAG import
errors, task instances failed in the last hour and the median queued → running time.
"""

from __future__ import annotations

import json
import statistics
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import AirkubeError

# PromQL over the chart's StatsD exporter names (metrics.prefix "airflow"): scheduler heartbeats counted in the last
# minute; more than 0 means a heartbeat less than a minute old (the scheduler beats every 5 s by default: ~12)
HEARTBEATS_LAST_MINUTE = "sum(increase(airflow_scheduler_heartbeat[1m]))"
# the same over OTLP (Prometheus adds _total to counters received over OTLP)
HEARTBEATS_LAST_MINUTE_OTLP = "sum(increase(airflow_scheduler_heartbeat_total[1m]))"
FAILED_LAST_HOUR = 'sum(increase(airflow_ti_finish{state="failed"}[1h]))'


class PrometheusError(AirkubeError):
    """A Prometheus HTTP API call failed or returned an error status."""


@dataclass
class Prometheus:
    base_url: str  # e.g. http://127.0.0.1:9090
    timeout: float = 15.0

    def _get(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.base_url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:  # noqa: S310 (loopback / in-cluster URL)
                body = json.loads(resp.read())
        except urllib.error.HTTPError as exc:  # 400/422/503 carry the error in a JSON body
            try:
                body = json.loads(exc.read())
            except ValueError:
                raise PrometheusError(f"Prometheus {url}: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise PrometheusError(f"Prometheus {url}: {exc}") from exc
        if body.get("status") != "success":
            raise PrometheusError(f"Prometheus {url}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """Instant vector (or scalar) result as (labels, value) pairs."""
        data = self._get("/api/v1/query", {"query": expr})
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def value(self, expr: str) -> float | None:
        """The single value of an expression that aggregates to one series, None when it is empty."""
        result = self.query(expr)
        return result[0][1] if result else None

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        data = self._get("/api/v1/query_range", {"query": expr, "start": str(start), "end": str(end), "step": str(step)})
        return [(r["metric"], [(float(t), float(v)) for t, v in r["values"]]) for r in data["result"]]


def _ts(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _age(text: str | None, now: datetime) -> float | None:
    when = _ts(text)
    return None if when is None else max(0.0, (now - when).total_seconds())


@dataclass
class HealthSummary:
    scheduler_heartbeat_age_s: float | None = None
    triggerer_heartbeat_age_s: float | None = None
    dag_processor_heartbeat_age_s: float | None = None
    import_errors: int | None = None
    failed_last_hour: int | None = None
    median_queued_to_running_s: float | None = None
    queued_to_running_samples: int = 0
    prometheus: dict[str, float | None] = field(default_factory=dict)
    prometheus_error: str = ""

    def rows(self) -> list[tuple[str, str]]:
        def sec(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f} s"
        rows = [("scheduler heartbeat age", sec(self.scheduler_heartbeat_age_s)),
                ("triggerer heartbeat age", sec(self.triggerer_heartbeat_age_s)),
                ("dag-processor heartbeat age", sec(self.dag_processor_heartbeat_age_s)),
                ("DAG import errors", "-" if self.import_errors is None else str(self.import_errors)),
                ("task instances failed (last hour)", "-" if self.failed_last_hour is None else str(self.failed_last_hour)),
                ("median queued → running (last hour)",
                 f"{sec(self.median_queued_to_running_s)} ({self.queued_to_running_samples} task instances)")]
        rows += [(f"prometheus: {k}", "-" if v is None else f"{v:g}") for k, v in self.prometheus.items()]
        return rows


def _paged(api: Any, path: str, params: dict[str, Any], key: str, limit: int = 100, pages: int = 10) -> tuple[int, list[dict[str, Any]]]:
    items: list[dict[str, Any]] = []
    total = 0
    for page in range(pages):
        _, data = api.request("GET", path, params={**params, "limit": limit, "offset": page * limit})
        total = int(data.get("total_entries", 0))
        items += list(data.get(key, []))
        if len(items) >= total or not data.get(key):
            break
    return total, items


def health_summary(api: Any, prometheus: Prometheus | None = None, now: datetime | None = None) -> HealthSummary:
    """`api` is an airkube.smoke.api.AirflowClient (logged in)."""
    now = now or datetime.now(UTC)
    health = api.health()
    out = HealthSummary(
        scheduler_heartbeat_age_s=_age((health.get("scheduler") or {}).get("latest_scheduler_heartbeat"), now),
        triggerer_heartbeat_age_s=_age((health.get("triggerer") or {}).get("latest_triggerer_heartbeat"), now),
        dag_processor_heartbeat_age_s=_age((health.get("dag_processor") or {}).get("latest_dag_processor_heartbeat"), now),
    )
    _, errors = api.request("GET", "/api/v2/importErrors", params={"limit": 1})
    out.import_errors = int(errors.get("total_entries", 0))
    since = (now - timedelta(hours=1)).isoformat()
    tis = "/api/v2/dags/~/dagRuns/~/taskInstances"
    out.failed_last_hour, _ = _paged(api, tis, {"state": "failed", "end_date_gte": since}, "task_instances", limit=1, pages=1)
    _, started = _paged(api, tis, {"start_date_gte": since}, "task_instances")
    waits = [(s - q).total_seconds() for ti in started
             if (q := _ts(ti.get("queued_when"))) and (s := _ts(ti.get("start_date"))) and s >= q]
    out.queued_to_running_samples = len(waits)
    out.median_queued_to_running_s = statistics.median(waits) if waits else None
    if prometheus is not None:
        for name, expr in (("scheduler heartbeats in the last minute", HEARTBEATS_LAST_MINUTE),
                           ("task instances failed, last hour", FAILED_LAST_HOUR),
                           ("scheduler loop p50 (s)", "histogram_quantile(0.5, sum by (le) "
                                                      "(rate(airflow_scheduler_scheduler_loop_duration_bucket[5m])))")):
            try:
                out.prometheus[name] = prometheus.value(expr)
            except PrometheusError as exc:
                out.prometheus[name] = None
                out.prometheus_error = str(exc)
    return out


def _prometheus_target(core: Any, namespace: str, spec: str | None) -> tuple[str | None, str | None, int]:
    """(url, service, port) of the Prometheus to read: a URL as given, `svc/NAME[:PORT]`, else a Service named
    `prometheus` in the namespace if there is one; (None, None, 0) when there is none."""
    if spec and spec.startswith(("http://", "https://")):
        return spec, None, 0
    name, port = "prometheus", 9090
    if spec:
        target = spec.removeprefix("svc/")
        name, _, p = target.partition(":")
        port = int(p) if p else 9090
    try:
        core.read_namespaced_service(name, namespace)
    except Exception:  # noqa: BLE001 - kubernetes ApiException (404) or no access: no Prometheus to read
        if spec:
            raise PrometheusError(f"--prometheus {spec}: no Service {name!r} in namespace {namespace!r}") from None
        return None, None, 0
    return None, name, port


def collect_health(kubeconfig: Any, kube_context: str | None, namespace: str, release: str,
                   prometheus: str | None = None) -> HealthSummary:
    """Port-forward to the release's api-server (and to Prometheus when one is found) and read the summary."""
    from contextlib import ExitStack

    from .kube import connect
    from .portforward import PortForward
    from .smoke.api import AirflowClient
    from .smoke.discovery import admin_credentials, find_api_service

    core = connect(kubeconfig, kube_context).core
    svc, port = find_api_service(core, namespace, release)
    user, password = admin_credentials(core, namespace, release)
    kc = str(kubeconfig) if kubeconfig else None
    with ExitStack() as stack:
        pf = stack.enter_context(PortForward(f"svc/{svc}", port, namespace=namespace, kube_context=kube_context,
                                             kubeconfig=kc))
        api = AirflowClient(pf.url, user, password)
        api.login()
        prom = None
        url, prom_svc, prom_port = _prometheus_target(core, namespace, prometheus)
        if prom_svc:
            url = stack.enter_context(PortForward(f"svc/{prom_svc}", prom_port, namespace=namespace,
                                                  kube_context=kube_context, kubeconfig=kc)).url
        if url:
            prom = Prometheus(url)
        return health_summary(api, prom)
