"""The `local` provider: a real single-node Kubernetes v1.34 from host processes, without Docker.

Modules, one job each: layout (paths/addresses), host_deps (apt), binaries (Go builds), pki (certs and
kubeconfigs), config (rendered component configs and argv), processes (PID/log files, readiness), network
(bridge, guard rules, iptables cleanup), mounts, addons (CoreDNS, StorageClass), provider (LocalProvider).
"""

from .layout import Layout, NetworkPlan
from .provider import LocalProvider

__all__ = ["Layout", "LocalProvider", "NetworkPlan"]
