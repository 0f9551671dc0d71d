"""The user's kubeconfig, as kind does it: `cluster up` merges an `airkube-local` cluster, user and context into it
and makes that the current context; `cluster down` takes them out again.

Which file: the first path of ``$KUBECONFIG`` when it is set, else ``~/.kube/config``. Opt out with
``--no-kubeconfig`` or ``AIRKUBE_NO_KUBECONFIG=1``. Writes are atomic (temporary file + rename, mode 0600), under
the same ``<file>.lock`` that kubectl / client-go take, and keep the file's comments and other entries as they are.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..errors import ConfigError
from ..fsutil import atomic_write

NAME = "airkube-local"
OPT_OUT_ENV = "AIRKUBE_NO_KUBECONFIG"
SECTIONS = ("clusters", "users", "contexts")
LOCK_WAIT_S = 10.0


def wanted(env: Mapping[str, str] | None = None) -> bool:
    """False when the user opted out (``AIRKUBE_NO_KUBECONFIG`` set to anything but ``""``/``0``/``false``)."""
    value = (os.environ if env is None else env).get(OPT_OUT_ENV, "").strip().lower()
    return value in ("", "0", "false", "no")


def user_kubeconfig(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """The file kubectl reads first: the first entry of $KUBECONFIG, else ~/.kube/config."""
    env = os.environ if env is None else env
    for part in env.get("KUBECONFIG", "").split(os.pathsep):
        if part.strip():
            return Path(part.strip()).expanduser()
    return (home or Path.home()) / ".kube" / "config"


@dataclass(frozen=True)
class Entry:
    """The cluster, user and context bodies to merge under one name."""

    name: str
    cluster: dict[str, Any]
    user: dict[str, Any]
    namespace: str | None = None

    @property
    def server(self) -> str:
        return str(self.cluster.get("server", ""))


def entry_from(source: Path, name: str = NAME) -> Entry:
    """The current context of `source` (the cluster's own admin kubeconfig) as an `Entry` called `name`."""
    data = _load(source)
    current = data.get("current-context") or ""
    context = _named(data, "contexts", current)
    if context is None:
        raise ConfigError(f"{source}: current-context {current!r} names no context; recreate it with "
                          "`airkube cluster up --provider local`")
    body = context.get("context") or {}
    cluster, user = _named(data, "clusters", body.get("cluster", "")), _named(data, "users", body.get("user", ""))
    if cluster is None or user is None:
        raise ConfigError(f"{source}: context {current!r} names a missing cluster or user")
    return Entry(name, _plain(cluster.get("cluster") or {}), _plain(user.get("user") or {}), body.get("namespace"))


def merge(entry: Entry, target: Path, set_current: bool = True) -> bool:
    """Upsert the cluster, user and context `entry.name` into `target` (created 0600 if missing); returns True when
    the file changed."""
    with _locked(target):
        data = _load(target) if target.exists() else _empty()
        before = _dump(data)
        context: dict[str, Any] = {"cluster": entry.name, "user": entry.name}
        if entry.namespace:
            context["namespace"] = entry.namespace
        _upsert(data, "clusters", entry.name, "cluster", entry.cluster)
        _upsert(data, "users", entry.name, "user", entry.user)
        _upsert(data, "contexts", entry.name, "context", context)
        if set_current:
            data["current-context"] = entry.name
        after = _dump(data)
        if after == before:
            return False
        _write(target, after)
        return True


def unmerge(target: Path, name: str = NAME, server: str | None = None) -> bool:
    """Remove the cluster, user and context `name` from `target`; unset current-context when it was `name`.

    With `server`, only when the cluster entry points there (an entry of another cluster of the same name stays).
    Returns True when the file changed."""
    if not target.exists():
        return False
    with _locked(target):
        data = _load(target)
        cluster = _named(data, "clusters", name)
        if cluster is None and _named(data, "contexts", name) is None:
            return False
        if server and cluster is not None and (cluster.get("cluster") or {}).get("server") != server:
            return False
        for section in SECTIONS:
            items = data.get(section) or []
            keep = [item for item in items if not (isinstance(item, Mapping) and item.get("name") == name)]
            if len(keep) != len(items):
                data[section] = CommentedSeq(keep)
        if data.get("current-context") == name:
            data["current-context"] = ""
        _write(target, _dump(data))
        return True


# --- what the local provider calls -----------------------------------------------------------------------

def after_up(source: Path, say: Callable[[str], None], enabled: bool | None = None,
             target: Path | None = None) -> Path | None:
    """Merge `source` (the cluster's admin kubeconfig) into the user's kubeconfig; returns the file written, None
    when opted out or impossible (a note says why: the cluster itself is up either way)."""
    if not (wanted() if enabled is None else enabled):
        say(f"kubeconfig: left alone (opted out); use KUBECONFIG={source}")
        return None
    target = target or user_kubeconfig()
    if _same_file(source, target):
        say(f"kubeconfig: $KUBECONFIG is the cluster's own file {source}: nothing to merge")
        return None
    try:
        changed = merge(entry_from(source), target)
    except (ConfigError, OSError) as exc:
        say(f"kubeconfig: could not merge context {NAME} into {target}: {exc}; use KUBECONFIG={source}")
        return None
    say(f"kubeconfig: context {NAME} {'merged into' if changed else 'already in'} {target} (current context); "
        f"opt out with --no-kubeconfig or {OPT_OUT_ENV}=1")
    return target


def before_down(source: Path, server: str, say: Callable[[str], None], target: Path | None = None) -> bool:
    """Take this cluster's context out of the user's kubeconfig (only the entry that points at `server`)."""
    target = target or user_kubeconfig()
    if _same_file(source, target):
        return False
    try:
        removed = unmerge(target, NAME, server=server)
    except (ConfigError, OSError) as exc:
        say(f"kubeconfig: could not remove context {NAME} from {target}: {exc}")
        return False
    if removed:
        say(f"kubeconfig: removed context {NAME} from {target}")
    return removed


# --- helpers ---------------------------------------------------------------------------------------------

def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml


def _empty() -> CommentedMap:
    data = CommentedMap()
    data["apiVersion"] = "v1"
    data["kind"] = "Config"
    data["preferences"] = CommentedMap()
    for section in SECTIONS:
        data[section] = CommentedSeq()
    data["current-context"] = ""
    return data


def _load(path: Path) -> CommentedMap:
    try:
        text = path.read_text(encoding="utf-8")
        data = _yaml().load(text) if text.strip() else None
    except OSError:
        raise
    except Exception as exc:  # ruamel raises many parser error types
        raise ConfigError(f"{path}: not valid YAML ({exc}); fix or move the file, or opt out with "
                          f"--no-kubeconfig / {OPT_OUT_ENV}=1") from exc
    if data is None:
        return _empty()
    if not isinstance(data, CommentedMap):
        raise ConfigError(f"{path}: a kubeconfig must be a mapping, found {type(data).__name__}")
    for section in SECTIONS:
        if data.get(section) is None:
            data[section] = CommentedSeq()
        elif not isinstance(data[section], list):
            raise ConfigError(f"{path}: key {section!r} must be a list, found {type(data[section]).__name__}")
    return data


def _named(data: Mapping[str, Any], section: str, name: str) -> Any:
    return next((item for item in data.get(section) or []
                 if isinstance(item, Mapping) and item.get("name") == name), None)


def _upsert(data: CommentedMap, section: str, name: str, key: str, body: dict[str, Any]) -> None:
    item = _named(data, section, name)
    if item is None:
        item = CommentedMap()
        item["name"] = name
        data[section].append(item)
    if _plain(item.get(key)) != body:
        item[key] = body


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _dump(data: CommentedMap) -> str:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    """Atomic, and never readable by others: a new file is created 0600 before its content goes in."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    atomic_write(path, text)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


@contextmanager
def _locked(path: Path, wait: float = LOCK_WAIT_S) -> Iterator[None]:
    """client-go's protocol: create `<path>.lock` exclusively, remove it afterwards."""
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    deadline = time.monotonic() + wait
    while True:
        try:
            os.close(os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise ConfigError(f"{lock} exists for {wait:.0f}s: another kubectl/airkube is writing {path}; "
                                  "remove the lock file if nothing is") from None
            time.sleep(0.1)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
