"""The chart's cross-field rules (charts/airflow/rules.yaml, templates/_validate.tpl) in Python, same ids and messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .problems import Problem

Values = dict[str, Any]


def get(values: Values, dotted: str, default: Any = None) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


@dataclass(frozen=True)
class Rule:
    id: str
    key: str  # the key path the message is about
    check: Callable[[Values], str | None]  # the chart's message when violated, None when fine


def _when(rule_id: str, key: str, message: str, condition: Callable[[Values], bool]) -> Rule:
    return Rule(rule_id, key, lambda v: message if condition(v) else None)


_SCP_LIKE = re.compile(r"^[^/@:]+@[^/:]+:")  # git@host:org/repo (same regex as _validate.tpl)


def _is_ssh_url(repo: Any) -> bool:
    text = "" if repo is None else str(repo)
    return text.startswith("ssh://") or bool(_SCP_LIKE.search(text))


def _usernames(v: Values) -> list[Any]:
    return [u.get("username") if isinstance(u, dict) else None for u in get(v, "auth.users") or []]


def _rules() -> tuple[Rule, ...]:
    """Same order, conditions (Go template truthiness = Python truthiness) and messages as _validate.tpl."""
    g = lambda v, k: get(v, f"dags.gitSync.{k}")  # noqa: E731
    r = lambda v, k: get(v, f"logs.remote.{k}")  # noqa: E731
    e = lambda v, k: get(v, f"externalDatabase.{k}")  # noqa: E731
    pg = lambda v: get(v, "postgres.enabled")  # noqa: E731
    # schema problems (e.g. `config.core: text`) are reported separately: rules must not crash on wrong types
    mapping = lambda x: x if isinstance(x, dict) else {}  # noqa: E731
    core = lambda v: mapping(mapping(get(v, "config")).get("core"))  # noqa: E731
    return (
        _when("gitsync-repo-required", "dags.gitSync.repo",
              "dags.gitSync.enabled is true but dags.gitSync.repo is empty: set dags.gitSync.repo to the git URL of your DAGs",
              lambda v: bool(g(v, "enabled")) and not g(v, "repo")),
        _when("gitsync-ssh-key-required", "dags.gitSync.sshKeySecret",
              "dags.gitSync.repo is an ssh URL but dags.gitSync.sshKeySecret is empty: set dags.gitSync.sshKeySecret to a Secret holding the SSH private key (and dags.gitSync.knownHosts), or use an https URL with dags.gitSync.credentialsSecret",
              lambda v: bool(g(v, "enabled")) and not g(v, "sshKeySecret") and _is_ssh_url(g(v, "repo"))),
        _when("gitsync-ssh-known-hosts", "dags.gitSync.knownHosts",
              "dags.gitSync.sshKeySecret is set but dags.gitSync.knownHosts is empty: set dags.gitSync.knownHosts to the known_hosts line(s) of your git server (host keys are always verified)",
              lambda v: bool(g(v, "enabled") and g(v, "sshKeySecret")) and not g(v, "knownHosts")),
        _when("gitsync-one-auth", "dags.gitSync.credentialsSecret",
              "dags.gitSync.credentialsSecret and dags.gitSync.sshKeySecret are both set: use credentialsSecret for https URLs or sshKeySecret for ssh URLs, not both",
              lambda v: bool(g(v, "enabled") and g(v, "credentialsSecret") and g(v, "sshKeySecret"))),
        _when("remote-logs-base-url-required", "logs.remote.baseUrl",
              "logs.remote.enabled is true but logs.remote.baseUrl is empty: set logs.remote.baseUrl to s3://bucket/prefix or gs://bucket/prefix",
              lambda v: bool(r(v, "enabled")) and not r(v, "baseUrl")),
        _when("remote-logs-s3-url", "logs.remote.baseUrl",
              "logs.remote.backend is s3 but logs.remote.baseUrl does not start with s3://: set logs.remote.baseUrl to s3://bucket/prefix or change logs.remote.backend",
              lambda v: bool(r(v, "enabled") and r(v, "baseUrl")) and r(v, "backend") == "s3"
              and not str(r(v, "baseUrl")).startswith("s3://")),
        _when("remote-logs-gcs-url", "logs.remote.baseUrl",
              "logs.remote.backend is gcs but logs.remote.baseUrl does not start with gs://: set logs.remote.baseUrl to gs://bucket/prefix or change logs.remote.backend",
              lambda v: bool(r(v, "enabled") and r(v, "baseUrl")) and r(v, "backend") == "gcs"
              and not str(r(v, "baseUrl")).startswith("gs://")),
        _when("remote-logs-endpoint-s3-only", "logs.remote.endpointUrl",
              "logs.remote.endpointUrl is set but logs.remote.backend is not s3: endpointUrl is for S3-compatible servers (e.g. MinIO); remove it or set logs.remote.backend to s3",
              lambda v: bool(r(v, "enabled") and r(v, "endpointUrl")) and r(v, "backend") != "s3"),
        _when("database-required", "postgres.enabled",
              "postgres.enabled is false and no external database is configured: set externalDatabase.urlSecret (a Secret with the SQLAlchemy URL) or externalDatabase.host and externalDatabase.passwordSecret, or set postgres.enabled to true",
              lambda v: not pg(v) and not e(v, "urlSecret") and not e(v, "host")),
        _when("database-ambiguous", "postgres.enabled",
              "postgres.enabled is true and externalDatabase is also configured: set postgres.enabled to false to use the external database, or clear externalDatabase.urlSecret and externalDatabase.host",
              lambda v: bool(pg(v)) and bool(e(v, "urlSecret") or e(v, "host"))),
        _when("external-database-url-or-host", "externalDatabase.host",
              "externalDatabase.urlSecret and externalDatabase.host are both set: use either a complete URL (urlSecret) or host/port/database/user with passwordSecret",
              lambda v: not pg(v) and bool(e(v, "urlSecret") and e(v, "host"))),
        _when("external-database-password", "externalDatabase.passwordSecret",
              "externalDatabase.host is set but externalDatabase.passwordSecret is empty: set externalDatabase.passwordSecret to a Secret holding the database password (key externalDatabase.passwordSecretKey)",
              lambda v: not pg(v) and bool(e(v, "host")) and not e(v, "urlSecret") and not e(v, "passwordSecret")),
        _when("volumes-dags-claim", "dags.persistence.existingClaim",
              "volumes.enabled is true and dags.persistence.enabled is true but dags.persistence.existingClaim is empty: set dags.persistence.existingClaim to the claim of the volumes chart (<release>-dags)",
              lambda v: bool(get(v, "volumes.enabled") and get(v, "dags.persistence.enabled"))
              and not get(v, "dags.persistence.existingClaim")),
        _when("volumes-logs-claim", "logs.persistence.existingClaim",
              "volumes.enabled is true and logs.persistence.enabled is true but logs.persistence.existingClaim is empty: set logs.persistence.existingClaim to the claim of the volumes chart (<release>-logs)",
              lambda v: bool(get(v, "volumes.enabled") and get(v, "logs.persistence.enabled"))
              and not get(v, "logs.persistence.existingClaim")),
        _when("api-server-required", "apiServer.enabled",
              "apiServer.enabled is false but the KubernetesExecutor's task pods report through the api-server's execution API: set apiServer.enabled to true",
              lambda v: not get(v, "apiServer.enabled") and get(v, "executor") == "KubernetesExecutor"),
        _when("config-executor-conflict", "config.core.executor",
              "config.core.executor differs from executor: set the executor with the executor key and remove config.core.executor",
              lambda v: bool(core(v).get("executor")) and str(core(v).get("executor")) != get(v, "executor")),
        _when("config-kubernetes-section", "config.kubernetes",
              "config.kubernetes is set but Airflow 3 ignores the [kubernetes] section: move these keys to config.kubernetes_executor",
              lambda v: "kubernetes" in mapping(get(v, "config"))),
        _when("auth-users-required", "auth.users",
              "auth.users is empty: add at least one user (username and role) so someone can log in",
              lambda v: not get(v, "auth.users")),
        _when("auth-users-unique", "auth.users",
              "auth.users has duplicate usernames: every auth.users[].username must be unique",
              lambda v: len(_usernames(v)) != len({repr(n) for n in _usernames(v)})),
    )


RULES: tuple[Rule, ...] = _rules()


def rule_ids() -> set[str]:
    return {rule.id for rule in RULES}


def rule_problems(values: Values) -> list[Problem]:
    problems = []
    for rule in RULES:
        message = rule.check(values)
        if message:
            problems.append(Problem(rule.key, message, rule=rule.id))
    return problems
