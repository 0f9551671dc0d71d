"""Result types of a smoke run, evidence parsing and the rich table printed at the end."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape

EVIDENCE_RE = re.compile(r"AIRKUBE-EVIDENCE (?P<key>[\w.\-]+)=(?P<value>.*?)\s*$")
MISSING_RE = re.compile(r"AIRKUBE-MISSING (?P<key>[\w.\-]+)")


def parse_evidence(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """``AIRKUBE-EVIDENCE k=v`` lines → dict (last wins); ``AIRKUBE-MISSING k`` lines → list."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for line in lines:
        for m in EVIDENCE_RE.finditer(line):
            found[m.group("key")] = m.group("value")
        for m in MISSING_RE.finditer(line):
            missing.append(m.group("key"))
    return found, missing


@dataclass
class TaskResult:
    dag_id: str
    task_id: str
    map_index: int = -1
    state: str | None = None
    try_number: int = 0
    duration: float | None = None
    pod: str | None = None
    evidence: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


@dataclass
class DagResult:
    dag_id: str
    run_id: str = ""
    state: str | None = None
    tasks: list[TaskResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    observed_pods: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == "success" and not self.problems


@dataclass
class SmokeResult:
    namespace: str
    release: str
    delivery: str = ""
    dags: list[DagResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.dags) and all(d.ok for d in self.dags)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "namespace": self.namespace,
            "release": self.release,
            "delivery": self.delivery,
            "error": self.error,
            "notes": self.notes,
            "dags": [
                {
                    "dag_id": d.dag_id,
                    "run_id": d.run_id,
                    "state": d.state,
                    "ok": d.ok,
                    "problems": d.problems,
                    "notes": d.notes,
                    "tasks": [
                        {
                            "task_id": t.task_id,
                            "map_index": t.map_index,
                            "state": t.state,
                            "try_number": t.try_number,
                            "duration": t.duration,
                            "pod": t.pod,
                            "evidence": t.evidence,
                            "missing": t.missing,
                        }
                        for t in d.tasks
                    ],
                }
                for d in self.dags
            ],
        }


def render(result: SmokeResult, console: Any = None, show_logs: bool = True) -> None:
    """Print the table (dag, task, state, duration, pod, evidence) and, for failures, the problems and logs."""
    from rich.console import Console

    console = console or Console()
    console.print(table(result, console.width))
    for note in result.notes:
        console.print(f"[dim]note:[/dim] {note}")
    for dag in result.dags:
        for note in dag.notes:
            console.print(f"[dim]{dag.dag_id}:[/dim] {note}")
        for problem in dag.problems:
            console.print(f"[red]✗ {dag.dag_id}:[/red] {escape(problem)}")
        if show_logs and not dag.ok:
            for t in dag.tasks:
                if t.state != "success" and t.log:
                    console.rule(f"log of {dag.dag_id}.{t.label} (try {t.try_number})")
                    console.print("\n".join(t.log[-200:]), markup=False, highlight=False)
    if result.error:
        console.print(f"[red]✗ {escape(result.error)}[/red]")
    console.print("[green]smoke: all DAGs passed[/green]" if result.ok else "[red]smoke: FAILED[/red]")


# Below this width the pod column is left out (pod names are in --json and in the task logs): the evidence column,
# the one that may fold, keeps room to be read. Every other column stays on one line, never folded into slivers.
POD_COLUMN_MIN_WIDTH = 120


def table(result: SmokeResult, width: int) -> Any:  # -> rich.table.Table
    """One row per task: dag, task, state, duration, [pod,] evidence; fits `width` (a terminal's, or COLUMNS)."""
    from rich.table import Table

    with_pod = width >= POD_COLUMN_MIN_WIDTH
    out = Table(title=f"airkube smoke — release {escape(result.release)} in {escape(result.namespace)} "
                      f"({escape(result.delivery or '?')})", title_justify="left")
    out.add_column("dag", no_wrap=True)
    out.add_column("task", no_wrap=True)
    out.add_column("state", no_wrap=True)
    out.add_column("duration", justify="right", no_wrap=True)
    if with_pod:
        out.add_column("pod", no_wrap=True, overflow="ellipsis", max_width=max(24, width // 3))
    out.add_column("evidence", overflow="fold", ratio=1, min_width=20)
    for dag in result.dags:
        if not dag.tasks:
            out.add_row(*_cells(with_pod, escape(dag.dag_id), "-", _state(dag.state), "", "", ""))
        for t in dag.tasks:
            ev = escape(", ".join(sorted(t.evidence))) if t.evidence else ""
            if t.missing:
                ev += ("; " if ev else "") + "[red]missing: " + escape(", ".join(t.missing)) + "[/red]"
            pod = t.pod or ""
            kpo_pod = t.evidence.get("hostname") if dag.dag_id == "smoke_kpo_seed" else None
            if kpo_pod and kpo_pod != pod:
                pod = f"{pod} → {kpo_pod}"
            dur = f"{t.duration:.1f}s" if t.duration is not None else ""
            out.add_row(*_cells(with_pod, escape(dag.dag_id), escape(t.label), _state(t.state), dur, escape(pod), ev))
    if not with_pod:
        out.caption = f"(pod column left out below {POD_COLUMN_MIN_WIDTH} columns: set COLUMNS, or see --json)"
    return out


def _cells(with_pod: bool, dag: str, task: str, state: str, duration: str, pod: str, evidence: str) -> list[str]:
    return [dag, task, state, duration, *([pod] if with_pod else []), evidence]


def _state(state: str | None) -> str:
    colour = {"success": "green", "failed": "red", "upstream_failed": "red"}.get(state or "", "yellow")
    return f"[{colour}]{state or 'none'}[/{colour}]"
