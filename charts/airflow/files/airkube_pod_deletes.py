"""Loaded by the chart's sitecustomize.py in the scheduler when `kubernetesExecutor.skipRepeatedPodDeletes` is true.

The KubernetesExecutor (provider cncf.kubernetes) deletes a finished task pod once per watch event its watcher
reports after the pod ended: the pod turning `Succeeded`, then the deletion mark that its own DELETE causes, then
`DELETED`. That is three synchronous `DELETE pods` calls in the scheduler loop per task, two of them answered 404;
with `delete_worker_pods` false it is three PATCHes that set the same label. At a few pods a second they were 41 % of
the scheduler loop and 38 of the API server's 93 requests a second (docs/benchmarks.md, P6).

This wraps `AirflowKubernetesScheduler.delete_pod` and `patch_pod_executor_done`: each pod is deleted (or marked
done) once per executor; a repeated call for a pod whose call succeeded is skipped. A call that raised is not
remembered, so the provider's own retry (the result is re-queued) still reaches the API. Pod names carry a random
suffix, so a name is never reused within the memory of the last `REMEMBERED` pods.

The wrapper is installed when the provider module is first imported (an import hook, nothing is imported early).
If the provider's methods are not the ones this was written against, nothing is changed and a warning is logged.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import inspect
import logging
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

TARGET_MODULE = "airflow.providers.cncf.kubernetes.executors.kubernetes_executor_utils"
TARGET_CLASS = "AirflowKubernetesScheduler"
METHODS = ("delete_pod", "patch_pod_executor_done")
PARAMETERS = ["self", "pod_name", "namespace"]
REMEMBERED = 20_000  # pods per method (a few hundred KiB)
MARK = "_airkube_once"

log = logging.getLogger("airkube.pod_deletes")


def once_per_pod(method: Callable[..., None]) -> Callable[..., None]:
    """``method(self, pod_name=..., namespace=...)`` called until it succeeds once per (namespace, pod_name)."""
    done: OrderedDict[tuple[str, str], None] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(method)
    def wrapper(self: Any, pod_name: str, namespace: str) -> None:
        key = (namespace, pod_name)
        with lock:
            if key in done:
                log.debug("%s %s/%s: done already, skipped", method.__name__, namespace, pod_name)
                return
        method(self, pod_name=pod_name, namespace=namespace)  # patch_pod_executor_done takes keywords only
        with lock:
            done[key] = None
            while len(done) > REMEMBERED:
                done.popitem(last=False)

    setattr(wrapper, MARK, True)
    return wrapper


def patch(module: ModuleType) -> bool:
    """Wrap the methods of the provider's scheduler class; False (and a warning) when they are not as expected."""
    cls = getattr(module, TARGET_CLASS, None)
    methods: dict[str, Callable[..., None]] = {}
    for name in METHODS:
        method = getattr(cls, name, None) if cls is not None else None
        if not callable(method):
            log.warning("airkube: %s.%s has no %s: repeated pod deletes not skipped", TARGET_MODULE, TARGET_CLASS,
                        name)
            return False
        methods[name] = method
    for name, method in methods.items():
        params = list(inspect.signature(method).parameters)
        if not getattr(method, MARK, False) and params != PARAMETERS:
            log.warning("airkube: %s.%s has parameters %s, not %s: repeated pod deletes not skipped", TARGET_CLASS,
                        name, params, PARAMETERS)
            return False
    for name, method in methods.items():
        if not getattr(method, MARK, False):
            setattr(cls, name, once_per_pod(method))
    return True


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # get_source, is_package, ... of the real loader
        return getattr(self.inner, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds TARGET_MODULE with the other finders and patches it once executed."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname != TARGET_MODULE:
            return None
        for finder in sys.meta_path:
            if isinstance(finder, _Finder) or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


def install() -> None:
    """Patch the provider now if it is imported already, else when it is."""
    if TARGET_MODULE in sys.modules:
        patch(sys.modules[TARGET_MODULE])
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
