"""The Airflow UI in a real browser, through a real ingress controller: Traefik v3 (tests/e2e/ingress_traefik.py) as
the Ingress controller and as the Gateway API implementation, Debian's Chromium driven by Playwright.

One release (values/local.yaml, NetworkPolicies on, the api-server's policy admitting only the release's own pods
and the Traefik pods through `networkPolicies.apiServerIngressFrom`), two phases:
1. `ingress.enabled`, path `/`: the browser opens http://127.0.0.1:<port-forward to Traefik>/, logs in with the
   generated password, sees the smoke DAGs, triggers smoke_logs and opens its task's log (the marker line);
2. upgraded to `httpRoute.enabled`, path `/airflow` (the chart sets [api] base_url to it), attached to a Gateway
   of Traefik's: the same steps under /airflow/, and `/` through the Gateway is a 404 (nothing else is routed).
Screenshots go to $AIRKUBE_E2E_ARTIFACTS (default .state/e2e-artifacts, gitignored) / ingress-browser.
Skips, saying why, only when Chromium or Playwright is missing (`make setup` installs both) or the Traefik image
cannot be built.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from e2e_helpers import ROOT, TIMINGS, Release, wait_for
from ingress_traefik import CLASS, GATEWAY, WEB_PORT, Traefik

NS = "e2e-ingress"
TRAEFIK_NS = "e2e-ingress-traefik"
RELEASE = "airflow"
SMOKE_DAGS = ("smoke_executor", "smoke_logs", "smoke_sleep")
MARKER = "AIRKUBE-LOG-MARKER"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("AIRKUBE_E2E_ARTIFACTS", ROOT / ".state" / "e2e-artifacts")) / "ingress-browser"
UI_TIMEOUT_MS = 60_000


# Passed live 2026-12-02: 2 passed in 474 s (install 84 s, Ingress flow 92 s, upgrade to the HTTPRoute 167 s,
# sub-path flow 56 s). Opt-in (`make e2e-browser`, or AIRKUBE_E2E_BROWSER=1): with the Traefik build (≈ 8 min cold)
# it would add ≈ 16 min to a CI run that must stay within its time limit.
pytestmark = pytest.mark.skipif(os.environ.get("AIRKUBE_E2E_BROWSER") != "1",
                                reason="opt-in: AIRKUBE_E2E_BROWSER=1 (or make e2e-browser) runs Traefik + Chromium")


def say(text: str) -> None:
    print(f"[ingress] {text}", flush=True)


def _values(phase: str) -> dict[str, Any]:
    values: dict[str, Any] = {"networkPolicies": {"enabled": True, "apiServerIngressFrom": [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": TRAEFIK_NS}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}}}]}}
    if phase == "ingress":
        values["ingress"] = {"enabled": True, "className": CLASS, "path": "/"}
    else:
        values["ingress"] = {"enabled": False}
        values["httpRoute"] = {"enabled": True, "path": "/airflow",
                               "parentRefs": [{"name": GATEWAY, "namespace": TRAEFIK_NS}]}
    return values


@dataclass
class Stack:
    release: Release
    traefik: Traefik
    core: client.CoreV1Api
    api: client.ApiClient
    values_file: Path
    password: str


def _skip_reason() -> str:
    if not Path(CHROMIUM).exists():
        return "Debian chromium is not installed (`make setup` installs it: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not in the venv (`make setup` installs the [test] extras)"
    return ""


def _traefik_image(kubeconfig: Path) -> str:
    """Build (cached; the binary comes from scripts/build-go.sh traefik, `make setup` builds it) and import it."""
    from airkube.cluster.local import LocalProvider
    from airkube.images import IMAGES, build_images

    provider = LocalProvider()
    try:
        local = Path(provider.kubeconfig()).resolve() == kubeconfig.resolve()
    except Exception:  # noqa: BLE001 - no local cluster state at all: another cluster must have the image
        local = False
    if local:
        t0 = time.monotonic()
        provider.load_images(list(build_images(["traefik"]).values()))
        TIMINGS["traefik_image_s"] = time.monotonic() - t0
    return IMAGES["traefik"].ref


@pytest.fixture(scope="module")
def stack(kubeconfig: Path, core: client.CoreV1Api, api_client: client.ApiClient,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from airkube.dags import push_dags
    from airkube.images.specs import TRAEFIK_VERSION
    from airkube.smoke.discovery import admin_credentials

    t0 = time.monotonic()
    traefik = Traefik(kubeconfig, TRAEFIK_NS, NS, _traefik_image(kubeconfig))
    try:
        gw_version = traefik.install_crds(TRAEFIK_VERSION)
        traefik.apply()
        say(f"Traefik {TRAEFIK_VERSION} applied (Gateway API CRDs {gw_version} from the Go module; "
            f"created {len(traefik.created_crds)})")
        values_file = tmp_path_factory.mktemp("ingress") / "values.yaml"
        values_file.write_text(yaml.safe_dump(_values("ingress")))
        release = Release(RELEASE, NS, kubeconfig, [ROOT / "values" / "local.yaml", values_file])
        TIMINGS["ingress_install_s"] = release.install()
        pod = traefik.wait_ready(core)
        traefik.gateway_programmed(api_client)
        pushed = push_dags(ROOT / "tools" / "airkube" / "smoke" / "dags", namespace=NS, release=RELEASE, core=core)
        _, password = admin_credentials(core, NS, RELEASE)
        say(f"release + Traefik pod {pod} ready, DAGs pushed ({len(pushed.files)} files) in "
            f"{time.monotonic() - t0:.0f}s")
        yield Stack(release, traefik, core, api_client, values_file, password)
    finally:
        say(f"Traefik log tail:\n{traefik.logs(20)}")
        try:
            Release(RELEASE, NS, kubeconfig, []).uninstall()
        except Exception as exc:  # noqa: BLE001 - not installed when the install itself failed
            say(f"uninstall: {exc}")
        if NS in {n.metadata.name for n in core.list_namespace().items}:
            core.delete_namespace(NS)
        traefik.teardown()


# --- the browser ---------------------------------------------------------------------------------------------

def _browser_flow(base: str, prefix: str, password: str, shots: Path) -> dict[str, float]:
    """Log in, see the smoke DAGs, trigger smoke_logs, open its task's log; screenshots into `shots`."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UI_TIMEOUT_MS)  # a 2-core node under load: the default 5 s is too short
    shots.mkdir(parents=True, exist_ok=True)
    root = f"{base}{prefix}"
    times: dict[str, float] = {}
    t0 = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            # root in CI: no user-namespace sandbox; nothing but 127.0.0.1 resolves or is fetched
            args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(UI_TIMEOUT_MS)
        try:
            page.goto(f"{root}/")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(password)
            page.screenshot(path=str(shots / "1-login.png"))
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(re.compile(re.escape(root) + r"/?(\?.*)?$"))
            times["login_s"] = time.monotonic() - t0

            _wait_dags_listed(page, f"{root}/dags")
            page.screenshot(path=str(shots / "2-dags.png"))
            times["dags_s"] = time.monotonic() - t0

            page.goto(f"{root}/dags/smoke_logs")
            page.get_by_role("button", name=re.compile("^Trigger")).first.click()
            dialog = page.get_by_role("dialog")
            confirm = dialog.get_by_role("button", name="Trigger", exact=True)
            expect(confirm).to_be_visible()
            unpause = dialog.get_by_role("checkbox", name="Unpause smoke_logs on trigger")  # shown while paused
            if unpause.count():
                expect(unpause).to_be_checked()
            confirm.click()
            page.screenshot(path=str(shots / "3-triggered.png"))
            times["trigger_s"] = time.monotonic() - t0

            run_url = _wait_run_success(page, root)
            times["run_s"] = time.monotonic() - t0
            page.goto(f"{run_url}/tasks/write_marker")
            expect(page.get_by_text(MARKER).first).to_be_visible(timeout=120_000)
            page.screenshot(path=str(shots / "4-task-log.png"))
            times["log_s"] = time.monotonic() - t0
        except Exception:
            page.screenshot(path=str(shots / "failure.png"))
            raise
        finally:
            browser.close()
    return times


def _wait_dags_listed(page: Any, url: str, timeout: float = 240) -> None:
    """The DAG list shows every smoke DAG; reloaded until the dag-processor has parsed the pushed files."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        try:
            for dag_id in SMOKE_DAGS:
                expect(page.get_by_role("link", name=dag_id, exact=True).first).to_be_visible(timeout=15_000)
            return
        except (AssertionError, PlaywrightError):
            if time.monotonic() > deadline:
                raise


def _wait_run_success(page: Any, root: str, timeout: float = 300) -> str:
    """The newest smoke_logs run, polled through the REST API with the browser's own session; its UI URL."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        resp = page.request.get(f"{root}/api/v2/dags/smoke_logs/dagRuns?order_by=-run_after&limit=1",
                                headers=_auth_header(page))
        assert resp.ok, f"GET dagRuns through the ingress: HTTP {resp.status} {resp.text()[:200]}"
        runs = resp.json().get("dag_runs", [])
        if runs:
            state = runs[0]["state"]
            if state == "success":
                return f"{root}/dags/smoke_logs/runs/{runs[0]['dag_run_id']}"
            assert state != "failed", f"smoke_logs run {runs[0]['dag_run_id']} failed"
        time.sleep(3)
    pytest.fail(f"smoke_logs run not successful after {timeout:.0f}s (last state {state or 'no run'})")


def _auth_header(page: Any) -> dict[str, str]:
    token = next((c["value"] for c in page.context.cookies() if c["name"] == "_token"), "")
    return {"Authorization": f"Bearer {token}"} if token else {}


# --- the tests -----------------------------------------------------------------------------------------------

def test_ui_through_ingress_at_root(stack: Stack) -> None:
    from airkube.portforward import PortForward

    t0 = time.monotonic()
    with PortForward("svc/traefik", WEB_PORT, namespace=TRAEFIK_NS, kubeconfig=str(stack.release.kubeconfig)) as pf:
        times = _browser_flow(pf.url, "", stack.password, ARTIFACTS / "ingress")
    TIMINGS["browser_ingress_s"] = time.monotonic() - t0
    say(f"Ingress at /: {', '.join(f'{k}={v:.1f}' for k, v in times.items())}; screenshots in {ARTIFACTS / 'ingress'}")
    _assert_proxied(stack)


def _assert_proxied(stack: Stack) -> None:
    """Traefik's access log names the api-server pod (behind the release's NetworkPolicy) as the backend."""
    pods = stack.core.list_namespaced_pod(NS, label_selector="app.kubernetes.io/component=api-server").items
    ips = [p.status.pod_ip for p in pods if p.status.pod_ip]
    log = stack.traefik.logs(400)
    assert any(f"http://{ip}:8080" in log for ip in ips), f"no request to the api-server {ips} in Traefik's log:\n{log}"


def test_ui_through_httproute_under_sub_path(stack: Stack) -> None:
    from airkube.portforward import PortForward

    stack.values_file.write_text(yaml.safe_dump(_values("httproute")))
    TIMINGS["httproute_upgrade_s"] = stack.release.install()
    custom = client.CustomObjectsApi(stack.api)

    def accepted() -> bool:
        route = custom.get_namespaced_custom_object("gateway.networking.k8s.io", "v1", NS, "httproutes",
                                                    f"{RELEASE}-api-server")
        parents = (route.get("status") or {}).get("parents") or []
        return any(c.get("type") == "Accepted" and c.get("status") == "True"
                   for p in parents for c in p.get("conditions") or [])

    wait_for(accepted, 90, f"HTTPRoute {NS}/{RELEASE}-api-server Accepted by Traefik's Gateway")
    net = client.NetworkingV1Api(stack.api)
    assert not net.list_namespaced_ingress(NS).items, "the Ingress should be gone after the upgrade"
    t0 = time.monotonic()
    with PortForward("svc/traefik", WEB_PORT, namespace=TRAEFIK_NS, kubeconfig=str(stack.release.kubeconfig)) as pf:
        import urllib.error
        import urllib.request

        try:
            code = urllib.request.urlopen(f"{pf.url}/api/v2/version", timeout=10).status  # noqa: S310 - loopback
        except urllib.error.HTTPError as exc:
            code = exc.code
        assert code == 404, f"/ through the Gateway should route nowhere (HTTP 404), got {code}"
        times = _browser_flow(pf.url, "/airflow", stack.password, ARTIFACTS / "httproute")
    TIMINGS["browser_httproute_s"] = time.monotonic() - t0
    _assert_proxied(stack)
    say(f"HTTPRoute under /airflow: {', '.join(f'{k}={v:.1f}' for k, v in times.items())}; "
        f"screenshots in {ARTIFACTS / 'httproute'}")
