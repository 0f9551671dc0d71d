"""Cluster add-ons applied through the API once it answers: CoreDNS, the default StorageClass, and the read-only
RBAC of the NetworkPolicy enforcer (kube-router, a host process)."""

from __future__ import annotations

from typing import Any

from .config import COREDNS_IMAGE, corefile
from .layout import Layout

STORAGE_CLASS = "airkube-hostpath"
PROVISIONER_NAME = "airkube.local/hostpath"
FIELD_MANAGER = "airkube-local"

Manifest = dict[str, Any]


def coredns_manifests(layout: Layout) -> list[Manifest]:
    """CoreDNS for cluster names only (no upstream), Service kube-dns at the clusterDNS address (pure)."""
    labels = {"k8s-app": "kube-dns"}
    ns = "kube-system"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", "namespace": ns}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "system:coredns"},
         "rules": [
             {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
              "verbs": ["list", "watch"]},
             {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
         ]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "system:coredns"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
         "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": ns}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": ns},
         "data": {"Corefile": corefile(layout)}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "coredns", "namespace": ns, "labels": labels},
         "spec": {
             "replicas": 1,
             "selector": {"matchLabels": labels},
             "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
             "template": {
                 "metadata": {"labels": labels},
                 "spec": {
                     "serviceAccountName": "coredns",
                     "priorityClassName": "system-cluster-critical",
                     "dnsPolicy": "Default",
                     "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                     {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                     "containers": [{
                         "name": "coredns",
                         "image": COREDNS_IMAGE,
                         "imagePullPolicy": "IfNotPresent",
                         "args": ["-conf", "/etc/coredns/Corefile"],
                         "ports": [
                             {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                             {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                             {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
                         ],
                         "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
                         "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
                         "livenessProbe": {"httpGet": {"path": "/health", "port": 8080},
                                           "initialDelaySeconds": 10, "periodSeconds": 10, "failureThreshold": 5},
                         "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
                         "securityContext": {
                             "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                             "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                         },
                     }],
                     "volumes": [{"name": "config", "configMap": {
                         "name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]}}],
                 },
             },
         }},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": ns,
                      "labels": {**labels, "kubernetes.io/name": "CoreDNS"}},
         "spec": {
             "selector": labels,
             "clusterIP": layout.net.dns_service_ip,
             "ports": [
                 {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                 {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                 {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
             ],
         }},
    ]


def storage_manifests() -> list[Manifest]:
    return [{
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": PROVISIONER_NAME,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": False,
    }]


ENFORCER_USER = "airkube:network-policy-controller"  # CN of the enforcer's client certificate (pki.py)


def enforcer_rbac_manifests() -> list[Manifest]:
    """What kube-router's policy controller reads (its informers: pods, namespaces, NetworkPolicies, nodes,
    services, endpoints, EndpointSlices); read-only, nothing else."""
    name = "airkube:network-policy-controller"
    read = ["get", "list", "watch"]
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name},
         "rules": [
             {"apiGroups": [""], "resources": ["pods", "namespaces", "nodes", "services", "endpoints"],
              "verbs": read},
             {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": read},
             {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
         ]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": ENFORCER_USER}]},
    ]


def all_manifests(layout: Layout) -> list[Manifest]:
    return storage_manifests() + enforcer_rbac_manifests() + coredns_manifests(layout)


def apply(api_client: Any, manifests: list[Manifest]) -> None:
    """Server-side apply each manifest (idempotent; our field manager wins conflicts)."""
    from kubernetes.dynamic import DynamicClient

    dynamic = DynamicClient(api_client)
    for manifest in manifests:
        resource = dynamic.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
        namespace = manifest["metadata"].get("namespace")
        dynamic.server_side_apply(resource, body=manifest, name=manifest["metadata"]["name"],
                                  namespace=namespace, field_manager=FIELD_MANAGER, force_conflicts=True)
