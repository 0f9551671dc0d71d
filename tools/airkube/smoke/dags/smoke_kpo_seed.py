"""airkube smoke DAG: the KubernetesPodOperator call of the Airflow 1.10 seed document, in today's API.

Every argument of the seed call is exercised, and the container proves each one took effect: it prints
``AIRKUBE-EVIDENCE name=value`` lines and exits 1 when anything is missing, so a green task means every
argument worked. Mapping from the seed (airflow.contrib, 1.10) to apache-airflow-providers-cncf-kubernetes:

* ``Secret(...)``                    -> same arguments; a volume secret mounts the whole Secret, so the file is
                                         ``/etc/sql_conn/sql_alchemy_conn``
* ``Volume(name, configs={...})``    -> ``k8s.V1Volume(persistent_volume_claim=...)``
* ``VolumeMount(...)``               -> ``k8s.V1VolumeMount(...)``
* ``configmaps=[...]``               -> ``env_from=[k8s.V1EnvFromSource(config_map_ref=...)]``
* ``is_delete_operator_pod=True``    -> ``on_finish_action="delete_pod"``
* ``failure-domain.beta.kubernetes.io/zone`` -> ``topology.kubernetes.io/zone``
* ``arguments=["echo", "10"]`` with ``bash -cx`` runs ``echo`` with ``$0=10`` (prints an empty line):
  the script is passed as ONE argument.

Runtime knobs (no Airflow Variable, no database access while parsing):

* image: DAG param ``image`` (the smoke runner passes it in the run ``conf``); default from the environment
  variable ``AIRKUBE_SMOKE_BASH_IMAGE`` of the parsing process, else ``docker.io/library/bash:5.2``.
* namespace: ``AIRKUBE_SMOKE_NAMESPACE`` of the parsing process, else ``AIRKUBE_KPO_NAMESPACE`` (the chart's
  KubernetesPodOperator namespace, set in every Airflow container when ``kubernetesPodOperator.enabled``: task
  pods may create pods there only), else the namespace of the pod that parses the file, else ``default``.
"""

from __future__ import annotations

import os
from pathlib import Path

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.sdk import DAG, Param
from kubernetes.client import models as k8s

DAG_ID = "smoke_kpo_seed"
DEFAULT_IMAGE = "docker.io/library/bash:5.2"
_SA_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def _namespace() -> str:
    for name in ("AIRKUBE_SMOKE_NAMESPACE", "AIRKUBE_KPO_NAMESPACE"):
        env = os.environ.get(name, "").strip()
        if env:
            return env
    try:
        return _SA_NAMESPACE_FILE.read_text().strip() or "default"
    except OSError:
        return "default"


# --- the seed's arguments, today's API ---------------------------------------------------------------
secret_file = Secret("volume", "/etc/sql_conn", "airflow-secrets", "sql_alchemy_conn")
secret_env = Secret("env", "SQL_CONN", "airflow-secrets", "sql_alchemy_conn")
secret_all_keys = Secret("env", None, "airflow-secrets-2")

volume_mount = k8s.V1VolumeMount(name="test-volume", mount_path="/root/mount_file", sub_path=None, read_only=True)
volume = k8s.V1Volume(
    name="test-volume",
    persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="test-volume"),
)

configmaps = ["test-configmap-1", "test-configmap-2"]
env_from = [k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name=name)) for name in configmaps]

affinity = k8s.V1Affinity(
    node_affinity=k8s.V1NodeAffinity(
        preferred_during_scheduling_ignored_during_execution=[
            k8s.V1PreferredSchedulingTerm(
                weight=1,
                preference=k8s.V1NodeSelectorTerm(
                    match_expressions=[
                        k8s.V1NodeSelectorRequirement(key="disktype", operator="In", values=["ssd"])
                    ]
                ),
            )
        ]
    ),
    pod_affinity=k8s.V1PodAffinity(
        required_during_scheduling_ignored_during_execution=[
            k8s.V1PodAffinityTerm(
                label_selector=k8s.V1LabelSelector(
                    match_expressions=[
                        k8s.V1LabelSelectorRequirement(key="security", operator="In", values=["S1"])
                    ]
                ),
                topology_key="topology.kubernetes.io/zone",
            )
        ]
    ),
    pod_anti_affinity=k8s.V1PodAntiAffinity(
        required_during_scheduling_ignored_during_execution=[
            k8s.V1PodAffinityTerm(
                label_selector=k8s.V1LabelSelector(
                    match_expressions=[
                        k8s.V1LabelSelectorRequirement(key="security", operator="In", values=["S2"])
                    ]
                ),
                topology_key="kubernetes.io/hostname",
            )
        ]
    ),
)

tolerations = [k8s.V1Toleration(key="key", operator="Equal", value="value")]

# The container's proof, bash builtins + coreutils only (works on docker.io/library/bash and the Debian-based
# airkube.local/bash). `printf '%s-%s ...' AIRKUBE EVIDENCE` keeps the literal marker out of the `bash -x`
# trace, so only real results carry it.
EVIDENCE_SCRIPT = r"""
fail=0
ev() { printf '%s-%s %s=%s\n' AIRKUBE EVIDENCE "$1" "$2"; }
miss() { printf '%s-%s %s\n' AIRKUBE MISSING "$1"; fail=1; }
f=/etc/sql_conn/sql_alchemy_conn
if [ -s "$f" ]; then ev secret_file "$(cat "$f")"; else miss secret_file; fi
if [ -n "${SQL_CONN:-}" ]; then ev secret_env "$SQL_CONN"; else miss secret_env; fi
if [ -s "$f" ] && [ "$(cat "$f")" != "${SQL_CONN:-}" ]; then miss secret_file_equals_env; fi
if [ -n "${AIRKUBE_SECRET2:-}" ]; then ev secret_all_keys "$AIRKUBE_SECRET2"; else miss secret_all_keys; fi
if [ -n "${AIRKUBE_CM1:-}" ]; then ev configmap_1 "$AIRKUBE_CM1"; else miss configmap_1; fi
if [ -n "${AIRKUBE_CM2:-}" ]; then ev configmap_2 "$AIRKUBE_CM2"; else miss configmap_2; fi
{ set +x; } 2>/dev/null  # one trace line per mount is noise
opts=""
while read -r _dev mnt _fs mopts _rest; do
  if [ "$mnt" = /root/mount_file ]; then opts="$mopts"; fi
done < /proc/mounts
set -x
case ",$opts," in
  *,ro,*) ev pvc_mount "ro" ;;
  ,,) miss pvc_mount ;;
  *) miss pvc_mount_read_only ;;
esac
if touch /root/mount_file/.airkube-write-probe 2>/dev/null; then miss pvc_write_refused; else ev pvc_write_refused yes; fi
ev hostname "${HOSTNAME:-$(cat /proc/sys/kernel/hostname)}"
echo 10
exit "$fail"
"""

with DAG(
    dag_id=DAG_ID,
    schedule=None,
    catchup=False,
    tags=["airkube-smoke"],
    params={"image": Param(os.environ.get("AIRKUBE_SMOKE_BASH_IMAGE", DEFAULT_IMAGE), type="string")},
    doc_md=__doc__,
) as dag:
    k = KubernetesPodOperator(
        namespace=_namespace(),
        image="{{ params.image }}",
        cmds=["bash", "-cx"],
        arguments=[EVIDENCE_SCRIPT],
        labels={"foo": "bar"},
        secrets=[secret_file, secret_env, secret_all_keys],
        volumes=[volume],
        volume_mounts=[volume_mount],
        name="test",
        task_id="task",
        affinity=affinity,
        on_finish_action="delete_pod",
        hostnetwork=False,
        tolerations=tolerations,
        env_from=env_from,
        # Pod Security "restricted" (enforced on the e2e namespaces): not in the 1.10 seed, which predates PSA
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True, run_as_user=65534, run_as_group=65534,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")),
        container_security_context={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    )
