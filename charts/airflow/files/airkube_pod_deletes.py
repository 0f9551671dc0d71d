"""Loaded by the chart's sitecustomize.py in the scheduler (`kubernetesExecutor.skipRepeatedPodDeletes`,
`kubernetesExecutor.asyncPodDeletion`).

The KubernetesExecutor (provider cncf.kubernetes) deletes a finished task pod once per watch event its watcher
reports after the pod ended: the pod turning `Succeeded`, then the deletion mark that its own DELETE causes, then
`DELETED`. That is three synchronous `DELETE pods` calls in the scheduler loop per task, two of them answered 404;
with `delete_worker_pods` false it is three PATCHes that set the same label. At a few pods a second they were 41 % of
the scheduler loop and 38 of the API server's 93 requests a second (docs/benchmarks.md, P6).

This wraps `AirflowKubernetesScheduler.delete_pod` and `patch_pod_executor_done`:
- once: each pod is deleted (or marked done) once per executor; a repeated call for a pod whose call succeeded is
  skipped. A call that raised is not remembered, so the provider's own retry (the result is re-queued) still
  reaches the API. Pod names carry a random suffix, so a name is never reused within the last `REMEMBERED` pods.
- in the background (`install(background=True)`): the one call left per pod runs on a pool of `WORKERS` threads
  instead of in the scheduler loop, where its round trip was still half of the loop at 16 pods/s. A call that
  fails is retried there (`ATTEMPTS`, backoff doubling from 1 s), then logged as an error and forgotten, so a
  later watch event of that pod tries again. Calls still queued when the scheduler exits are made before it exits.

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
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

TARGET_MODULE = "airflow.providers.cncf.kubernetes.executors.kubernetes_executor_utils"
TARGET_CLASS = "AirflowKubernetesScheduler"
METHODS = ("delete_pod", "patch_pod_executor_done")
PARAMETERS = ["self", "pod_name", "namespace"]
REMEMBERED = 20_000  # pods per method (a few hundred KiB)
MARK = "_airkube_once"
WORKERS = 8  # background calls at once
ATTEMPTS = 5  # background tries of one call: after 0, 1, 2, 4 and 8 s

log = logging.getLogger("airkube.pod_deletes")


class Background:
    """A thread pool created at its first call (the scheduler forks its helpers before that, never with it)."""

    def __init__(self, workers: int = WORKERS) -> None:
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="airkube-pod-calls")
        self._pool.submit(fn, *args)


def once_per_pod(method: Callable[..., None], background: Background | None = None) -> Callable[..., None]:
    """``method(self, pod_name=..., namespace=...)`` called until it succeeds once per (namespace, pod_name), in
    the caller's thread or (``background``) on a pool with retries."""
    done: OrderedDict[tuple[str, str], None] = OrderedDict()
    lock = threading.Lock()

    def remember(key: tuple[str, str]) -> bool:
        """True the first time (the key is kept), False when it is known already."""
        with lock:
            if key in done:
                log.debug("%s %s/%s: done already, skipped", method.__name__, key[0], key[1])
                return False
            done[key] = None
            while len(done) > REMEMBERED:
                done.popitem(last=False)
            return True

    def forget(key: tuple[str, str]) -> None:
        with lock:
            done.pop(key, None)

    def call(self: Any, pod_name: str, namespace: str) -> None:
        method(self, pod_name=pod_name, namespace=namespace)  # patch_pod_executor_done takes keywords only

    def call_with_retries(self: Any, pod_name: str, namespace: str) -> None:
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(2 ** (attempt - 1))
            try:
                call(self, pod_name, namespace)
                return
            except Exception as exc:  # noqa: BLE001 - any failure of the provider's call is retried, then reported
                failure = exc
        forget((namespace, pod_name))
        log.error("airkube: %s %s/%s failed %d times, last: %s", method.__name__, namespace, pod_name, ATTEMPTS,
                  failure)

    @functools.wraps(method)
    def wrapper(self: Any, pod_name: str, namespace: str) -> None:
        key = (namespace, pod_name)
        if not remember(key):
            return
        if background is not None:
            background.submit(call_with_retries, self, pod_name, namespace)
            return
        try:
            call(self, pod_name, namespace)
        except BaseException:
            forget(key)
            raise

    setattr(wrapper, MARK, True)
    return wrapper


def patch(module: ModuleType, background: bool = False) -> bool:
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
    pool = Background() if background else None
    for name, method in methods.items():
        if not getattr(method, MARK, False):
            setattr(cls, name, once_per_pod(method, pool))
    return True


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, background: bool) -> None:
        self.inner = inner
        self.background = background

    def __getattr__(self, name: str) -> Any:  # get_source, is_package, ... of the real loader
        return getattr(self.inner, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        patch(module, self.background)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds TARGET_MODULE with the other finders and patches it once executed."""

    def __init__(self, background: bool) -> None:
        self.background = background

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
                    spec.loader = _Loader(spec.loader, self.background)
                return spec
        return None


def install(background: bool = False) -> None:
    """Patch the provider now if it is imported already, else when it is."""
    if TARGET_MODULE in sys.modules:
        patch(sys.modules[TARGET_MODULE], background)
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder(background))
