"""The files against their published schemas, offline: Kubernetes objects against the API's own OpenAPI
schemas (kubernetes-validate, strict: an unknown or misspelt field fails), the compose file against the
Compose Specification, the CI files against the GitHub workflow and GitLab CI schemas (check-jsonschema's
vendored copies of SchemaStore's)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from .files import COMPOSE, GITHUB_WORKFLOW, GITLAB_CI, ROOT, k8s_object, k8s_objects

KUBERNETES_VERSION = "1.33.0"
BUILTIN_SCHEMAS = {COMPOSE: "vendor.compose-spec", GITHUB_WORKFLOW: "vendor.github-workflows",
                   GITLAB_CI: "vendor.gitlab-ci"}
CUSTOM_RESOURCES = {"RayService"}  # no schema in the API; its pod templates are validated below


def _validate(obj: dict) -> None:
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def _pod_template(name: str, template: dict) -> dict:
    return {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": name, "namespace": "aletheia"},
            "template": template}


def test_kubernetes_objects_match_the_api_schema():
    checked = 0
    for obj in k8s_objects():
        if obj["kind"] in CUSTOM_RESOURCES:
            continue
        _validate(obj)
        checked += 1
    assert checked >= 5


def test_rayservice_pod_templates_match_the_api_schema():
    cluster = k8s_object("RayService", "aletheia")["spec"]["rayClusterConfig"]
    _validate(_pod_template("ray-head", cluster["headGroupSpec"]["template"]))
    for group in cluster["workerGroupSpecs"]:
        _validate(_pod_template(f"ray-{group['groupName']}", group["template"]))


def test_strict_validation_rejects_a_misspelt_field():
    deployment = copy.deepcopy(k8s_object("Deployment", "aletheia-server"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenesProbe"] = container.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="livenesProbe"):
        _validate(deployment)


def _check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("path", list(BUILTIN_SCHEMAS), ids=lambda p: p.name)
def test_compose_and_ci_files_match_their_schemas(path):
    proc = _check_jsonschema(BUILTIN_SCHEMAS[path], path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_compose_schema_rejects_a_misspelt_key(tmp_path):
    compose = yaml.safe_load(COMPOSE.read_text())
    compose["services"]["server"]["healthcheck_"] = {"test": ["CMD", "true"]}
    bad = tmp_path / "compose.yaml"
    bad.write_text(yaml.safe_dump(compose))
    proc = _check_jsonschema(BUILTIN_SCHEMAS[COMPOSE], bad)
    assert proc.returncode == 1 and "healthcheck_" in proc.stdout, proc.stdout + proc.stderr
