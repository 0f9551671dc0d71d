"""P5: idle memory (working set, from the kubelet's stats summary) of the long-running components."""

from __future__ import annotations

import json
from typing import Any

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "postgres")


def working_sets(core: Any, namespace: str, release: str) -> dict[str, int]:
    """Bytes of working set per component of ``release`` (sum over its pods and containers)."""
    pods = core.list_namespaced_pod(namespace, label_selector=f"app.kubernetes.io/instance={release}").items
    component_of = {
        p.metadata.name: " ".join(
            (p.metadata.labels or {}).get(key, "") for key in ("app.kubernetes.io/component", "app.kubernetes.io/name")
        )
        for p in pods
        if p.status.phase == "Running"
    }
    nodes = {p.spec.node_name for p in pods if p.spec.node_name}
    totals: dict[str, int] = {}
    for node in sorted(nodes):
        raw = core.connect_get_node_proxy_with_path(node, "stats/summary", _preload_content=False).data
        for pod in json.loads(raw).get("pods", []):
            ref = pod.get("podRef", {})
            if ref.get("namespace") != namespace or ref.get("name") not in component_of:
                continue
            component = _component(component_of[ref["name"]])
            if component is None:
                continue
            for container in pod.get("containers", []):
                ws = (container.get("memory") or {}).get("workingSetBytes") or 0
                totals[component] = totals.get(component, 0) + int(ws)
    return totals


def _component(labels: str) -> str | None:
    """``"<component label> <name label>"`` → one of COMPONENTS (postgres: component `database`, name `postgres`)."""
    for name in COMPONENTS:
        if name in labels.split():
            return name
    return None
