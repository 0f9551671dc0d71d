"""Runs last: the suite left alone everything it did not make (issue 14 item 7).

Before the first release test, conftest put a sentinel namespace with a ConfigMap in place (standing for the user's
own work) and took a snapshot of the system namespaces and the user's `airflow` namespace (`make deploy`): their
uids, and the workloads and Helm release records in `airflow` and in the sentinel's. Here, after every other e2e test, all of it
must be exactly as it was: same objects (uids), same generations, same release revisions, nothing terminating.
"""

from __future__ import annotations

from kubernetes import client

from conftest import (
    OWN_PREFIX,
    SENTINEL_NS,
    USER_NAMESPACE,
    ForeignState,
    foreign_snapshot,
)


def test_what_the_suite_did_not_make_is_untouched(api_client: client.ApiClient, foreign_state: ForeignState,
                                                  e2e_session) -> None:  # type: ignore[no-untyped-def]
    now = foreign_snapshot(api_client)
    core = client.CoreV1Api(api_client)
    print(f"\n[e2e] found before: {len(foreign_state.namespaces)} watched namespaces (not {OWN_PREFIX}*), "
          f"{len(foreign_state.workloads)} workloads and {len(foreign_state.helm_releases)} Helm release records in "
          f"{USER_NAMESPACE}/{SENTINEL_NS}; cluster {'made by the suite' if e2e_session.created_cluster else 'found running'}")
    assert foreign_state.sentinel[0], "the sentinel ConfigMap was created before the tests"
    assert now.sentinel == foreign_state.sentinel, "the sentinel ConfigMap was replaced or changed"
    gone = {name: uid for name, uid in foreign_state.namespaces.items() if now.namespaces.get(name) != uid}
    assert not gone, f"namespaces deleted or re-created by the suite: {gone}"
    terminating = [ns.metadata.name for ns in core.list_namespace().items
                   if ns.metadata.name in foreign_state.namespaces and ns.status.phase == "Terminating"]
    assert not terminating, f"namespaces the suite did not make are being deleted: {terminating}"
    changed = {k: (v, now.workloads.get(k)) for k, v in foreign_state.workloads.items() if now.workloads.get(k) != v}
    assert not changed, f"workloads of {USER_NAMESPACE}/{SENTINEL_NS} replaced or changed: {changed}"
    releases = {k for k, v in foreign_state.helm_releases.items() if now.helm_releases.get(k) != v}
    new = set(now.helm_releases) - set(foreign_state.helm_releases)
    assert not releases and not new, f"Helm releases of {USER_NAMESPACE} touched: changed {releases}, new {new}"
    if USER_NAMESPACE in foreign_state.namespaces:
        print(f"[e2e] {USER_NAMESPACE}: {sum(k.startswith(USER_NAMESPACE + '/') for k in now.workloads)} workloads "
              "and the release records unchanged")
