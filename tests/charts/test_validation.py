"""Every cross-field `fail` (templates/_validate.tpl, listed in rules.yaml) and schema rejections, via real helm."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import AIRFLOW_CHART, KUBE_VERSIONS, ROOT

pytestmark = pytest.mark.helm3

RULES = yaml.safe_load((AIRFLOW_CHART / "rules.yaml").read_text())["rules"]
VALIDATE_TPL = (AIRFLOW_CHART / "templates/_validate.tpl").read_text()


GEN_VALIDATE = AIRFLOW_CHART / "schema" / "gen_validate.py"


def test_validate_tpl_is_generated_from_rules_yaml_and_current():
    result = subprocess.run([sys.executable, str(GEN_VALIDATE), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, f"templates/_validate.tpl is stale: run python {GEN_VALIDATE}\n{result.stderr}"


def test_stale_validate_tpl_is_detected(tmp_path):
    chart = tmp_path / "airflow"
    shutil.copytree(AIRFLOW_CHART, chart, ignore=shutil.ignore_patterns("charts"))
    rules = chart / "rules.yaml"
    rules.write_text(rules.read_text().replace("when: and $g.enabled (not $g.repo)", "when: and $g.enabled $g.repo", 1))
    result = subprocess.run([sys.executable, str(chart / "schema/gen_validate.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "_validate.tpl is stale" in result.stderr


def test_one_documented_define_per_rule_in_order():
    ids = [r["id"] for r in RULES]
    assert len(ids) == len(set(ids)), "duplicate rule ids"
    defined = re.findall(r'\{\{- define "airflow\.validateValues\.([a-z0-9-]+)" -\}\}', VALIDATE_TPL)
    assert defined == ids + ["message"] or defined == ["message"] + ids, defined
    called = re.findall(r'append \$messages \(include "airflow\.validateValues\.([a-z0-9-]+)" \.\)', VALIDATE_TPL)
    assert called == ids
    for rule in RULES:
        block = VALIDATE_TPL.split(f'define "airflow.validateValues.{rule["id"]}"')[0].rsplit("{{/*", 1)[1]
        assert "Usage:" in block and "Params:" in block and f"Rule {rule['id']}:" in block, rule["id"]
        assert rule["key"] in rule["keys"]
        for key in rule["keys"]:
            assert key.split(".")[0] in rule["message"] or key in ("executor",), (rule["id"], key)


def test_each_rule_message_is_written_once():
    """Only rules.yaml holds the messages: the template reads them at render time, rules.py takes them from there."""
    sources = [p for d in (ROOT / "charts", ROOT / "tools", ROOT / "scripts") for p in d.rglob("*")
               if p.is_file() and p.suffix in (".tpl", ".yaml", ".py", ".txt", ".json", ".md") and "charts/airflow/charts" not in str(p)]
    texts = {p: p.read_text(errors="replace") for p in sources}
    for rule in RULES:
        holders = [str(p.relative_to(ROOT)) for p, t in texts.items() if rule["message"] in t]
        assert holders == ["charts/airflow/rules.yaml"], (rule["id"], holders)


@pytest.mark.parametrize("broken, error", [
    ("  - id: x\n    key: a\n    keys: [a]\n    when: a\n    message: m\n", "missing fields ['example']"),
    ("  - id: X_y\n    key: a\n    keys: [a]\n    when: a\n    message: m\n    example: {}\n", "lower-case words"),
    ("  - id: x\n    key: b\n    keys: [a]\n    when: a\n    message: m\n    example: {}\n", "not listed in keys"),
    ("  - id: x\n    key: a\n    keys: [a]\n    when: '{{ a }}'\n    message: m\n    example: {}\n", "bare expressions"),
    ("  - id: x\n    key: a\n    keys: [a]\n    when: a\n    message: m\n    example: {}\n    hint: h\n", "unknown ['hint']"),
])
def test_generator_refuses_bad_rules(tmp_path, broken, error):
    chart = tmp_path / "airflow"
    shutil.copytree(AIRFLOW_CHART, chart, ignore=shutil.ignore_patterns("charts"))
    (chart / "rules.yaml").write_text("rules:\n" + broken)
    result = subprocess.run([sys.executable, str(chart / "schema/gen_validate.py")], capture_output=True, text=True)
    assert result.returncode == 2 and error in result.stderr, result.stderr


def test_missing_rule_message_fails_the_render(helm, tmp_path):
    """A rule without its message in rules.yaml must fail loudly, never pass silently."""
    chart = tmp_path / "airflow"
    shutil.copytree(AIRFLOW_CHART, chart)
    rules = chart / "rules.yaml"
    rules.write_text(rules.read_text().replace("- id: database-required", "- id: database-required-renamed", 1))
    # --kube-version: a `go install`-built Helm 3 defaults to Kubernetes v1.20, below the chart's kubeVersion
    result = helm.run("template", "airflow", str(chart), "--set", "postgres.enabled=false",
                      "--kube-version", KUBE_VERSIONS[-1], check=False)
    assert result.returncode != 0 and 'has no rule "database-required"' in result.stderr, result.stderr


@pytest.mark.parametrize("rule", RULES, ids=[r["id"] for r in RULES])
def test_rule_fires_with_its_message(helm, rule):
    stderr = helm.template_error(values=rule["example"])
    assert rule["message"] in stderr, stderr
    # the message names the first key involved
    assert rule["keys"][0].split("[")[0] in rule["message"] or rule["keys"][0] == "config.kubernetes"


def test_defaults_and_values_files_pass_every_rule(default_render):
    assert default_render.docs


def test_several_errors_reported_together(helm):
    stderr = helm.template_error(values={"postgres": {"enabled": False},
                                         "dags": {"gitSync": {"enabled": True}}})
    assert "dags.gitSync.repo is empty" in stderr and "no external database is configured" in stderr


@pytest.mark.parametrize("values, key", [
    ({"apiServer": {"replicas": "two"}}, "/apiServer/replicas"),
    ({"apiServer": {"replicas": -1}}, "/apiServer/replicas"),
    ({"scheduler": {"replicaCount": 2}}, "replicaCount"),
    ({"unknownTopLevel": True}, "unknownTopLevel"),
    ({"executor": "CeleryExecutor"}, "/executor"),
    ({"logs": {"remote": {"backend": "azure"}}}, "/logs/remote/backend"),
    ({"images": {"airflow": {"pullPolicy": "Sometimes"}}}, "/images/airflow/pullPolicy"),
    ({"logs": {"persistence": {"accessMode": "ReadWriteAll"}}}, "/logs/persistence/accessMode"),
    ({"dags": {"gitSync": {"period": "often"}}}, "/dags/gitSync/period"),
    ({"dags": {"gitSync": {"repo": "github.com/org/repo"}}}, "/dags/gitSync/repo"),
    ({"auth": {"users": [{"username": "bob", "role": "superuser"}]}}, "/auth/users/0/role"),
    ({"dags": {"persistence": {"size": "lots"}}}, "/dags/persistence/size"),
    ({"externalDatabase": {"port": 70000}}, "/externalDatabase/port"),
    ({"logs": {"mountPath": "relative/logs"}}, "/logs/mountPath"),
    ({"workers": {"extraEnv": [{"value": "no name"}]}}, "/workers/extraEnv/0"),
    ({"config": {"core": "not-a-section"}}, "/config/core"),
])
def test_schema_rejects(helm, values, key):
    stderr = helm.template_error(values=values)
    assert "schema" in stderr
    assert key in stderr, stderr
