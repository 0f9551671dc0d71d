"""Static mappings from Airflow 1.10 / 2.x names to Airflow 3.3 + provider names (checked on 3.3.2)."""

from __future__ import annotations

import re

# a Jinja expression or statement inside a string (templated operator fields)
JINJA_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)

KPO_MODULE = "airflow.providers.cncf.kubernetes.operators.pod"
SECRET_MODULE = "airflow.providers.cncf.kubernetes.secret"
K8S_MODELS = "kubernetes.client"  # imported as `from kubernetes.client import models as k8s`

# module → new module, for every name the module exports (names unchanged)
MODULE_MAP: dict[str, str] = {
    "airflow.contrib.operators.kubernetes_pod_operator": KPO_MODULE,
    "airflow.providers.cncf.kubernetes.operators.kubernetes_pod": KPO_MODULE,
    "airflow.contrib.kubernetes.secret": SECRET_MODULE,
    "airflow.kubernetes.secret": SECRET_MODULE,
    "airflow.operators.bash_operator": "airflow.providers.standard.operators.bash",
    "airflow.operators.bash": "airflow.providers.standard.operators.bash",
    "airflow.operators.python_operator": "airflow.providers.standard.operators.python",
    "airflow.operators.python": "airflow.providers.standard.operators.python",
    "airflow.operators.dummy_operator": "airflow.providers.standard.operators.empty",
    "airflow.operators.dummy": "airflow.providers.standard.operators.empty",
    "airflow.operators.empty": "airflow.providers.standard.operators.empty",
    "airflow.operators.latest_only_operator": "airflow.providers.standard.operators.latest_only",
    "airflow.operators.latest_only": "airflow.providers.standard.operators.latest_only",
    "airflow.operators.dagrun_operator": "airflow.providers.standard.operators.trigger_dagrun",
    "airflow.operators.trigger_dagrun": "airflow.providers.standard.operators.trigger_dagrun",
    "airflow.sensors.external_task_sensor": "airflow.providers.standard.sensors.external_task",
    "airflow.sensors.external_task": "airflow.providers.standard.sensors.external_task",
    "airflow.operators.branch_operator": "airflow.providers.standard.operators.branch",
    "airflow.operators.branch": "airflow.providers.standard.operators.branch",
    "airflow.sensors.time_delta_sensor": "airflow.providers.standard.sensors.time_delta",
    "airflow.sensors.time_delta": "airflow.providers.standard.sensors.time_delta",
    "airflow.sensors.time_sensor": "airflow.providers.standard.sensors.time",
    "airflow.sensors.time": "airflow.providers.standard.sensors.time",
    "airflow.contrib.sensors.file_sensor": "airflow.providers.standard.sensors.filesystem",
    "airflow.sensors.filesystem": "airflow.providers.standard.sensors.filesystem",
    "airflow.contrib.sensors.python_sensor": "airflow.providers.standard.sensors.python",
    "airflow.sensors.python": "airflow.providers.standard.sensors.python",
}
# Airflow 1.10/2.x packages whose other modules are gone in Airflow 3 (moved to providers or removed): refused
REMOVED_PACKAGES = ("airflow.contrib", "airflow.kubernetes", "airflow.operators", "airflow.sensors", "airflow.hooks")
# (module, name) → (new module, new name): moves that differ per name
NAME_MAP: dict[tuple[str, str], tuple[str, str]] = {
    ("airflow", "DAG"): ("airflow.sdk", "DAG"),
    ("airflow.models", "DAG"): ("airflow.sdk", "DAG"),
    ("airflow.models.dag", "DAG"): ("airflow.sdk", "DAG"),
    ("airflow.models", "Variable"): ("airflow.sdk", "Variable"),
    ("airflow.models", "BaseOperator"): ("airflow.sdk", "BaseOperator"),
    ("airflow.models.baseoperator", "BaseOperator"): ("airflow.sdk", "BaseOperator"),
    ("airflow.models.baseoperator", "chain"): ("airflow.sdk", "chain"),
    ("airflow.models.baseoperator", "cross_downstream"): ("airflow.sdk", "cross_downstream"),
    ("airflow.utils.helpers", "chain"): ("airflow.sdk", "chain"),
    ("airflow.utils.helpers", "cross_downstream"): ("airflow.sdk", "cross_downstream"),
    ("airflow.decorators", "dag"): ("airflow.sdk", "dag"),
    ("airflow.decorators", "task"): ("airflow.sdk", "task"),
    ("airflow.decorators", "task_group"): ("airflow.sdk", "task_group"),
    ("airflow.utils.task_group", "TaskGroup"): ("airflow.sdk", "TaskGroup"),
    ("airflow.operators.python", "get_current_context"): ("airflow.sdk", "get_current_context"),
    ("airflow.models.param", "Param"): ("airflow.sdk", "Param"),
    ("airflow.models", "Param"): ("airflow.sdk", "Param"),
    ("airflow.utils.edgemodifier", "Label"): ("airflow.sdk", "Label"),
    ("airflow.hooks.base_hook", "BaseHook"): ("airflow.sdk", "BaseHook"),
    ("airflow.hooks.base", "BaseHook"): ("airflow.sdk", "BaseHook"),
    ("airflow.datasets", "Dataset"): ("airflow.sdk", "Asset"),
    ("airflow.sensors.base", "BaseSensorOperator"): ("airflow.sdk", "BaseSensorOperator"),
    ("airflow.sensors.base", "PokeReturnValue"): ("airflow.sdk", "PokeReturnValue"),
    ("airflow.sensors.base_sensor_operator", "BaseSensorOperator"): ("airflow.sdk", "BaseSensorOperator"),
}
# names renamed with their module (every use of the old name in the file is renamed too)
NAME_RENAMES: dict[str, str] = {"DummyOperator": "EmptyOperator"}

# 1.10 model classes replaced by kubernetes.client models; value = what the tool calls them
K8S_MODEL_MODULES: dict[str, set[str]] = {
    "airflow.contrib.kubernetes.volume": {"Volume"},
    "airflow.contrib.kubernetes.volume_mount": {"VolumeMount"},
    "airflow.kubernetes.volume": {"Volume"},
    "airflow.kubernetes.volume_mount": {"VolumeMount"},
    "airflow.contrib.kubernetes.pod": {"Resources", "Port"},
    "airflow.kubernetes.pod": {"Resources", "Port"},
    "airflow.contrib.kubernetes.pod_runtime_info_env": {"PodRuntimeInfoEnv"},
    "airflow.kubernetes.pod_runtime_info_env": {"PodRuntimeInfoEnv"},
}
MODEL_CLASSES = {"Volume", "VolumeMount", "Resources", "Port", "PodRuntimeInfoEnv"}
# removed functions the tool rewrites: (module, name)
DAYS_AGO = ("airflow.utils.dates", "days_ago")

LABEL_RENAMES = {
    "failure-domain.beta.kubernetes.io/zone": "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region": "topology.kubernetes.io/region",
    "beta.kubernetes.io/os": "kubernetes.io/os",
    "beta.kubernetes.io/arch": "kubernetes.io/arch",
    "beta.kubernetes.io/instance-type": "node.kubernetes.io/instance-type",
}
KPO_KWARG_RENAMES = {"node_selectors": "node_selector", "xcom_push": "do_xcom_push"}
DAG_KWARG_RENAMES = {"schedule_interval": "schedule", "timetable": "schedule", "concurrency": "max_active_tasks"}
# DAG arguments removed in Airflow 3 with no equivalent: refused (SLAs: accepted but never evaluated)
DAG_KWARGS_REMOVED = {"sla_miss_callback"}
# DAG arguments removed in Airflow 3 that only affected the UI (a TypeError now): dropped
DAG_KWARGS_UI_ONLY = {"full_filepath", "default_view", "orientation"}

# keyword of Resources(...) / resources={...} → (group, resource name)
RESOURCE_KEYS = {
    "request_memory": ("requests", "memory"),
    "request_cpu": ("requests", "cpu"),
    "request_ephemeral_storage": ("requests", "ephemeral-storage"),
    "limit_memory": ("limits", "memory"),
    "limit_cpu": ("limits", "cpu"),
    "limit_gpu": ("limits", "nvidia.com/gpu"),
    "limit_ephemeral_storage": ("limits", "ephemeral-storage"),
}
# template variables removed from the Airflow 3 context: old → new (None: no exact equivalent → refused)
TEMPLATE_RENAMES: dict[str, str | None] = {
    "execution_date": "logical_date",
    "next_execution_date": None,
    "prev_execution_date": None,
    "next_ds": None,
    "next_ds_nodash": None,
    "prev_ds": None,
    "prev_ds_nodash": None,
    "tomorrow_ds": None,
    "tomorrow_ds_nodash": None,
    "yesterday_ds": None,
    "yesterday_ds_nodash": None,
    "prev_execution_date_success": None,
}
