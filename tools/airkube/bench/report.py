"""Figures out: a rich table, the JSON the issue asks for, docs/benchmarks.md and two PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

from airkube.fsutil import atomic_write

from airkube.bench.runner import BenchResult

GOALS = {"p1_ratio": 1.3, "p2_ratio": 1.3, "p3_install_s": 60.0, "p5_idle_gib": 1.5}


def figures_table(result: BenchResult) -> Table:
    figs = result.figures()
    table = Table(title="airkube bench (ours ÷ bare pods; medians [min–max])")
    for col in ("figure", "value", "goal", "ok"):
        table.add_column(col)
    rows = [
        ("P1 trivial task latency", "p1_ratio", _pair(figs, "p1_ours_s", "p1_bare_s")),
        ("P2 fan-out makespan", "p2_ratio", _pair(figs, "p2_ours_s", "p2_bare_s")),
        ("P3 install --wait", "p3_install_s", f"upgrade unchanged {figs.get('p3_upgrade_unchanged_s', '-')}s"),
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


def write_plots(result: BenchResult, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    figs = result.figures()
    if "p1_breakdown_s" in figs:
        parts = figs["p1_breakdown_s"]
        fig, ax = plt.subplots(figsize=(8, 2.8))
        left = 0.0
        for name, seconds in parts.items():
            ax.barh(["KubernetesExecutor task"], [max(seconds, 0)], left=left, label=name)
            left += max(seconds, 0)
        ax.barh(["bare pod"], [figs["p1_bare_s"]["median"]], color="grey", label="bare pod created→Succeeded")
        ax.set_xlabel("seconds (medians)")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3)
        fig.tight_layout()
        written.append(_save(fig, out_dir / "bench-p1-breakdown.png"))
        plt.close(fig)
    if result.p2_ours and result.p2_bare:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ours, bare = result.p2_ours[0].completions_s(), result.p2_bare[0].completions_s
        ax.step(ours, range(1, len(ours) + 1), where="post", label="KubernetesExecutor (mapped task)")
        ax.step(bare, range(1, len(bare) + 1), where="post", label="bare pods", color="grey")
        ax.set_xlabel("seconds after trigger / first create")
        ax.set_ylabel("tasks finished")
        ax.legend()
        fig.tight_layout()
        written.append(_save(fig, out_dir / "bench-p2-fanout.png"))
        plt.close(fig)
    return written


def _save(fig, path: Path) -> Path:  # type: ignore[no-untyped-def]
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    atomic_write(path, buf.getvalue())
    return path


def write_markdown(result: BenchResult, path: Path, command: str, plots: list[Path]) -> None:
    figs = result.figures()
    lines = [
        "# Benchmarks", "",
        f"Reproduce: `{command}` (on the local cluster, release installed with values/local.yaml).", "",
        "Ratios are ours ÷ bare pods of the same image, measured side by side in the same run (medians).", "",
        "| figure | value | goal |", "|---|---|---|",
    ]
    for key in ("p1_ratio", "p2_ratio", "p3_install_s", "p3_upgrade_unchanged_s", "p4_render_s", "p5_idle_gib"):
        if key in figs:
            goal = GOALS.get(key)
            lines.append(f"| `{key}` | {figs[key]} | {'≤ ' + str(goal) if goal else '-'} |")
    lines += ["", "Raw figures:", "", "```json", json.dumps(figs, indent=2, sort_keys=True), "```", ""]
    lines += [f"![{p.stem}]({p.name})" for p in plots]
    lines += ["", "P1 phases: trigger→queued (REST call to TI `queued_when`), queued→pod created (pod first seen by a "
              "watch), pod created→container started (kubelet `startedAt`, 1 s resolution), container started→task "
              "running (TI `start_date`), task running→finished (TI `end_date`), finished→state recorded (run seen "
              "`success` by a 0.2 s poll).", ""]
    atomic_write(path, "\n".join(lines).encode())
