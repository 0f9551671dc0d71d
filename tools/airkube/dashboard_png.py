"""Render the chart's Grafana dashboard (charts/airflow/files/grafana-dashboard.json) as one PNG with matplotlib,
from the same PromQL queries over a real Prometheus: the README picture comes from real data of an e2e run."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

from .fsutil import atomic_write
from .metrics import Prometheus, PrometheusError


def _legend(template: str, labels: dict[str, str]) -> str:
    out = template
    for key, value in labels.items():
        out = out.replace("{{" + key + "}}", value)
    return out


def render_dashboard(prom: Prometheus, dashboard: Path, out: Path, minutes: int = 15, step: float = 15.0) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    panels = json.loads(dashboard.read_text())["panels"]
    end = time.time()
    start = end - minutes * 60
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(14, 3.2 * rows), squeeze=False)
    for ax, panel in zip((a for row in axes for a in row), panels, strict=False):
        ax.set_title(panel["title"], fontsize=10, loc="left")
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        drawn = 0
        for target in panel["targets"]:
            try:
                series = prom.query_range(target["expr"], start, end, step)
            except PrometheusError:
                series = []
            for labels, points in series:
                if not points:
                    continue
                xs = [datetime.fromtimestamp(t) for t, _ in points]
                ys = [v for _, v in points]
                label = _legend(target.get("legendFormat") or target["expr"], labels)
                if panel["type"] == "stat":
                    ax.text(0.5, 0.45, f"{ys[-1]:g}", fontsize=36, ha="center", va="center", transform=ax.transAxes)
                    ax.text(0.5, 0.12, label, fontsize=9, ha="center", transform=ax.transAxes)
                    ax.set_xticks([])
                    ax.set_yticks([])
                else:
                    ax.plot(xs, ys, label=label, linewidth=1.4)
                drawn += 1
        if panel["type"] != "stat":
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
            ax.set_ylabel(unit if unit != "short" else "", fontsize=8)
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.3)
            if drawn:
                ax.legend(fontsize=7, loc="upper left")
        if not drawn:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
    for ax in [a for row in axes for a in row][len(panels):]:
        ax.axis("off")
    fig.suptitle(f"Airflow (airkube) — real data from the metrics e2e run, last {minutes} min", fontsize=12)
    fig.tight_layout()
    tmp = out.with_suffix(".tmp.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    atomic_write(out, tmp.read_bytes())
    tmp.unlink()
    return out
