"""airkube.metrics.health_summary: the figures `airkube status` prints, computed from REST API answers (recorded
shapes of Airflow 3.3's /api/v2 responses) and from a real Prometheus when the binary is built. The live path
(port-forwards, a real release and Prometheus) runs in tests/e2e/test_metrics.py."""
from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from airkube.metrics import Prometheus, PrometheusError, health_summary

NOW = datetime(2026, 12, 2, 15, 0, 0, tzinfo=UTC)
PROMETHEUS_BIN = Path(os.environ.get("AIRKUBE_CACHE", Path.home() / ".cache" / "airkube")) / "bin" / "prometheus-v0.316.0"


def iso(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")


class RecordedApi:
    """Answers like an Airflow 3.3 api-server (the fields health_summary reads), and records the queries."""

    def __init__(self, tis: list[dict[str, Any]], failed: int, import_errors: int) -> None:
        self.tis, self.failed, self.import_errors, self.calls = tis, failed, import_errors, []

    def health(self) -> dict[str, Any]:
        return {"metadatabase": {"status": "healthy"},
                "scheduler": {"status": "healthy", "latest_scheduler_heartbeat": iso(4)},
                "triggerer": {"status": "healthy", "latest_triggerer_heartbeat": iso(12.5)},
                "dag_processor": {"status": "healthy", "latest_dag_processor_heartbeat": iso(30)}}

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, **_: Any) -> tuple[int, Any]:
        self.calls.append((path, dict(params or {})))
        if path == "/api/v2/importErrors":
            return 200, {"import_errors": [], "total_entries": self.import_errors}
        if params and params.get("state") == "failed":
            return 200, {"task_instances": [], "total_entries": self.failed}
        off, lim = params["offset"], params["limit"]
        return 200, {"task_instances": self.tis[off:off + lim], "total_entries": len(self.tis)}


def test_summary_from_the_rest_api() -> None:
    # 150 task instances (two pages): waits 1..150 s -> median 75.5 s; one without queued_when is skipped
    tis = [{"queued_when": iso(600), "start_date": iso(600 - w)} for w in range(1, 151)]
    tis.append({"queued_when": None, "start_date": iso(10)})
    api = RecordedApi(tis, failed=3, import_errors=2)
    s = health_summary(api, now=NOW)
    assert s.scheduler_heartbeat_age_s == pytest.approx(4) and s.triggerer_heartbeat_age_s == pytest.approx(12.5)
    assert s.dag_processor_heartbeat_age_s == pytest.approx(30)
    assert s.import_errors == 2 and s.failed_last_hour == 3
    assert s.median_queued_to_running_s == pytest.approx(75.5) and s.queued_to_running_samples == 150
    since = (NOW - timedelta(hours=1)).isoformat()
    assert ("/api/v2/dags/~/dagRuns/~/taskInstances", {"state": "failed", "end_date_gte": since, "limit": 1,
                                                       "offset": 0}) in api.calls
    rows = dict(s.rows())
    assert rows["median queued → running (last hour)"] == "75.5 s (150 task instances)"


def test_no_task_instances() -> None:
    s = health_summary(RecordedApi([], failed=0, import_errors=0), now=NOW)
    assert s.median_queued_to_running_s is None and dict(s.rows())["task instances failed (last hour)"] == "0"


@pytest.fixture(scope="module")
def real_prometheus(tmp_path_factory):
    if not PROMETHEUS_BIN.exists():
        pytest.skip(f"{PROMETHEUS_BIN} not built: run `scripts/build-go.sh prometheus`")
    tmp = tmp_path_factory.mktemp("prom")
    (tmp / "p.yml").write_text("global: {scrape_interval: 1s}\nscrape_configs:\n"
                               "  - job_name: self\n    static_configs: [{targets: ['127.0.0.1:PORT']}]\n")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    (tmp / "p.yml").write_text((tmp / "p.yml").read_text().replace("PORT", str(port)))
    proc = subprocess.Popen([str(PROMETHEUS_BIN), f"--config.file={tmp / 'p.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=1)  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.2)
        yield Prometheus(url)
    finally:
        proc.terminate()
        proc.wait(10)


def test_prometheus_client_against_the_real_binary(real_prometheus: Prometheus) -> None:
    assert real_prometheus.value("1 + 1") == 2
    for _ in range(50):
        if real_prometheus.value('up{job="self"}') == 1:
            break
        time.sleep(0.2)
    assert real_prometheus.value('up{job="self"}') == 1
    assert real_prometheus.value("airflow_scheduler_heartbeat") is None  # empty vector
    with pytest.raises(PrometheusError, match="bad_data"):
        real_prometheus.value("sum(rate(x[5m])")
