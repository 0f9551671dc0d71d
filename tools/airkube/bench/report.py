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
        bare_parts = figs.get("p1_bare_breakdown_s") or {"bare pod created→Succeeded": figs["p1_bare_s"]["median"]}
        left = 0.0
        for (name, seconds), color in zip(bare_parts.items(), ("silver", "grey")):
            ax.barh(["bare pod"], [max(seconds, 0)], left=left, color=color, label=f"bare: {name}")
            left += max(seconds, 0)
        ax.set_xlabel("seconds (medians)")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3)
        fig.tight_layout()
        written.append(_save(fig, out_dir / "bench-p1-breakdown.png"))
        plt.close(fig)
    if result.p2_ours and result.p2_bare:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for i, run in enumerate(result.p2_ours):
            ours = run.completions_s()
            ax.step(ours, range(1, len(ours) + 1), where="post", color="tab:blue", alpha=0.9 if i == 0 else 0.45,
                    label="KubernetesExecutor, one mapped task (TI end_date)" if i == 0 else None)
        for i, bare_run in enumerate(result.p2_bare):
            bare = bare_run.completions_s
            ax.step(bare, range(1, len(bare) + 1), where="post", color="grey", alpha=0.9 if i == 0 else 0.45,
                    label="bare pods created at once (Succeeded seen)" if i == 0 else None)
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
        "p4_render_s": f"{figs.get('p4_render_objects', '-')} objects, default values",
        "p5_idle_gib": ", ".join(f"{k} {v} MiB" for k, v in figs.get("p5_by_component_mib", {}).items()),
    }
    for key in ("p1_ratio", "p2_ratio", "p3_install_s", "p4_render_s", "p5_idle_gib"):
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
        "images present, new namespace so a fresh database), then the same command again unchanged.",
        "- **P4** `helm template` of charts/airflow with default values (median of 10).",
        "- **P5** working set of each component's containers from the kubelet stats summary, release idle.",
        "", "## Raw figures", "", "```json", json.dumps(figs, indent=2, sort_keys=True, ensure_ascii=False), "```", "",
    ]
    atomic_write(path, "\n".join(lines).encode())


def _detail(figs: dict, ours: str, bare: str) -> str:
    if ours not in figs:
        return ""
    o, b = figs[ours], figs[bare]
    return (f"ours {o['median']} s [{o['min']}–{o['max']}], bare {b['median']} s [{b['min']}–{b['max']}], "
            f"n={o['n']}")
