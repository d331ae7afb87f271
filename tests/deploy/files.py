"""The deployment files under test: where they are, and loading them (PyYAML, JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILES = sorted((DEPLOY / "docker").glob("Dockerfile.*"))
COMPOSE = DEPLOY / "compose.yaml"
K8S_MANIFESTS = sorted((DEPLOY / "k8s").rglob("*.yaml"))
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
PROMETHEUS_RULES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
PROMETHEUS_RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
GRAFANA = DEPLOY / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
GITHUB_WORKFLOW = ROOT / ".github" / "workflows" / "config-check.yml"
GITLAB_CI = ROOT / ".gitlab-ci.yml"
CONFIG_CHECK_SCRIPT = DEPLOY / "ci" / "config-check.sh"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_yaml_documents(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def k8s_objects() -> list[dict]:
    """Every Kubernetes object under deploy/k8s (kustomization.yaml, which the API server never sees, aside)."""
    return [d for p in K8S_MANIFESTS if p.name != "kustomization.yaml" for d in load_yaml_documents(p)]


def k8s_object(kind: str, name: str) -> dict:
    found = [o for o in k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} named {name} under deploy/k8s, found {len(found)}"
    return found[0]
