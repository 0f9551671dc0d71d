"""airkube.kube: the one polling loop and the generic object wait (no cluster: scripted reads)."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from airkube.errors import ConfigError, KubeError, WaitTimeout
from airkube.kube import (
    connect,
    create_or_update,
    poll_until,
    release_selector,
    selector,
    wait_for_objects,
    wait_gone,
)


def _clock(step: float = 1.0):
    t = [0.0]

    def clock() -> float:
        return t[0]

    def sleep(s: float) -> None:
        t[0] += s

    return clock, sleep


def test_poll_until_returns_the_first_truthy_value() -> None:
    values = iter([None, 0, "", "done"])
    clock, sleep = _clock()
    assert poll_until(lambda: next(values), 10, "x", clock=clock, sleep=sleep) == "done"


def test_poll_until_times_out_naming_the_last_state() -> None:
    clock, sleep = _clock()
    seen = []
    with pytest.raises(WaitTimeout, match=r"pod a/b is Pending after 5s"):
        poll_until(lambda: seen.append(1), 5, lambda: "pod a/b is Pending", interval=1, clock=clock, sleep=sleep)
    assert len(seen) == 6  # t = 0..5
    assert issubclass(WaitTimeout, TimeoutError) and issubclass(WaitTimeout, KubeError)


def test_wait_for_objects_missing_ok_and_condition(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = {"a": iter([404, "no", "yes"]), "b": iter(["yes", "yes", "yes"])}

    def read(name: str) -> str:
        value = next(reads[name])
        if value == 404:
            raise ApiException(status=404)
        return value

    monkeypatch.setattr("airkube.kube.time.sleep", lambda s: None)
    assert wait_for_objects(read, ["a", "b"], lambda v: v == "yes", 30, "things", missing_ok=True) == ["yes", "yes"]


def test_wait_gone_reraises_other_api_errors() -> None:
    def read() -> None:
        raise ApiException(status=403)

    with pytest.raises(ApiException):
        wait_gone(read, "pod x", 1)


def test_selectors() -> None:
    assert selector({"a": "1", "b": "2"}) == "a=1,b=2"
    assert release_selector("r") == "app.kubernetes.io/instance=r"
    assert release_selector("r", "scheduler") == "app.kubernetes.io/component=scheduler,app.kubernetes.io/instance=r"


def test_connect_names_the_bad_kubeconfig(tmp_path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="nope.yaml"):
        connect(missing)


def test_create_or_update_on_conflict_only() -> None:
    calls: list[str] = []

    def exists() -> None:
        raise ApiException(status=409, reason="AlreadyExists")

    assert create_or_update(lambda: calls.append("create")) is True
    assert create_or_update(exists, lambda: calls.append("update")) is False
    assert create_or_update(exists) is False  # kept as it is
    assert calls == ["create", "update"]

    def forbidden() -> None:
        raise ApiException(status=403, reason="Forbidden")

    with pytest.raises(ApiException):
        create_or_update(forbidden, lambda: calls.append("never"))
    assert calls == ["create", "update"]
