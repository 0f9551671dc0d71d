"""Small Kubernetes helpers shared by the toolkit's own pods (smoke fixtures, git server, dags push, bench)."""

from __future__ import annotations

import time
from typing import Any, Callable

def restricted_security() -> dict[str, Any]:
    """securityContext of every container airkube starts itself: non-root, nothing to escalate, read-only root."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def wait_gone(read: Callable[[], Any], what: str, timeout: float) -> None:
    """Poll ``read()`` (a kubernetes ``read_*`` call) until it answers 404; raise TimeoutError naming ``what``."""
    from kubernetes.client.exceptions import ApiException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            read()
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        time.sleep(1)
    raise TimeoutError(f"{what} still exists after {timeout:.0f}s")
