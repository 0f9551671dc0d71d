"""Figures out: a rich table, the JSON the issue asks for, docs/benchmarks.md and two PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from airkube.bench.runner import BenchResult
from airkube.fsutil import atomic_write

GOALS = {"p1_ratio": 1.3, "p2_ratio": 1.3, "p3_install_s": 25.0, "p3_first_task_s": 45.0, "p5_idle_gib": 0.9}


def figures_table(result: BenchResult) -> Table:
    figs = result.figures()
    table = Table(title="airkube bench (ours ÷ bare pods; medians \\[min–max])")
    for col in ("figure", "value", "goal", "ok"):
        table.add_column(col)
    rows = [
        ("P1 trivial task latency", "p1_ratio", _pair(figs, "p1_ours_s", "p1_bare_s")),
        ("P2 fan-out makespan", "p2_ratio", _pair(figs, "p2_ours_s", "p2_bare_s")),
        ("P3 install --wait", "p3_install_s", f"upgrade unchanged {figs.get('p3_upgrade_unchanged_s', '-')}s"),
        ("P3 install → first smoke task green", "p3_first_task_s", str(figs.get("p3_first_task_steps_s", ""))),
        ("P4 helm template", "p4_render_s", f"{figs.get('p4_render_objects', '-')} objects"),
        ("P5 idle memory", "p5_idle_gib", str(figs.get("p5_by_component_mib", ""))),
    ]
    for label, key, detail in rows:
        value = figs.get(key)
        goal = GOALS.get(key)
        ok = "" if value is None or goal is None else ("yes" if value <= goal else "NO")
        table.add_row(label, f"{key}={value}  {detail}", f"≤ {goal}" if goal else "-", ok)
    return table


def _pair(figs: dict, ours: str, bare: str) -> str:
    if ours not in figs:
        return ""
    return f"ours {figs[ours]['median']}s vs bare {figs[bare]['median']}s"


def write_json(result: BenchResult, path: Path) -> None:
    atomic_write(path, (json.dumps(result.figures(), indent=2, sort_keys=True) + "\n").encode())


P1_PHASES = ("trigger→queued", "queued→pod created", "pod created→container started",
             "container started→task running", "task running→finished", "finished→state recorded")
BARE_PHASES = ("pod created→container started", "container started→Succeeded seen")


def _in_order(parts: dict[str, float], order: tuple[str, ...]) -> dict[str, float]:
    """The phases in time order (the JSON file has its keys sorted)."""
    return {**{k: parts[k] for k in order if k in parts}, **{k: v for k, v in parts.items() if k not in order}}


def write_plots(result: BenchResult, out_dir: Path) -> list[Path]:
    return plots_from_figures(result.figures(), out_dir)


def plots_from_figures(figs: dict, out_dir: Path) -> list[Path]:
    """The two PNGs from the figures dict alone (so `docs/benchmarks.json` can be re-plotted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    if "p1_breakdown_s" in figs:
        parts = _in_order(figs["p1_breakdown_s"], P1_PHASES)
        fig, ax = plt.subplots(figsize=(9, 3.2))
        left = 0.0
        for name, seconds in parts.items():
            ax.barh(["KubernetesExecutor task"], [max(seconds, 0)], left=left, label=name)
            left += max(seconds, 0)
        bare_parts = _in_order(figs.get("p1_bare_breakdown_s") or {"created→Succeeded": figs["p1_bare_s"]["median"]},
                               BARE_PHASES)
        left = 0.0
        for (name, seconds), color in zip(bare_parts.items(), ("silver", "grey")):
            ax.barh(["bare pod"], [max(seconds, 0)], left=left, color=color, label=f"bare pod: {name}")
            left += max(seconds, 0)
        ax.set_xlabel("seconds (median of each phase; startedAt has 1 s resolution)")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.45, -0.3), ncol=2)
        fig.tight_layout()
        written.append(_save(fig, out_dir / "bench-p1-breakdown.png"))
        plt.close(fig)
    curves = figs.get("p2_completions_s") or {}
    if curves.get("ours") and curves.get("bare"):
        fig, ax = plt.subplots(figsize=(7.5, 3.8))
        styles = ("-", "--", ":", "-.")
        for i, (ours, bare) in enumerate(zip(curves["ours"], curves["bare"])):
            ls = styles[i % len(styles)]
            ax.step(ours, range(1, len(ours) + 1), where="post", color="tab:blue", linestyle=ls,
                    label=f"run {i + 1}: KubernetesExecutor, one mapped task (TI end_date)")
            ax.step(bare, range(1, len(bare) + 1), where="post", color="grey", linestyle=ls,
                    label=f"run {i + 1}: bare pods created at once (Succeeded seen)")
        ax.set_xlabel("seconds after trigger / first create")
        ax.set_ylabel("tasks finished")
        ax.legend(fontsize=7)
        fig.tight_layout()
        written.append(_save(fig, out_dir / "bench-p2-fanout.png"))
        plt.close(fig)
    return written


def _save(fig: Any, path: Path) -> Path:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    atomic_write(path, buf.getvalue())
    return path


def write_markdown(result: BenchResult, path: Path, command: str, plots: list[Path]) -> None:
    figs = result.figures()
    load = figs.get("load_average", {})
    lines = [
        "# Benchmarks", "",
        "Reproduce (local cluster up, `make deploy-local` done once so the images are imported):", "",
        "```sh",
        "make bench   # = airkube install -f values/local.yaml -n bench; " + command + "; airkube uninstall -n bench",
        "```", "",
        f"Measured on {figs.get('cpus')} CPUs shared with the cluster itself and with other test runs: load average "
        f"(1/5/15 min) {load.get('start')} at the start, {load.get('end')} at the end. Figures on a busy 2-core "
        "machine are noisy: compare the ratios (ours ÷ bare pods of the same image, run side by side, interleaved) "
        "rather than the seconds.", "",
        "| figure | value | goal | detail |", "|---|---|---|---|",
    ]
    details = {
        "p1_ratio": _detail(figs, "p1_ours_s", "p1_bare_s"),
        "p2_ratio": _detail(figs, "p2_ours_s", "p2_bare_s"),
        "p3_install_s": f"unchanged `helm upgrade --wait`: {figs.get('p3_upgrade_unchanged_s', '-')} s",
        "p3_first_task_s": ", ".join(f"{k} {v}" for k, v in figs.get("p3_first_task_steps_s", {}).items()),
        "p4_render_s": f"{figs.get('p4_render_objects', '-')} objects, default values",
        "p5_idle_gib": ", ".join(f"{k} {v} MiB" for k, v in figs.get("p5_by_component_mib", {}).items()),
    }
    for key in ("p1_ratio", "p2_ratio", "p3_install_s", "p3_first_task_s", "p4_render_s", "p5_idle_gib"):
        if key in figs:
            goal = GOALS.get(key)
            lines.append(f"| `{key}` | {figs[key]} | {'≤ ' + str(goal) if goal else '-'} | {details[key]} |")
    lines += [""]
    lines += [f"![{p.stem}]({p.name})" for p in plots]
    lines += [
        "", "## What is measured", "",
        "- **P1** one trivial `@task` (`bench_p1`), REST trigger → run seen `success` (0.2 s poll), versus a bare pod "
        "on the same image running `python -c \"import airflow.sdk\"`, create call → phase `Succeeded` seen by a "
        "watch. Phases of our task: trigger→queued (TI `queued_when`), queued→pod created (pod first seen by a "
        "watch), pod created→container started (kubelet `startedAt`, 1 s resolution, clamped), container "
        "started→task running (TI `start_date`: Python start-up and imports of "
        "`airflow.sdk.execution_time.execute_workload`), task running→finished (TI `end_date`), finished→state "
        "recorded (the scheduler marks the run `success`). All clocks are the same machine's.",
        "- **P2** `bench_fanout`: one task mapped over 50 inputs, trigger → run `success`, versus 50 bare pods "
        "created at once, first create → last `Succeeded`.",
        "- **P3** `helm upgrade --install --wait --wait-for-jobs` of a fresh release (values files given with `-f`, "
        "images present, new namespace so a fresh database), then the same command again unchanged. "
        "**P3 first task**: from the start of that install to the first task instance (`start`) of the smoke DAG "
        "`smoke_executor` seen `success`: once `--wait` returns the bench pushes its DAG file into the dags claim "
        "(as `make deploy` does), waits for it in the API, unpauses and triggers it.",
        "- **P4** `helm template` of charts/airflow with default values (median of 10).",
        "- **P5** working set of each component's containers from the kubelet stats summary, release idle.",
        "", "## Raw figures", "", "```json", json.dumps({k: v for k, v in figs.items() if k != "p2_completions_s"}, indent=2, sort_keys=True, ensure_ascii=False), "```", "",
    ]
    kept = _kept_notes(path)
    atomic_write(path, ("\n".join(lines) + ("\n" + kept if kept else "")).encode())


NOTES_HEADING = "## Tuning notes"


def _kept_notes(path: Path) -> str:
    """Hand-written text from ``## Tuning notes`` on survives a re-run (the rest of the page is generated)."""
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    at = text.find(NOTES_HEADING)
    return text[at:] if at >= 0 else ""


def _detail(figs: dict, ours: str, bare: str) -> str:
    if ours not in figs:
        return ""
    o, b = figs[ours], figs[bare]
    return (f"ours {o['median']} s [{o['min']}–{o['max']}], bare {b['median']} s [{b['min']}–{b['max']}], "
            f"n={o['n']}")
