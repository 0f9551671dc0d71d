"""airkube smoke DAG: plain tasks and a mapped fan-out run by the KubernetesExecutor, one pod each.

Each task reports where it ran (``AIRKUBE-EVIDENCE`` lines in its log) and returns it as XCom; the last task
checks that every task instance ran in a pod of its own: the executor marks its worker pods with
``AIRFLOW_IS_K8S_EXECUTOR_POD=True``, a pod's hostname is its pod name, and no two task instances may share
one. The smoke runner adds the outside view: the pod names recorded by the API (TI ``hostname``) and the
worker pods' labels, compared against the scheduler's pod names.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from airflow.sdk import dag, task

DAG_ID = "smoke_executor"
FAN_OUT = [1, 2, 3, 4]
_SA_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def _where(label: str) -> dict[str, str]:
    """Describe the pod this task runs in, print it as evidence, fail when it is not an executor pod."""
    info = {
        "label": label,
        "hostname": socket.gethostname(),
        "executor_pod": os.environ.get("AIRFLOW_IS_K8S_EXECUTOR_POD", ""),
        # without KubernetesPodOperator support the task pod mounts no service-account token (least privilege),
        # so the namespace file is absent: that is expected, not a failure
        "namespace": (_SA_NAMESPACE_FILE.read_text().strip() if _SA_NAMESPACE_FILE.exists()
                      else "unknown (no service-account token mounted)"),
    }
    for key, value in info.items():
        print(f"AIRKUBE-EVIDENCE {label}.{key}={value}", flush=True)
    if info["executor_pod"] != "True":
        raise RuntimeError(
            f"{label}: AIRFLOW_IS_K8S_EXECUTOR_POD is {info['executor_pod']!r}: this task did not run in a "
            "pod created by the KubernetesExecutor (check `[core] executor`)."
        )
    return info


@dag(dag_id=DAG_ID, schedule=None, catchup=False, tags=["airkube-smoke"], doc_md=__doc__)
def smoke_executor():
    @task
    def start() -> dict[str, str]:
        return _where("start")

    @task
    def fan(item: int) -> dict[str, str]:
        return _where(f"fan{item}")

    @task
    def check(first: dict[str, str], fanned: list[dict[str, str]]) -> None:
        me = _where("check")
        everyone = [first, *fanned, me]
        hostnames = [entry["hostname"] for entry in everyone]
        print(f"AIRKUBE-EVIDENCE pods={','.join(hostnames)}", flush=True)
        if len(set(hostnames)) != len(hostnames):
            raise RuntimeError(f"task instances shared a pod: {hostnames}")
        if len(fanned) != len(FAN_OUT):
            raise RuntimeError(f"expected {len(FAN_OUT)} mapped task instances, got {len(fanned)}")
        namespaces = {entry["namespace"] for entry in everyone}
        if len(namespaces) != 1:
            raise RuntimeError(f"worker pods ran in several namespaces: {sorted(namespaces)}")
        print(f"AIRKUBE-EVIDENCE distinct_pods={len(set(hostnames))}", flush=True)

    check(start(), fan.expand(item=FAN_OUT))


smoke_executor()
