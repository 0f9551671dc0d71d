"""Median/min/max of repeated measurements."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Stat:
    median: float
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        if not values:
            raise ValueError("no measurements")
        return cls(statistics.median(values), min(values), max(values), len(values))

    def fmt(self, unit: str = "s") -> str:
        return f"{self.median:.2f}{unit} [{self.min:.2f}–{self.max:.2f}] n={self.n}"

    def to_dict(self) -> dict[str, float]:
        return {"median": round(self.median, 3), "min": round(self.min, 3), "max": round(self.max, 3), "n": self.n}
