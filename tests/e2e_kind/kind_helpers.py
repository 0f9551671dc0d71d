"""Shared state of the kind suite."""

TIMINGS: dict[str, float] = {}
NAME = "airkube-e2e"
