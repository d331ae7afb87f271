"""Our own analyser (`python -m lsp check`) reports nothing on the deployment and CI files, and knows what
each of them is (a file taken for plain YAML would pass without its Dockerfile/compose/Kubernetes rules)."""

from __future__ import annotations

import json
import subprocess
import sys

from .files import (
    COMPOSE,
    DOCKERFILES,
    GITHUB_WORKFLOW,
    GITLAB_CI,
    GRAFANA,
    K8S_MANIFESTS,
    PROMETHEUS_CONFIG,
    PROMETHEUS_RULE_TESTS,
    PROMETHEUS_RULES,
    ROOT,
)

CHECKED = [
    *DOCKERFILES, COMPOSE, *K8S_MANIFESTS, PROMETHEUS_CONFIG, *PROMETHEUS_RULES, *PROMETHEUS_RULE_TESTS,
    *sorted(GRAFANA.rglob("*.yaml")), *sorted(GRAFANA.rglob("*.json")), GITHUB_WORKFLOW, GITLAB_CI,
]


def _check() -> dict[str, dict]:
    paths = [str(p.relative_to(ROOT)) for p in CHECKED]
    proc = subprocess.run([sys.executable, "-m", "lsp", "check", "--format", "json", *paths], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode in (0, 1), f"lsp check failed (exit {proc.returncode}): {proc.stderr}"
    return {f["path"]: f for f in json.loads(proc.stdout)["files"]}


def test_the_deployment_files_exist():
    assert len(DOCKERFILES) == 3, DOCKERFILES
    assert all(p.is_file() for p in CHECKED), [str(p) for p in CHECKED if not p.is_file()]
    assert len(K8S_MANIFESTS) >= 6


def test_lsp_check_reports_nothing_and_recognises_each_file():
    files = _check()
    findings = [f"{path}:{f['line']}: {f['severity']} {f['rule']} {f['message']}"
                for path, res in files.items() for f in res["findings"]]
    assert findings == [], "python -m lsp check reports:\n" + "\n".join(findings)
    kinds = {path: res["kind"] for path, res in files.items()}
    for dockerfile in DOCKERFILES:
        assert kinds[str(dockerfile.relative_to(ROOT))] == "dockerfile"
    assert kinds[str(COMPOSE.relative_to(ROOT))] == "compose"
    for manifest in K8S_MANIFESTS:
        assert kinds[str(manifest.relative_to(ROOT))] == "kubernetes", manifest
