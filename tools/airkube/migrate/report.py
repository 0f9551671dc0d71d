"""What a migration tells the user: changes made (:class:`Finding`) and constructs refused (:class:`Refusal`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from airkube.errors import MigrationError


@dataclass(frozen=True)
class Finding:
    """One change the tool made (or one thing to know), at a line of the original file (0: the whole file)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class Refusal(Finding):
    """A construct the tool cannot convert faithfully: where, what, and what to do by hand."""


@dataclass
class MigrationResult:
    source: str
    findings: list[Finding] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)  # what the self-check found (passed, warnings, style notes)

    @property
    def messages(self) -> list[str]:
        return [f.message for f in self.findings]


class MigrationRefused(MigrationError):
    """The file has constructs the tool will not guess at; nothing was written."""

    exit_code = 2

    def __init__(self, refusals: list[Refusal], filename: str = "<source>") -> None:
        self.refusals = sorted(refusals, key=lambda r: r.line)
        self.filename = filename
        lines = "\n".join(f"  {filename}:{r.line}: {r.message}" for r in self.refusals)
        super().__init__(f"{filename}: {len(self.refusals)} construct(s) cannot be converted faithfully:\n{lines}")


class SelfCheckFailed(MigrationError):
    """The converted file does not import with Airflow, or ruff's Airflow rules flag it; nothing was written."""

    exit_code = 1

    def __init__(self, problems: list[str], filename: str = "<source>") -> None:
        self.problems = problems
        body = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{filename}: the converted DAG failed its self-check (nothing written):\n{body}\n"
            "  --no-self-check skips this check (not advised)."
        )
