"""P6 out: a rich table, JSON, two PNG plots and the "P6" section of docs/benchmarks.md.

The section sits between two markers at the end of the page, after "## Tuning notes": `airkube bench` (P1–P5)
regenerates the page above that heading and keeps the rest, so both benches keep each other's figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from airkube.bench.scale.windows import growth_exponent
from airkube.fsutil import atomic_write

BEGIN = "<!-- P6 begin: written by `airkube bench --scale` -->"
END = "<!-- P6 end -->"
GOAL_PODS_PER_S = 20.0
PODS_PNG = "bench-p6-pods-per-s.png"
SCHEDULER_PNG = "bench-p6-scheduler.png"


def _get(run: dict[str, Any], *path: str) -> Any:
    value: Any = run
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _fmt(value: Any, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}{unit}"


def best_variant(runs: list[dict[str, Any]]) -> str | None:
    """The variant with the highest median pods/s at the largest N among complete runs (ties: less scheduler
    CPU); None when no run at that N completed."""
    if not runs:
        return None
    top = max(r["n"] for r in runs)
    candidates = [r for r in runs if r["n"] == top and r.get("complete") and _get(r, "pods_per_s_windows", "median")]
    if not candidates:
        return None
    best = max(candidates, key=lambda r: (_get(r, "pods_per_s_windows", "median"),
                                          -(_get(r, "scheduler", "cpu_s") or 0.0)))
    return str(best["variant"])


def cost_exponents(runs: list[dict[str, Any]], variant: str) -> dict[str, float | None]:
    """Growth of the scheduler's CPU-seconds, and of the API requests (rate × duration), with N: slope of log-log."""
    mine = [r for r in runs if r["variant"] == variant and r.get("complete")]
    ns = [float(r["n"]) for r in mine]
    cpu = [_get(r, "scheduler", "cpu_s") or 0.0 for r in mine]
    reqs = [(_get(r, "apiserver_requests", "per_s") or 0.0) * (_get(r, "apiserver_requests", "seconds") or 0.0)
            for r in mine]
    e_cpu, e_req = growth_exponent(ns, cpu), growth_exponent(ns, reqs)
    return {"cpu_s": None if e_cpu is None else round(e_cpu, 2), "requests": None if e_req is None else round(e_req, 2)}


COLUMNS = ("variant", "N", "trigger→N pods", "pods/s median / p95", "watcher lag median / p95",
           "loop took result median / p95", "scheduler CPU-s", "CPU-ms/task", "peak RSS", "API req/s (pods)",
           "load 1-min")


def rows(figs: dict[str, Any]) -> list[list[str]]:
    out = []
    for r in figs["runs"]:
        cpu = _get(r, "scheduler", "cpu_s")
        load = r.get("load_average") or {}
        out.append([
            r["variant"], str(r["n"]),
            _fmt(r.get("trigger_to_all_pods_s"), 1, " s") + ("" if r.get("complete") else " (incomplete)"),
            f"{_fmt(_get(r, 'pods_per_s_windows', 'median'))} / {_fmt(_get(r, 'pods_per_s_windows', 'p95'))}",
            f"{_fmt(_get(r, 'watcher_lag_s', 'median'), 2)} / {_fmt(_get(r, 'watcher_lag_s', 'p95'), 2)} s",
            f"{_fmt(_get(r, 'processed_lag_s', 'median'), 2)} / {_fmt(_get(r, 'processed_lag_s', 'p95'), 2)} s",
            _fmt(cpu, 1),
            _fmt(None if cpu is None else 1000 * cpu / r["n"], 0),
            _fmt(_get(r, "scheduler", "peak_rss_mib"), 0, " MiB"),
            f"{_fmt(_get(r, 'apiserver_requests', 'per_s'))} ({_fmt(_get(r, 'apiserver_requests', 'pods_per_s'))})",
            f"{(load.get('start') or ['-'])[0]} → {(load.get('end') or ['-'])[0]}",
        ])
    return out


def table(figs: dict[str, Any]) -> Table:
    t = Table(title="P6: KubernetesExecutor launch throughput on kwok fake nodes")
    for col in COLUMNS:
        t.add_column(col)
    for row in rows(figs):
        t.add_row(*row)
    return t


def write_json(figs: dict[str, Any], path: Path) -> None:
    atomic_write(path, (json.dumps(figs, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())


def write_plots(figs: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from airkube.bench.report import _save

    runs = [r for r in figs["runs"] if _get(r, "pods_per_s_windows", "median") is not None]
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    if not runs:
        return []
    written = []
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for v in variants:
        mine = sorted((r for r in runs if r["variant"] == v), key=lambda r: r["n"])
        ns = [r["n"] for r in mine]
        med = [_get(r, "pods_per_s_windows", "median") for r in mine]
        p95 = [_get(r, "pods_per_s_windows", "p95") for r in mine]
        line = ax.plot(ns, med, marker="o", label=f"{v} (median)")[0]
        ax.plot(ns, p95, linestyle=":", marker=".", color=line.get_color(), label=f"{v} (p95)")
    ax.axhline(GOAL_PODS_PER_S, color="grey", linestyle="--", linewidth=1, label=f"goal {GOAL_PODS_PER_S:.0f} pods/s")
    ax.set_xscale("log")
    ax.set_xticks(sorted({r["n"] for r in runs}), [str(n) for n in sorted({r["n"] for r in runs})])
    ax.set_xlabel("N mapped tasks in one DAG run")
    ax.set_ylabel("pods created per second (10 s windows)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    written.append(_save(fig, out_dir / PODS_PNG))
    plt.close(fig)

    fig, (cpu_ax, rss_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for v in variants:
        mine = sorted((r for r in runs if r["variant"] == v and r.get("scheduler")), key=lambda r: r["n"])
        ns = [r["n"] for r in mine]
        cpu_ax.plot(ns, [_get(r, "scheduler", "cpu_s") for r in mine], marker="o", label=v)
        rss_ax.plot(ns, [_get(r, "scheduler", "peak_rss_mib") for r in mine], marker="o", label=v)
    for ax, label in ((cpu_ax, "scheduler CPU-seconds per DAG run"), (rss_ax, "scheduler peak RSS (MiB)")):
        ax.set_xscale("log")
        ns = sorted({r["n"] for r in runs})
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.set_xlabel("N mapped tasks")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    fig.tight_layout()
    written.append(_save(fig, out_dir / SCHEDULER_PNG))
    plt.close(fig)
    return written


def section(figs: dict[str, Any], command: str, plots: list[Path]) -> str:
    """The markdown of the P6 section (markers included)."""
    load = figs.get("load_average") or {}
    kwok = figs.get("kwok") or {}
    best = best_variant(figs["runs"])
    lines = [
        BEGIN,
        "## P6: launch throughput to 2,000 tasks on kwok fake nodes", "",
        "Reproduce (local cluster up, images built: `make deploy` once):", "",
        "```sh", "make bench-scale   # = " + command, "```", "",
        f"{figs.get('cpus')} CPUs shared with the cluster itself; load average (1/5/15 min) {load.get('start')} at "
        f"the start, {load.get('end')} at the end. kwok {kwok.get('version')} runs as a host process managing "
        f"{kwok.get('nodes')} fake nodes (tainted, so only the bench's task pods land there); a pod on them turns "
        f"Running {kwok.get('running_ms')} ms after it is bound and Succeeded {kwok.get('succeeded_ms')} ms later. "
        "One release (`values/local.yaml` + the bench's values) is upgraded in place for each variant; each row is "
        "one DAG run of N mapped trivial tasks.", "",
        "**" + " ".join(figs.get("notes", [])[:1]) + "**", "",
        "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows(figs)]
    lines += ["", "Settings of each variant (read back from the release's airflow.cfg):", ""]
    first: dict[str, Any] = next(iter(figs["variants"].values()), {})
    lever_names = list(first.get("levers", {}))
    lines += ["| variant | what changes | " + " | ".join(lever_names) + " |",
              "|---|---|" + "---|" * len(lever_names)]
    for name, v in figs["variants"].items():
        lines.append(f"| {name} | {v.get('summary', '')} | "
                     + " | ".join(str(v.get("levers", {}).get(k, "")) for k in lever_names) + " |")
    lines.append("")
    if best:
        top = max(r["n"] for r in figs["runs"])
        row = next(r for r in figs["runs"] if r["variant"] == best and r["n"] == top)
        rate = _get(row, "pods_per_s_windows", "median")
        exps = cost_exponents(figs["runs"], best)
        verdict = "meets" if rate >= GOAL_PODS_PER_S else "misses"
        lines.append(f"**Fastest at N = {top}: `{best}`**, {rate:.1f} pods/s median over 10 s windows: it {verdict} "
                     f"the goal of {GOAL_PODS_PER_S:.0f} pods/s. Growth with N of its scheduler CPU-seconds "
                     f"∝ N^{exps['cpu_s']}, of its API requests ∝ N^{exps['requests']} (1 = linear).")
    else:
        lines.append("No run at the largest N completed: no variant is ranked.")
    lines += [""] + [f"![{p.stem}]({p.name})" for p in plots] + [
        "", "What each column is:", "",
        "- **trigger→N pods**: REST trigger call → the N-th pod seen by a watch of the bench (client clock).",
        "- **pods/s**: pods first seen per second in every 10 s window between the first and the last pod, sliding "
        "by 1 s; median and p95 of those windows (a run shorter than 10 s: one rate over its span).",
        "- **watcher lag**: the bench's watch sees a pod `Succeeded` → the executor's watcher process logs "
        "`Event: <pod> Succeeded` (provider 10.25, `kubernetes_executor_utils.py`); **loop took result**: → the "
        "scheduler loop logs `Changing state of KubernetesResults(… pod_name='<pod>' …)`. Log times are the "
        "container runtime's (`kubectl logs --timestamps`), the same machine's clock as the watch.",
        "- **scheduler CPU-s / peak RSS**: kubelet stats summary of the scheduler pod (`usageCoreNanoSeconds` "
        "delta between the kubelet measurements bracketing trigger → every pod processed; max `rssBytes` of the "
        "measurements, "
        "sampled every 2 s, which the kubelet refreshes every ~10 s).",
        "- **API req/s**: delta of `apiserver_request_total` (API server /metrics) over the run, all requests "
        "(kwok's status patches and node leases, the kube-scheduler's bindings and the bench's own watch "
        "included); in brackets those on pods and their subresources.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str) -> None:
    """Replace the P6 section of ``path`` (between the markers), or append it at the end."""
    page = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    start, end = page.find(BEGIN), page.find(END)
    if start >= 0 and end > start:
        page = page[:start] + text + page[end + len(END):].lstrip("\n")
    else:
        page = page.rstrip("\n") + "\n\n" + text
    atomic_write(path, page.encode())
