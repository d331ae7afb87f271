"""The CI jobs: deploy/ci/config-check.sh writes SARIF and fails on error findings; the GitHub workflow
uploads that SARIF to code scanning even when the check fails; the GitLab job keeps it as an artifact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .files import CONFIG_CHECK_SCRIPT, GITHUB_WORKFLOW, GITLAB_CI, load_yaml

CLEAN_DOCKERFILE = """FROM python:3.11.11-slim-bookworm
RUN useradd --uid 10001 app
USER 10001
HEALTHCHECK CMD ["python", "-c", "print(1)"]
CMD ["python", "-m", "http.server"]
"""
LEAKY_COMPOSE = """services:
  db:
    image: postgres:16.4
    restart: unless-stopped
    environment:
      POSTGRES_PASSWORD: hunter2hunter2
"""


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    return tmp_path


def _config_check(repo: Path, *args: str) -> subprocess.CompletedProcess:
    src = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(src)}
    return subprocess.run(["bash", str(CONFIG_CHECK_SCRIPT), *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _sarif_results(path: Path) -> list[dict]:
    doc = json.loads(path.read_text())
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    return run["results"]


def test_config_check_fails_on_an_error_and_writes_its_sarif(tmp_path):
    repo = _repo(tmp_path, {"Dockerfile": CLEAN_DOCKERFILE, "deploy/compose.yaml": LEAKY_COMPOSE,
                            "tests/bad/Dockerfile": "FROM python\nUSER root\n"})
    proc = _config_check(repo, "out.sarif")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    results = _sarif_results(repo / "out.sarif")
    located = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results}
    assert located == {("DC004", "deploy/compose.yaml")}  # tests/ is left out by default
    assert "DC004" in proc.stdout  # the job log shows the findings too


def test_config_check_passes_a_clean_repository(tmp_path):
    repo = _repo(tmp_path, {"Dockerfile": CLEAN_DOCKERFILE, "notes.txt": "not a config file"})
    proc = _config_check(repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _sarif_results(repo / "aletheia.sarif") == []


def test_config_check_takes_pathspecs(tmp_path):
    repo = _repo(tmp_path, {"Dockerfile": CLEAN_DOCKERFILE, "deploy/compose.yaml": LEAKY_COMPOSE})
    proc = _config_check(repo, "only-docker.sarif", "Dockerfile")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 file(s)" in proc.stdout


def test_github_workflow_uploads_the_sarif_even_when_the_check_fails():
    workflow = load_yaml(GITHUB_WORKFLOW)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    (job,) = workflow["jobs"].values()
    assert job["permissions"]["security-events"] == "write"
    steps = job["steps"]
    check = next(s for s in steps if "config-check.sh" in s.get("run", ""))
    assert check["continue-on-error"] is True
    sarif = check["run"].split("config-check.sh", 1)[1].split()[0]
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == sarif
    assert upload["if"].startswith("always()")
    fail = steps[-1]
    assert steps.index(upload) < steps.index(fail) and f"steps.{check['id']}.outcome" in fail["if"]


def test_gitlab_job_keeps_the_sarif_as_an_artifact():
    job = load_yaml(GITLAB_CI)["aletheia-config-check"]
    command = next(line for line in job["script"] if "config-check.sh" in line)
    sarif = command.split("config-check.sh", 1)[1].split()[0]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["paths"] == [sarif]
    assert job["artifacts"]["expose_as"]
