"""A small client for the Airflow 3 REST API (``/api/v2``) with SimpleAuthManager token login.

Standard library only (``urllib``), so it works wherever the toolkit does. Request building is separate
from sending (:meth:`AirflowClient.build_request`) to keep it testable without a server.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from ..errors import AirflowAPIError


class RequestParts(TypedDict, total=False):
    """What a request carries besides method and path: a JSON body, query parameters, the bearer token or not."""

    body: Any
    params: dict[str, Any] | None
    auth: bool


@dataclass
class AirflowClient:
    """Talks to one api-server. ``base_url`` is e.g. ``http://127.0.0.1:41234`` (add any ``[api] base_url`` path)."""

    base_url: str
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    token: str | None = field(default=None, repr=False)

    # --- request building ---------------------------------------------------------------------------
    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        base = self.base_url.rstrip("/")
        if not path.startswith("/"):
            path = "/" + path
        query = ""
        if params:
            clean = {k: _query_value(v) for k, v in params.items() if v is not None}
            query = "?" + urllib.parse.urlencode(clean, doseq=True)
        return base + path + query

    def build_request(self, method: str, path: str, **parts: Unpack[RequestParts]) -> urllib.request.Request:
        data = None
        headers = {"Accept": "application/json"}
        body = parts.get("body")
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if parts.get("auth", True) and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return urllib.request.Request(self.url(path, parts.get("params")), data=data, headers=headers,
                                      method=method.upper())

    # --- sending -------------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 204), retries: int = 3,
                **parts: Unpack[RequestParts]) -> tuple[int, Any]:
        """Send a request; return ``(status, parsed JSON or text)``. Re-logs in once on 401."""
        relogged = False
        attempt = 0
        auth = parts.get("auth", True)
        while True:
            req = self.build_request(method, path, **parts)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (loopback URL)
                    return resp.status, _parse(resp.read(), resp.headers.get("Content-Type", ""))
            except urllib.error.HTTPError as exc:
                text = exc.read().decode(errors="replace")
                if exc.code == 401 and auth and self.username and not relogged:
                    relogged = True
                    self.login()
                    continue
                if exc.code in ok:
                    return exc.code, _parse(text.encode(), exc.headers.get("Content-Type", ""))
                if exc.code in (502, 503, 504) and attempt < retries:
                    attempt += 1
                    time.sleep(1.5 * attempt)
                    continue
                raise AirflowAPIError(
                    f"{method.upper()} {req.full_url} answered {exc.code}: {text[:500]}", exc.code, text
                ) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if attempt < retries:
                    attempt += 1
                    time.sleep(1.5 * attempt)
                    continue
                raise AirflowAPIError(
                    f"{method.upper()} {req.full_url} failed: {exc}. Is the port-forward to the api-server up?"
                ) from None

    # --- auth ------------------------------------------------------------------------------------------
    def login(self) -> str:
        """SimpleAuthManager: ``POST /auth/token`` with username/password → bearer token."""
        if not self.username:
            raise AirflowAPIError("no username given for POST /auth/token")
        _, data = self.request(
            "POST", "/auth/token", body={"username": self.username, "password": self.password}, auth=False
        )
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            raise AirflowAPIError(f"POST /auth/token returned no access_token: {data!r}")
        self.token = token
        return token

    # --- endpoints ---------------------------------------------------------------------------------------
    def version(self) -> dict[str, Any]:
        return self.request("GET", "/api/v2/version")[1]

    def health(self) -> dict[str, Any]:
        return self.request("GET", "/api/v2/monitor/health", auth=False)[1]

    def get_dag(self, dag_id: str) -> dict[str, Any] | None:
        status, data = self.request("GET", f"/api/v2/dags/{_q(dag_id)}", ok=(200, 404))
        return data if status == 200 else None

    def import_errors(self) -> list[dict[str, Any]]:
        _, data = self.request("GET", "/api/v2/importErrors", params={"limit": 100})
        return list(data.get("import_errors", [])) if isinstance(data, dict) else []

    def set_paused(self, dag_id: str, paused: bool) -> dict[str, Any]:
        return self.request(
            "PATCH", f"/api/v2/dags/{_q(dag_id)}", body={"is_paused": paused}, params={"update_mask": "is_paused"}
        )[1]

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"dag_run_id": run_id, "logical_date": None, "conf": conf or {}}
        return self.request("POST", f"/api/v2/dags/{_q(dag_id)}/dagRuns", body=body)[1]

    def get_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}")[1]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        _, data = self.request(
            "GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances", params={"limit": 100}
        )
        return list(data.get("task_instances", [])) if isinstance(data, dict) else []

    def task_log(
        self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1
    ) -> list[str]:
        """The task log as lines of text (structured messages flattened to their ``event``)."""
        _, data = self.request(
            "GET",
            f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/logs/{int(try_number)}",
            params={"full_content": True, "map_index": map_index},
        )
        return flatten_log(data)


def flatten_log(data: Any) -> list[str]:
    """Turn a ``TaskInstancesLogResponse`` (or plain text) into lines."""
    if isinstance(data, str):
        return data.splitlines()
    content = data.get("content", []) if isinstance(data, dict) else data
    lines: list[str] = []
    if isinstance(content, str):
        return content.splitlines()
    for item in content or []:
        if isinstance(item, dict):
            event = str(item.get("event", ""))
            lines.extend(event.splitlines() or [""])
        else:
            lines.extend(str(item).splitlines())
    return lines


def _q(part: str) -> str:
    return urllib.parse.quote(str(part), safe="")


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _parse(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode(errors="replace")
    if "json" in content_type or text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
