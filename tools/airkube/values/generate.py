"""`airkube values new`: a complete, commented values file for one profile and one choice per backend."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap

from ..errors import OptionsError
from .chart import Chart
from .schema import merged_values
from .yamlio import Document, dump

Profile = Literal["kind", "local", "cluster"]
DagsSource = Literal["pvc", "git-sync", "git-bundle", "image"]
LogsTarget = Literal["pvc", "s3", "gcs", "none"]
PROFILES: tuple[str, ...] = ("kind", "local", "cluster")
DAGS: tuple[str, ...] = ("pvc", "git-sync", "git-bundle", "image")
GIT_DAGS = ("git-sync", "git-bundle")  # the choices that take the --git-* flags
BUNDLE_NAME = "dags"  # the name of the one bundle `--dags git-bundle` writes
LOGS: tuple[str, ...] = ("pvc", "s3", "gcs", "none")

# Where the one-node profiles keep DAGs and logs on the node (kind: extraMounts of scripts/kind-cluster.yaml).
NODE_DAGS_DIR = "/airkube/dags"
NODE_LOGS_DIR = "/airkube/logs"
LOCAL_IMAGES = {
    "airflow": ("airkube.local/airflow", "3.3.2"),
    "postgres": ("airkube.local/postgres", "17"),
    "git-sync": ("airkube.local/git-sync", "v4.4.2"),
}


@dataclass(frozen=True)
class Options:
    profile: Profile = "cluster"
    dags: DagsSource = "pvc"
    logs: LogsTarget = "pvc"
    git_repo: str | None = None
    git_branch: str | None = None
    git_subpath: str | None = None
    git_ssh_secret: str | None = None
    git_known_hosts: str | None = None  # known_hosts lines (needed with ssh)
    logs_url: str | None = None
    logs_conn_secret: str | None = None
    s3_endpoint: str | None = None
    external_db_secret: str | None = None

    def check(self) -> None:
        errors: list[str] = []
        if self.profile not in PROFILES:
            errors.append(f"--profile must be one of {', '.join(PROFILES)}, got {self.profile!r}")
        if self.dags not in DAGS:
            errors.append(f"--dags must be one of {', '.join(DAGS)}, got {self.dags!r}")
        if self.logs not in LOGS:
            errors.append(f"--logs must be one of {', '.join(LOGS)}, got {self.logs!r}")
        git_flags = {"--git-repo": self.git_repo, "--git-branch": self.git_branch, "--git-subpath": self.git_subpath,
                     "--git-ssh-secret": self.git_ssh_secret, "--git-known-hosts": self.git_known_hosts}
        if self.dags in GIT_DAGS:
            if not self.git_repo:
                errors.append(f"--dags {self.dags} needs --git-repo URL (https://… or git@host:org/repo.git)")
            elif _is_ssh(self.git_repo) and not self.git_ssh_secret:
                errors.append(f"--git-repo {self.git_repo} is an ssh URL: pass --git-ssh-secret SECRET "
                              "(a Secret holding the private key) or use an https URL")
            elif self.git_ssh_secret and not self.git_known_hosts:
                errors.append("--git-ssh-secret needs --git-known-hosts 'HOST KEYTYPE KEY' (host keys are always "
                              "verified; get the line with `ssh-keyscan HOST`)")
            elif self.git_ssh_secret and self.git_repo and not _is_ssh(self.git_repo):
                errors.append(f"--git-ssh-secret is only used with ssh URLs, but --git-repo is {self.git_repo}")
        else:
            given = [flag for flag, value in git_flags.items() if value]
            if given:
                errors.append(f"{', '.join(given)} only apply to --dags git-sync|git-bundle (got --dags {self.dags})")
        schemes = {"s3": "s3://", "gcs": "gs://"}
        if self.logs in schemes:
            scheme = schemes[self.logs]
            if not self.logs_url:
                errors.append(f"--logs {self.logs} needs --logs-url {scheme}bucket/prefix")
            elif not self.logs_url.startswith(scheme) or len(self.logs_url) <= len(scheme):
                errors.append(f"--logs {self.logs} needs a {scheme}bucket/prefix URL, but --logs-url is {self.logs_url}")
            if self.s3_endpoint and self.logs != "s3":
                errors.append("--s3-endpoint only applies to --logs s3")
        else:
            given = [f for f, v in {"--logs-url": self.logs_url, "--logs-conn-secret": self.logs_conn_secret,
                                    "--s3-endpoint": self.s3_endpoint}.items() if v]
            if given:
                errors.append(f"{', '.join(given)} only apply to --logs s3|gcs (got --logs {self.logs})")
        if self.s3_endpoint and not re.match(r"^https?://[^/\s]+", self.s3_endpoint):
            errors.append(f"--s3-endpoint must be an http(s):// URL, got {self.s3_endpoint}")
        if errors:
            raise OptionsError("\n".join(errors))


def _is_ssh(url: str) -> bool:
    return url.startswith("ssh://") or bool(re.match(r"^[\w.-]+@[\w.-]+:", url))


@dataclass(frozen=True)
class Setting:
    path: tuple[str, ...]
    value: Any
    why: str  # which choice put it here


def _s(path: str, value: Any, why: str) -> Setting:
    return Setting(tuple(path.split(".")), value, why)


def profile_settings(profile: Profile) -> list[Setting]:
    if profile == "local":
        why = "--profile local"
        settings = []
        for key, values_path in (("airflow", "images.airflow"), ("git-sync", "images.gitSync"),
                                 ("postgres", "postgres.image")):
            repository, tag = LOCAL_IMAGES[key]
            settings += [_s(f"{values_path}.repository", repository, why), _s(f"{values_path}.tag", tag, why),
                         _s(f"{values_path}.pullPolicy", "Never", why)]
        return settings
    return []


def _node_volume(kind: str, profile: Profile) -> list[Setting]:
    """A claim from the volumes subchart, backed by a hostPath PV on one-node profiles."""
    why = f"--{kind} pvc"
    settings = [_s("volumes.enabled", True, why), _s(f"volumes.{kind}.enabled", True, why),
                _s(f"{kind}.persistence.enabled", True, why),
                _s(f"{kind}.persistence.existingClaim", f"{{{{ .Release.Name }}}}-{kind}", why)]
    if profile == "kind":  # scripts/kind-cluster.yaml mounts the host's .state/kind/{dags,logs} there
        node_dir = NODE_DAGS_DIR if kind == "dags" else NODE_LOGS_DIR
        why_node = f"{why}, --profile {profile}"
        settings += [_s(f"volumes.{kind}.hostPath.enabled", True, why_node),
                     _s(f"volumes.{kind}.hostPath.path", node_dir, why_node)]
    return settings


def dags_settings(o: Options) -> list[Setting]:
    if o.dags == "pvc":
        return _node_volume("dags", o.profile)
    if o.dags == "git-sync":
        why = "--dags git-sync"
        settings = [_s("dags.gitSync.enabled", True, why), _s("dags.gitSync.repo", o.git_repo, why)]
        if o.git_branch:
            settings.append(_s("dags.gitSync.branch", o.git_branch, why))
        if o.git_subpath:
            settings.append(_s("dags.gitSync.subPath", o.git_subpath, why))
        if o.git_ssh_secret:
            settings.append(_s("dags.gitSync.sshKeySecret", o.git_ssh_secret, why))
        if o.git_known_hosts:
            settings.append(_s("dags.gitSync.knownHosts", o.git_known_hosts, why))
        return settings
    if o.dags == "git-bundle":
        bundle: dict[str, Any] = {"name": BUNDLE_NAME, "repo": o.git_repo}
        if o.git_branch:
            bundle["trackingRef"] = o.git_branch
        if o.git_subpath:
            bundle["subdir"] = o.git_subpath
        if o.git_ssh_secret:
            bundle["sshKeySecret"] = o.git_ssh_secret
            bundle["knownHosts"] = o.git_known_hosts
        return [_s("dags.bundles", [bundle], "--dags git-bundle")]
    return []  # --dags image: the DAGs ship inside the Airflow image, nothing to mount


def logs_settings(o: Options) -> list[Setting]:
    if o.logs == "pvc":
        return _node_volume("logs", o.profile)
    if o.logs in ("s3", "gcs"):
        why = f"--logs {o.logs}"
        settings = [_s("logs.remote.enabled", True, why), _s("logs.remote.backend", o.logs, why),
                    _s("logs.remote.baseUrl", o.logs_url, why)]
        if o.logs_conn_secret:
            settings.append(_s("logs.remote.connectionSecret", o.logs_conn_secret, why))
        if o.s3_endpoint:
            settings.append(_s("logs.remote.endpointUrl", o.s3_endpoint, why))
        return settings
    return []


def database_settings(o: Options) -> list[Setting]:
    if not o.external_db_secret:
        return []
    why = "--external-db-secret"
    return [_s("postgres.enabled", False, why), _s("externalDatabase.urlSecret", o.external_db_secret, why)]


def all_settings(o: Options) -> list[Setting]:
    """Every setting the choices imply, one per key path (the reasons of a shared key are joined)."""
    o.check()
    merged: dict[tuple[str, ...], Setting] = {}
    for s in profile_settings(o.profile) + dags_settings(o) + logs_settings(o) + database_settings(o):
        if s.path in merged:
            s = Setting(s.path, s.value, f"{merged[s.path].why}, {s.why}")
        merged[s.path] = s
    return list(merged.values())


_PARAM = re.compile(r"^\s*## @param (\S+) (.*)$")


def param_descriptions(chart: Chart) -> dict[str, str]:
    """`## @param key.path text` lines of the chart's and its subcharts' values.yaml."""
    result: dict[str, str] = {}
    sources = [("", chart)] + [(f"{key}.", sub.chart) for key, sub in chart.subcharts.items()]
    for prefix, source in reversed(sources):  # the parent's own description wins
        file = source.path / "values.yaml"
        if file.is_file():
            for line in file.read_text(encoding="utf-8").splitlines():
                if m := _PARAM.match(line):
                    result[prefix + m.group(1)] = m.group(2).strip()
    return result


def _lookup(values: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    node = values
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


@dataclass
class Generated:
    text: str
    settings: list[Setting] = field(default_factory=list)  # the ones written (differing from defaults)


def generate(o: Options, chart: Chart, command: str) -> Generated:
    defaults = merged_values(chart)
    descriptions = param_descriptions(chart)
    kept = [s for s in all_settings(o) if _lookup(defaults, s.path) != (True, s.value)]
    data = CommentedMap()
    for setting in kept:
        node = data
        for depth, part in enumerate(setting.path[:-1]):
            if part not in node:
                node[part] = CommentedMap()
                if depth == 0:
                    node.yaml_set_comment_before_after_key(part, before="\n", indent=0)
            node = node[part]
        key = setting.path[-1]
        node[key] = setting.value
        about = descriptions.get(".".join(setting.path), "")
        comment = f"{about} [{setting.why}]" if about else f"[{setting.why}]"
        node.yaml_set_comment_before_after_key(key, before=comment, indent=2 * (len(setting.path) - 1))
    header = [
        f"Generated by `{command}`",
        f"for chart {chart.name} {chart.metadata.get('version', '?')} (Airflow {chart.metadata.get('appVersion', '?')}).",
        "Only keys that differ from the chart defaults are listed; the comment above each says what it does",
        "and which choice set it. Install:  airkube install -f THIS_FILE",
        "Change: airkube values set THIS_FILE key.path=value     Check: airkube values validate THIS_FILE",
    ]
    if o.profile == "local":
        header.append("--profile local: images come from `airkube images build` (loaded into the node, never pulled).")
    if o.profile == "kind" and "pvc" in (o.dags, o.logs):
        header.append(f"pvc on kind: hostPath volumes at {NODE_DAGS_DIR} and {NODE_LOGS_DIR} in the node, which "
                      "scripts/kind-cluster.yaml mounts from .state/kind/ of the checkout (drop DAG files there).")
    if o.logs == "none":
        header.append("--logs none: task logs stay in each task pod and are gone with it (the UI shows 404 later).")
    if o.dags == "git-bundle":
        header.append("--dags git-bundle: an Airflow 3 GitDagBundle; every task pod fetches the commit its run was "
                      "parsed from (private https repos: add credentialsSecret to the bundle).")
    if o.dags == "image":
        header.append("--dags image: the DAGs must be inside the Airflow image (set images.airflow.repository/tag).")
    body = dump(data) if kept else "{}\n"
    text = "\n".join(f"# {line}" for line in header) + "\n" + body.lstrip("\n")
    return Generated(text, kept)


def as_document(generated: Generated) -> Document:
    from pathlib import Path

    from .yamlio import make_yaml

    return Document(Path("<generated>"), generated.text, make_yaml().load(generated.text) or CommentedMap())
