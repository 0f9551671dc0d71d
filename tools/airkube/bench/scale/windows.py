"""Rates and percentiles of P6 (pure functions: the tests check them on hand-made timestamps)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0..100")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def window_rates(times: Sequence[float], window: float = 10.0, step: float = 1.0) -> list[float]:
    """Events per second in every ``window``-second window that fits between the first and the last event,
    sliding by ``step`` seconds. A burst shorter than one window gives one rate: (n - 1) / its duration (n events
    span n - 1 intervals), or nothing when all events share one instant."""
    if window <= 0 or step <= 0:
        raise ValueError("window and step must be positive")
    ordered = sorted(times)
    if len(ordered) < 2:
        return []
    first, last = ordered[0], ordered[-1]
    if last - first < window:
        return [(len(ordered) - 1) / (last - first)] if last > first else []
    rates = []
    start = first
    lo = hi = 0
    while start + window <= last + 1e-9:
        while lo < len(ordered) and ordered[lo] < start:
            lo += 1
        while hi < len(ordered) and ordered[hi] < start + window:
            hi += 1
        rates.append((hi - lo) / window)
        start += step
    return rates


@dataclass(frozen=True)
class Distribution:
    """median / p95 / max of a list of figures (window rates, lags), with how many there were."""

    median: float
    p95: float
    max: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution | None:
        if not values:
            return None
        return cls(percentile(values, 50), percentile(values, 95), max(values), len(values))

    def to_dict(self, digits: int = 3) -> dict[str, float]:
        return {"median": round(self.median, digits), "p95": round(self.p95, digits), "max": round(self.max, digits),
                "n": self.n}


def lags(reference: dict[str, float], later: dict[str, float]) -> list[float]:
    """``later[k] - reference[k]`` for every key in both (seconds from one event of an object to the next)."""
    return [later[k] - reference[k] for k in reference.keys() & later.keys()]


def growth_exponent(ns: Sequence[float], costs: Sequence[float]) -> float | None:
    """Least-squares slope of log(cost) against log(N): 1 is linear, below 1 sub-linear. None without two points."""
    pairs = [(math.log(n), math.log(c)) for n, c in zip(ns, costs) if n > 0 and c > 0]
    if len(pairs) < 2:
        return None
    mx = sum(x for x, _ in pairs) / len(pairs)
    my = sum(y for _, y in pairs) / len(pairs)
    var = sum((x - mx) ** 2 for x, _ in pairs)
    if var == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in pairs) / var
