"""Shared state of the kind suite."""

TIMINGS: dict[str, float] = {}
NAME = "airkube-e2e"  # the cluster the suite creates (and deletes) when no `make deploy-kind` cluster is up
USER_NAME = "airkube"  # `make deploy-kind`'s cluster: used as is when it answers, never created or deleted
