"""The chart's cross-field rules in Python: only the conditions, keyed by rule id.

charts/airflow/rules.yaml is the one source of each rule's id, key and message (the chart's _validate.tpl is
generated from it). A condition mirrors the rule's Go `when` (Go template truthiness = Python truthiness) and
returns True when the values break the rule. Conditions must not crash on values of the wrong type: the schema
reports those separately.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .chart import Chart
from .problems import Problem

Values = dict[str, Any]
Condition = Callable[[Values], bool]


def get(values: Values, dotted: str, default: Any = None) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


_SCP_LIKE = re.compile(r"^[^/@:]+@[^/:]+:")  # git@host:org/repo (the regex of rule gitsync-ssh-key-required)


def _is_ssh_url(repo: Any) -> bool:
    text = "" if repo is None else str(repo)
    return text.startswith("ssh://") or bool(_SCP_LIKE.search(text))


def _bundles(v: Values) -> list[dict[str, Any]]:
    return [b if isinstance(b, dict) else {} for b in get(v, "dags.bundles") or []]


def _git_bundles(v: Values) -> list[dict[str, Any]]:
    return [b for b in _bundles(v) if (b.get("kind") or "git") != "local"]


def _usernames(v: Values) -> list[Any]:
    return [u.get("username") if isinstance(u, dict) else None for u in get(v, "auth.users") or []]


def _g(v: Values, key: str) -> Any:
    return get(v, f"dags.gitSync.{key}")


def _r(v: Values, key: str) -> Any:
    return get(v, f"logs.remote.{key}")


def _e(v: Values, key: str) -> Any:
    return get(v, f"externalDatabase.{key}")


def _pg(v: Values) -> Any:
    return get(v, "postgres.enabled")


def _core(v: Values) -> dict[str, Any]:
    return _mapping(_mapping(get(v, "config")).get("core"))


def _pdb_min_breaks(v: Values, key: str) -> bool:
    """minAvailable (an integer) is not below the component's replicas (the HPA's minReplicas when autoscaling)."""
    p = _mapping(get(v, f"{key}.podDisruptionBudget"))
    n = get(v, f"{key}.replicas")
    if key == "apiServer" and get(v, "apiServer.autoscaling.enabled"):
        n = get(v, "apiServer.autoscaling.minReplicas")
    m = p.get("minAvailable")
    return bool(get(v, f"{key}.enabled") and p.get("enabled")) and isinstance(m, int) and not isinstance(m, bool) \
        and isinstance(n, int) and m >= n


def _pdb_both(v: Values, key: str) -> bool:
    p = _mapping(get(v, f"{key}.podDisruptionBudget"))
    return bool(p.get("enabled")) and p.get("minAvailable") is not None and p.get("maxUnavailable") is not None


def _sub_path(value: Any) -> str:
    return str(value).rstrip("/") if value is not None else ""


def _both_exposed(v: Values) -> bool:
    return bool(get(v, "ingress.enabled") and get(v, "httpRoute.enabled"))


_PDB_COMPONENTS = {"apiServer": "api-server", "scheduler": "scheduler", "dagProcessor": "dag-processor",
                   "triggerer": "triggerer"}


CONDITIONS: dict[str, Condition] = {
    "gitsync-repo-required": lambda v: bool(_g(v, "enabled")) and not _g(v, "repo"),
    "gitsync-ssh-key-required": lambda v: bool(_g(v, "enabled")) and not _g(v, "sshKeySecret")
    and _is_ssh_url(_g(v, "repo")),
    "gitsync-ssh-known-hosts": lambda v: bool(_g(v, "enabled") and _g(v, "sshKeySecret")) and not _g(v, "knownHosts"),
    "gitsync-one-auth": lambda v: bool(_g(v, "enabled") and _g(v, "credentialsSecret") and _g(v, "sshKeySecret")),
    "bundle-names-unique": lambda v: len(_bundles(v)) != len({repr(b.get("name")) for b in _bundles(v)}),
    "bundle-git-repo-required": lambda v: any(not b.get("repo") for b in _git_bundles(v)),
    "bundle-ssh-key-required": lambda v: any(_is_ssh_url(b.get("repo")) and not b.get("sshKeySecret")
                                             for b in _git_bundles(v)),
    "bundle-ssh-known-hosts": lambda v: any(b.get("sshKeySecret") and not b.get("knownHosts") for b in _bundles(v)),
    "bundle-one-auth": lambda v: any(b.get("credentialsSecret") and b.get("sshKeySecret") for b in _bundles(v)),
    "bundle-git-sync-exclusive": lambda v: bool(_g(v, "enabled")) and bool(_git_bundles(v)),
    "remote-logs-base-url-required": lambda v: bool(_r(v, "enabled")) and not _r(v, "baseUrl"),
    "remote-logs-s3-url": lambda v: bool(_r(v, "enabled") and _r(v, "baseUrl")) and _r(v, "backend") == "s3"
    and not str(_r(v, "baseUrl")).startswith("s3://"),
    "remote-logs-gcs-url": lambda v: bool(_r(v, "enabled") and _r(v, "baseUrl")) and _r(v, "backend") == "gcs"
    and not str(_r(v, "baseUrl")).startswith("gs://"),
    "remote-logs-endpoint-s3-only": lambda v: bool(_r(v, "enabled") and _r(v, "endpointUrl"))
    and _r(v, "backend") != "s3",
    "database-required": lambda v: not _pg(v) and not _e(v, "urlSecret") and not _e(v, "host"),
    "database-ambiguous": lambda v: bool(_pg(v)) and bool(_e(v, "urlSecret") or _e(v, "host")),
    "external-database-url-or-host": lambda v: not _pg(v) and bool(_e(v, "urlSecret") and _e(v, "host")),
    "external-database-password": lambda v: not _pg(v) and bool(_e(v, "host")) and not _e(v, "urlSecret")
    and not _e(v, "passwordSecret"),
    "volumes-dags-claim": lambda v: bool(get(v, "volumes.enabled") and get(v, "dags.persistence.enabled"))
    and not get(v, "dags.persistence.existingClaim"),
    "volumes-logs-claim": lambda v: bool(get(v, "volumes.enabled") and get(v, "logs.persistence.enabled"))
    and not get(v, "logs.persistence.existingClaim"),
    "api-server-required": lambda v: not get(v, "apiServer.enabled") and get(v, "executor") == "KubernetesExecutor",
    "config-executor-conflict": lambda v: bool(_core(v).get("executor"))
    and str(_core(v).get("executor")) != get(v, "executor"),
    "config-kubernetes-section": lambda v: "kubernetes" in _mapping(get(v, "config")),
    "auth-users-required": lambda v: not get(v, "auth.users"),
    "auth-users-unique": lambda v: len(_usernames(v)) != len({repr(n) for n in _usernames(v)}),
    "metrics-statsd-and-otel": lambda v: bool(get(v, "metrics.enabled") and get(v, "metrics.otel.enabled")),
    "metrics-otel-endpoint-required": lambda v: bool(get(v, "metrics.otel.enabled")) and not get(v, "metrics.otel.endpoint"),
    "metrics-otel-traces-endpoint-required": lambda v: bool(get(v, "metrics.otel.traces.enabled"))
    and not get(v, "metrics.otel.traces.endpoint"),
    "metrics-servicemonitor-needs-exporter": lambda v: bool(get(v, "metrics.serviceMonitor.enabled"))
    and not get(v, "metrics.enabled"),
    "metrics-dashboard-needs-exporter": lambda v: bool(get(v, "metrics.dashboard.enabled")) and not get(v, "metrics.enabled"),
    "hpa-replicas-conflict": lambda v: bool(get(v, "apiServer.autoscaling.enabled")) and str(get(v, "apiServer.replicas")) != "1",
    "hpa-min-above-max": lambda v: bool(get(v, "apiServer.autoscaling.enabled"))
    and int(get(v, "apiServer.autoscaling.minReplicas") or 0) > int(get(v, "apiServer.autoscaling.maxReplicas") or 0),
    **{f"pdb-min-available-{name}": (lambda k: lambda v: _pdb_min_breaks(v, k))(key)
       for key, name in _PDB_COMPONENTS.items()},
    **{f"pdb-one-bound-{name}": (lambda k: lambda v: _pdb_both(v, k))(key) for key, name in _PDB_COMPONENTS.items()},
    "ingress-httproute-same-path": lambda v: _both_exposed(v)
    and _sub_path(get(v, "ingress.path")) == _sub_path(get(v, "httpRoute.path")),
    "ingress-httproute-two-base-paths": lambda v: _both_exposed(v) and bool(_sub_path(get(v, "ingress.path")))
    and bool(_sub_path(get(v, "httpRoute.path"))) and _sub_path(get(v, "ingress.path")) != _sub_path(get(v, "httpRoute.path")),
    "httproute-parent-required": lambda v: bool(get(v, "httpRoute.enabled")) and not get(v, "httpRoute.parentRefs"),
    "cleanup-logs-needs-pvc": lambda v: bool(get(v, "cleanup.logs.enabled")) and not get(v, "logs.persistence.enabled"),
}


class RuleMismatch(RuntimeError):
    """rules.yaml and CONDITIONS list different rules: the toolkit and the chart would disagree."""


def rule_ids() -> set[str]:
    return set(CONDITIONS)


def rule_problems(values: Values, chart: Chart | None = None) -> list[Problem]:
    """One Problem per rule of `chart` (default: the checkout's airflow chart) that `values` break, in the order
    of rules.yaml, with the rule's key and message from rules.yaml."""
    rules = (chart or Chart.find()).rules
    listed = {str(rule["id"]) for rule in rules}
    if listed != set(CONDITIONS):
        raise RuleMismatch(
            f"charts/airflow/rules.yaml and airkube/values/rules.py disagree: only in rules.yaml "
            f"{sorted(listed - set(CONDITIONS))}, only in rules.py {sorted(set(CONDITIONS) - listed)}; "
            "add the Python condition of each new rule to CONDITIONS"
        )
    return [Problem(str(rule["key"]), str(rule["message"]), rule=str(rule["id"]))
            for rule in rules if CONDITIONS[str(rule["id"])](values)]
