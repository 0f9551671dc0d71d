#!/usr/bin/env python3
"""Generate charts/airflow/values.schema.json (run from anywhere: `python charts/airflow/schema/gen_schema.py`).

The schema is written here as Python so the repeated component block is defined once. Our own objects get
`additionalProperties: false`; Kubernetes objects the user passes through (resources, affinity, volumes, env …)
and the free-form `config` map stay open. Descriptions come from the `## @param` lines of values.yaml, so the
README table and the schema never disagree. tests/charts/test_schema.py checks the committed file is up to date.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

CHART = Path(__file__).resolve().parent.parent


def param_descriptions() -> dict[str, str]:
    out = {}
    for line in (CHART / "values.yaml").read_text().splitlines():
        m = re.match(r"\s*## @param (\S+) (.*)", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


DESC = param_descriptions()


def obj(props: dict, required: list[str] | None = None, **kw) -> dict:
    s = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        s["required"] = required
    s.update(kw)
    return s


S = {"type": "string"}
B = {"type": "boolean"}
INT0 = {"type": "integer", "minimum": 0}
INT1 = {"type": "integer", "minimum": 1}
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
MAP = {"type": "object"}  # free-form (Kubernetes object)
LIST = {"type": "array"}
STRMAP = {"type": "object", "additionalProperties": {"type": "string"}}
ENVLIST = {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}}}
VOLLIST = {"type": "array", "items": {"type": "object", "required": ["name"]}}
MOUNTLIST = {"type": "array", "items": {"type": "object", "required": ["name", "mountPath"]}}
PULL = {"type": "string", "enum": ["Always", "IfNotPresent", "Never"]}
ACCESS = {"type": "string", "enum": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]}
QUANTITY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"}
RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"requests": MAP, "limits": MAP, "claims": LIST},
}
SECNAME = {"type": "string", "pattern": r"^$|^[a-z0-9{]([-a-z0-9.{}\[\] |\"$_]*[a-z0-9}])?$"}
ABS_PATH = {"type": "string", "pattern": "^/"}
# metrics: a Prometheus duration (30s, 1m30s, 0s), a StatsD/OTel prefix that is also a Prometheus name prefix
DURATION = {"type": "string", "pattern": r"^([0-9]+(ms|s|m|h|d|w|y))+$"}
METRIC_PREFIX = {"type": "string", "pattern": r"^[a-zA-Z_][a-zA-Z0-9_]*$"}
HTTP_URL = {"type": "string", "pattern": r"^$|^https?://[^/?#]+"}


# An image tag is a string: a YAML number would be read as one (`3.10` becomes 3.1), so numbers are refused.
# Docker's tag grammar, optionally pinned by digest (`3.3.2@sha256:…`).
TAG = {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[a-f0-9]{64})?$"}


DIGEST = {"type": "string", "pattern": r"^$|^sha256:[a-f0-9]{64}$"}


def image():
    return obj({"repository": {"type": "string", "minLength": 1}, "tag": TAG,
                "digest": DIGEST, "pullPolicy": PULL}, ["repository", "tag"])


def probe():
    return obj({"enabled": B, "initialDelaySeconds": INT0, "periodSeconds": INT1, "timeoutSeconds": INT1, "failureThreshold": INT1})


def service_account():
    return obj({"create": B, "name": S, "annotations": STRMAP})


def security_contexts():
    return obj({"pod": MAP, "container": MAP})


# a PodDisruptionBudget count: an integer or a percentage ("50%"); null: not set
INT_OR_PERCENT = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^[0-9]+%$"}, {"type": "null"}]}
JOB_CHECK = {"type": "string", "enum": ["script", "cli"]}  # dag-processor/triggerer probes (files/job-check.py)
CONTAINERS = {"oneOf": [{"type": "array", "items": {"type": "object", "required": ["name"]}}, {"type": "string"}]}
SUBPATH = {"type": "string", "pattern": r"^/([^/?#]+(/[^/?#]+)*)?/?$"}


# workers.podTemplate: a string (checked after tpl by the template) or a Pod manifest with a `base` container
POD_TEMPLATE = {"oneOf": [
    {"type": "string"},
    {"type": "object", "required": ["apiVersion", "kind", "spec"], "properties": {
        "apiVersion": {"const": "v1"}, "kind": {"const": "Pod"}, "metadata": MAP,
        "spec": {"type": "object", "required": ["containers"], "properties": {"containers": {
            "type": "array", "items": {"type": "object", "required": ["name"]},
            "contains": {"type": "object", "required": ["name"], "properties": {"name": {"const": "base"}}}}}}}},
]}


# a CronJob schedule: five fields (minute hour day-of-month month day-of-week) or a @macro
CRON = {"type": "string", "pattern": r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$"}
# the tables `airflow db clean --tables` accepts (Airflow 3.3.2, `airflow db clean --help`)
DB_CLEAN_TABLES = ["_xcom_archive", "asset_event", "callback", "celery_taskmeta", "celery_tasksetmeta",
                   "connection_test_request", "dag", "dag_run", "dag_version", "deadline", "import_error", "job", "log",
                   "partitioned_asset_key_log", "revoked_token", "task_instance", "task_instance_history",
                   "task_reschedule", "task_state_store", "trigger", "xcom"]


def pdb():
    return obj({"enabled": B, "minAvailable": INT_OR_PERCENT, "maxUnavailable": INT_OR_PERCENT})


def component(extra: dict | None = None):
    props = {
        "priorityClassName": S, "topologySpreadConstraints": {"type": "array", "items": MAP},
        "extraContainers": CONTAINERS, "extraInitContainers": CONTAINERS, "podDisruptionBudget": pdb(),
        "enabled": B, "replicas": INT0, "resources": RESOURCES, "securityContexts": security_contexts(),
        "serviceAccount": service_account(), "extraEnv": ENVLIST, "extraVolumes": VOLLIST,
        "extraVolumeMounts": MOUNTLIST, "nodeSelector": STRMAP, "affinity": MAP, "tolerations": LIST,
        "labels": STRMAP, "annotations": STRMAP, "podAnnotations": STRMAP,
        "livenessProbe": probe(), "readinessProbe": probe(), "startupProbe": probe(),
    }
    props.update(extra or {})
    return obj(props)


def secret_ref(default_key: str):
    return obj({"existingSecret": SECNAME, "key": {"type": "string", "minLength": 1}})


SCHEMA_PROPS = {
    "global": MAP,
    "nameOverride": S,
    "fullnameOverride": {"type": "string", "maxLength": 53},
    "commonLabels": STRMAP,
    "partOf": S,
    "imagePullSecrets": {"type": "array", "items": {"type": "object", "required": ["name"]}},
    "images": obj({"airflow": image(), "gitSync": image(), "statsdExporter": image()}),
    "executor": {"type": "string", "enum": ["KubernetesExecutor"]},
    "config": {"type": "object", "additionalProperties": {"type": ["object", "null"]}},
    "extraEnv": ENVLIST,
    "extraEnvFrom": LIST,
    "airflowLocalSettings": S,
    "podSecurityContext": MAP,
    "containerSecurityContext": MAP,
    "tmpSizeLimit": QUANTITY,
    "secrets": obj({
        "fernetKey": secret_ref("fernet-key"), "apiSecretKey": secret_ref("api-secret-key"),
        "jwtSecret": secret_ref("jwt-secret"), "keepOnUninstall": B,
    }),
    "auth": obj({
        "manager": {"type": "string", "enum": ["simple", "fab"]},
        "users": {"type": "array", "items": obj({
            "username": {"type": "string", "pattern": r"^[A-Za-z0-9_.@-]+$"},
            "role": {"type": "string", "enum": ["viewer", "user", "op", "admin"]},
        }, ["username", "role"])},
        "existingSecret": SECNAME,
        "passwordsFileKey": {"type": "string", "minLength": 1},
        "passwordKey": {"type": "string", "minLength": 1},
    }),
    "postgres": {
        # the subchart validates its own keys; these are the ones this chart reads
        "type": "object",
        "properties": {
            "enabled": B, "fullnameOverride": S,
            "image": {"type": "object", "properties": {"repository": S, "tag": {"type": "string"}, "digest": DIGEST,
                                                      "pullPolicy": PULL}},
            "auth": {"type": "object", "properties": {"username": {"type": "string", "minLength": 1},
                                                      "database": {"type": "string", "minLength": 1},
                                                      "existingSecret": S, "passwordKey": {"type": "string", "minLength": 1}}},
            "persistence": {"type": "object", "properties": {"size": QUANTITY, "storageClassName": S, "accessMode": ACCESS}},
            "resources": RESOURCES,
            "service": {"type": "object", "properties": {"port": PORT}},
            "networkPolicy": {"type": "object", "properties": {"allowSameNamespace": B, "extraFrom": LIST}},
        },
    },
    "externalDatabase": obj({
        "urlSecret": SECNAME, "urlSecretKey": {"type": "string", "minLength": 1},
        "driver": {"type": "string", "enum": ["postgresql+psycopg2", "postgresql", "postgresql+psycopg", "mysql+mysqldb", "mysql"]},
        "host": {"type": "string", "pattern": r"^$|^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$"}, "port": PORT, "database": {"type": "string", "minLength": 1},
        "user": {"type": "string", "minLength": 1}, "passwordSecret": SECNAME, "passwordSecretKey": {"type": "string", "minLength": 1},
        "sslmode": {"type": "string", "enum": ["", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"]},
    }),
    "migrations": obj({
        "enabled": B, "backoffLimit": INT0, "activeDeadlineSeconds": INT1,
        "ttlSecondsAfterFinished": {"type": ["integer", "null"], "minimum": 0}, "waitTimeout": INT1,
        "waitCheck": {"type": "string", "enum": ["script", "cli"]},
        "resources": RESOURCES, "serviceAccount": service_account(), "extraEnv": ENVLIST,
        "annotations": STRMAP, "podAnnotations": STRMAP, "nodeSelector": STRMAP, "affinity": MAP, "tolerations": LIST,
    }),
    "apiServer": component({"autoscaling": obj({
        "enabled": B, "minReplicas": INT1, "maxReplicas": INT1,
        "targetCPUUtilizationPercentage": {"type": "integer", "minimum": 1, "maximum": 1000}}), "service": obj({
        "type": {"type": "string", "enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
        "port": PORT, "annotations": STRMAP})}),
    "scheduler": component({"gcFreezeBeforeFork": B}),
    "dagProcessor": component({"healthCheck": JOB_CHECK}),
    "triggerer": component({"healthCheck": JOB_CHECK, "serveLogs": B, "gcFreezeBeforeFork": B}),
    "workers": obj({
        "resources": RESOURCES, "securityContexts": security_contexts(), "serviceAccount": service_account(),
        "extraEnv": ENVLIST, "extraVolumes": VOLLIST, "extraVolumeMounts": MOUNTLIST, "nodeSelector": STRMAP,
        "affinity": MAP, "tolerations": LIST, "labels": STRMAP, "annotations": STRMAP,
        "terminationGracePeriodSeconds": INT0, "podTemplate": POD_TEMPLATE,
    }),
    "kubernetesExecutor": obj({
        "namespace": {"type": "string", "pattern": r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
        "deleteWorkerPods": B, "deleteWorkerPodsOnFailure": B, "workerPodsCreationBatchSize": INT1,
        "asyncPodCreation": B, "skipRepeatedPodDeletes": B, "asyncPodDeletion": B, "multiNamespaceMode": B,
        "multiNamespaces": {"type": "array", "items": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}},
    }),
    "kubernetesPodOperator": obj({
        "enabled": B,
        "namespace": {"type": "string", "pattern": r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
        "createNamespace": B, "namespaceLabels": STRMAP,
        "apiServerPorts": {"type": "array", "items": PORT},
    }),
    "rbac": obj({"create": B}),
    "dags": obj({
        "mountPath": ABS_PATH,
        "persistence": obj({"enabled": B, "existingClaim": S, "size": QUANTITY, "storageClassName": S,
                            "accessMode": ACCESS, "subPath": S}),
        "gitSync": obj({
            "enabled": B, "repo": {"type": "string", "pattern": r"^$|^(https?://|ssh://|git://|git@|file://)"},
            "branch": {"type": "string", "minLength": 1}, "rev": S, "depth": INT0,
            "period": {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"},
            "subPath": S, "maxFailures": INT0, "credentialsSecret": SECNAME, "sshKeySecret": SECNAME,
            "sshKeySecretKey": {"type": "string", "minLength": 1}, "knownHosts": S, "resources": RESOURCES,
            "extraEnv": ENVLIST, "emptyDirSizeLimit": QUANTITY,
        }),
        "bundles": {"type": "array", "items": obj({
            # the name is a ConfigMap key, a file name and (uppercased, - as _) part of an env var name
            "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 40},
            "kind": {"type": "string", "enum": ["git", "local"]},
            "repo": {"type": "string", "pattern": r"^$|^(https?://|ssh://|git://|git@|file://)"},
            "trackingRef": {"type": "string", "minLength": 1}, "subdir": S, "refreshInterval": INT1,
            "credentialsSecret": SECNAME, "usernameKey": {"type": "string", "minLength": 1},
            "tokenKey": {"type": "string", "minLength": 1}, "sshKeySecret": SECNAME,
            "sshKeySecretKey": {"type": "string", "minLength": 1}, "knownHosts": S, "path": ABS_PATH,
        }, ["name"])},
        "bundleStorageSizeLimit": QUANTITY,
    }),
    "logs": obj({
        "mountPath": ABS_PATH, "emptyDirSizeLimit": QUANTITY,
        "persistence": obj({"enabled": B, "existingClaim": S, "size": QUANTITY, "storageClassName": S,
                            "accessMode": ACCESS, "subPath": S}),
        "remote": obj({
            "enabled": B, "backend": {"type": "string", "enum": ["s3", "gcs"]},
            "baseUrl": {"type": "string", "pattern": r"^$|^(s3|gs)://[^/]+"},
            "connectionId": {"type": "string", "pattern": r"^$|^[A-Za-z0-9_.-]+$"},
            "connectionSecret": SECNAME,
            "endpointUrl": {"type": "string", "pattern": r"^$|^https?://"}, "deleteLocalCopy": B,
        }),
    }),
    "cleanup": obj({
        "database": obj({"enabled": B, "schedule": CRON, "retentionDays": INT1, "skipArchive": B,
                         "tables": {"type": "array", "uniqueItems": True, "items": {"type": "string", "enum": DB_CLEAN_TABLES}}}),
        "logs": obj({"enabled": B, "schedule": CRON, "retentionDays": INT1}),
        "activeDeadlineSeconds": INT1, "resources": RESOURCES, "serviceAccount": service_account(),
        "nodeSelector": STRMAP, "affinity": MAP, "tolerations": LIST,
    }),
    "networkPolicies": obj({
        "enabled": B, "apiServerIngressFrom": LIST,
        "egressPorts": {"type": "array", "items": PORT}, "workerEgressPorts": {"type": "array", "items": PORT},
        "extraEgress": LIST,
    }),
    "ingress": obj({
        "enabled": B, "className": S, "host": {"type": "string", "pattern": r"^$|^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
        "path": SUBPATH, "pathType": {"type": "string", "enum": ["Prefix", "Exact", "ImplementationSpecific"]},
        "annotations": STRMAP, "tls": obj({"secretName": SECNAME}),
    }),
    "httpRoute": obj({
        "enabled": B, "parentRefs": {"type": "array", "items": {"type": "object", "required": ["name"]}},
        "hostnames": {"type": "array", "items": {"type": "string", "pattern": r"^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"}},
        "path": SUBPATH, "annotations": STRMAP,
    }),
    "metrics": obj({
        "enabled": B, "prefix": METRIC_PREFIX,
        "statsdExporter": obj({
            "replicas": INT0, "resources": RESOURCES,
            "extraMappings": {"type": "array", "items": {"type": "object", "required": ["match"]}},
            "ttl": DURATION, "securityContexts": security_contexts(), "nodeSelector": STRMAP, "affinity": MAP,
            "tolerations": LIST, "labels": STRMAP, "podAnnotations": STRMAP,
        }),
        "service": obj({"port": PORT, "statsdPort": PORT, "annotations": STRMAP}),
        "scrapeFrom": LIST,
        "serviceMonitor": obj({"enabled": B, "force": B, "interval": DURATION, "scrapeTimeout": DURATION,
                               "labels": STRMAP}),
        "dashboard": obj({"enabled": B, "labels": STRMAP, "annotations": STRMAP}),
        "otel": obj({
            "enabled": B, "endpoint": HTTP_URL, "prefix": METRIC_PREFIX,
            "serviceName": {"type": "string", "minLength": 1}, "intervalMilliseconds": INT1,
            "traces": obj({"enabled": B, "endpoint": HTTP_URL}),
        }),
    }),
    "extraObjects": {"type": "array", "items": {"type": ["object", "string"]}},
    "tests": obj({"enabled": B, "resources": RESOURCES}),
    "volumes": {"type": "object", "properties": {"enabled": B}},
}


def add_descriptions(schema: dict, prefix: str = "") -> None:
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        if path in DESC:
            sub = schema["properties"][key] = dict(sub)
            sub["description"] = DESC[path]
        if sub.get("properties"):
            sub = schema["properties"][key] = json.loads(json.dumps(sub))
            add_descriptions(sub, path + ".")
        items = sub.get("items")
        if isinstance(items, dict) and items.get("properties"):
            add_descriptions(items, path + "[].")


def build() -> dict:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "airkube airflow chart values",
        "type": "object",
        "additionalProperties": False,
        "properties": json.loads(json.dumps(SCHEMA_PROPS)),
    }
    add_descriptions(schema)
    return schema


def main() -> int:
    text = json.dumps(build(), indent=2) + "\n"
    out = CHART / "values.schema.json"
    if "--check" in sys.argv:
        return 0 if out.exists() and out.read_text() == text else 1
    out.write_text(text)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
