"""Every cross-field `fail` (templates/_validate.tpl, listed in rules.yaml) and schema rejections, via real helm."""
from __future__ import annotations

import sys
from pathlib import Path

import re

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (conftest helpers)
from conftest import AIRFLOW_CHART

pytestmark = pytest.mark.helm3

RULES = yaml.safe_load((AIRFLOW_CHART / "rules.yaml").read_text())["rules"]
VALIDATE_TPL = (AIRFLOW_CHART / "templates/_validate.tpl").read_text()


def test_rules_file_and_template_agree():
    ids = [r["id"] for r in RULES]
    assert len(ids) == len(set(ids)), "duplicate rule ids"
    tpl_ids = re.findall(r"\{\{- /\* ([a-z0-9-]+) \*/\}\}", VALIDATE_TPL)
    assert tpl_ids == ids, "rules.yaml and _validate.tpl list different rules (or in a different order)"
    for rule in RULES:
        assert f'"{rule["message"]}"' in VALIDATE_TPL, f"message of {rule['id']} differs in _validate.tpl"
        for key in rule["keys"]:
            assert key.split(".")[0] in rule["message"] or key in ("executor",), (rule["id"], key)


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
