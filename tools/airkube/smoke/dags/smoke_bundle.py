"""airkube smoke DAG: proves the task ran from an Airflow 3 git DAG bundle, at the version its run was parsed with.

Only delivered when the release reads DAGs from git bundles (``dags.bundles``): each task pod fetches the bundle
itself (no git-sync, no PVC) at the run's version. The task reports the bundle that the task runner initialised
(class, name, version) and where its DAG file lives, and fails if the file did not come from a versioned
GitDagBundle checkout.
"""

from __future__ import annotations

import os
import re

from airflow.sdk import dag, get_current_context, task

DAG_ID = "smoke_bundle"
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dag(dag_id=DAG_ID, schedule=None, catchup=False, tags=["airkube-smoke"], doc_md=__doc__)
def smoke_bundle():
    @task
    def came_through_bundle() -> str:
        ti = get_current_context()["ti"]
        bundle = getattr(ti, "bundle_instance", None)
        kind = type(bundle).__name__ if bundle is not None else "none"
        name = getattr(bundle, "name", "")
        version = str(getattr(bundle, "version", "") or "")
        here = os.path.realpath(__file__)
        print(f"AIRKUBE-EVIDENCE bundle_class={kind}", flush=True)
        print(f"AIRKUBE-EVIDENCE bundle_name={name}", flush=True)
        print(f"AIRKUBE-EVIDENCE bundle_version={version}", flush=True)
        print(f"AIRKUBE-EVIDENCE dag_file={here}", flush=True)
        if kind != "GitDagBundle":
            raise RuntimeError(f"the task ran from a {kind} bundle, not a GitDagBundle: DAGs are not from dags.bundles")
        if not _SHA.match(version) or version not in here:
            raise RuntimeError(f"the task did not run from a versioned checkout (version {version!r}, file {here})")
        return version

    came_through_bundle()


smoke_bundle()
