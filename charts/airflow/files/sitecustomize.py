"""Imported by Python at start-up (the site customisation hook) in the scheduler and triggerer containers, whose
PYTHONPATH the chart points at this folder. Each job is switched on by an environment variable the chart sets:

- `AIRKUBE_GC_FREEZE_BEFORE_FORK=1` (`scheduler.gcFreezeBeforeFork`, `triggerer.gcFreezeBeforeFork`): right before
  each fork the parent moves every object it holds into the garbage collector's permanent generation (`gc.freeze()`,
  the pattern the Python docs give for fork-without-exec servers). The forked children (the KubernetesExecutor's
  multiprocessing managers and pod watcher and the scheduler's health server; the triggerer's trigger runner) then
  never write to those objects' GC headers at their first full collection, so they keep sharing the parent's pages
  instead of copying them: measured live, the idle scheduler and triggerer grew by 80 and 58 MiB about 5 minutes
  after start without this and not at all with it (docs/benchmarks.md, P5). These two components fork a handful of
  times at start only, so what the parent freezes stays small and bounded.
- `AIRKUBE_POD_DELETES=once` or `=background` (scheduler only; `kubernetesExecutor.skipRepeatedPodDeletes`,
  `kubernetesExecutor.asyncPodDeletion`): the executor deletes each finished task pod once instead of once per watch
  event, and with `background` off the scheduler loop (airkube_pod_deletes.py, beside this file).

The image's own sitecustomize (Debian's apport hook, or one of a custom image), which this file shadows, still runs.
"""

import gc
import importlib.machinery
import importlib.util
import os
import sys

if os.environ.get("AIRKUBE_GC_FREEZE_BEFORE_FORK") == "1":
    os.register_at_fork(before=gc.freeze)

_POD_DELETES = os.environ.get("AIRKUBE_POD_DELETES", "")
if _POD_DELETES in ("once", "background"):
    try:
        import airkube_pod_deletes
    except ImportError as exc:  # a ConfigMap without the file: start anyway, say why
        print(f"airkube sitecustomize: repeated pod deletes not skipped: {exc}", file=sys.stderr)
    else:
        airkube_pod_deletes.install(background=_POD_DELETES == "background")


def _run_the_shadowed_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None or spec.origin == os.path.abspath(__file__):
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


_run_the_shadowed_sitecustomize()
