"""`promtool` accepts the Prometheus configuration and rules, and the rules' unit tests pass (alerts fire when
and only when they should). promtool comes from Debian's `prometheus` package, which `make test` installs."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .files import PROMETHEUS_CONFIG, PROMETHEUS_RULE_TESTS, PROMETHEUS_RULES, ROOT


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: `apt-get install -y prometheus` (Debian's package brings promtool; "
                    "`make test-python` runs it when promtool is missing)")
    return path


def _run(promtool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_promtool_check_config(promtool):
    proc = _run(promtool, "check", "config", str(PROMETHEUS_CONFIG))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The config names the rule files by a glob: it must find every one of them.
    assert f"SUCCESS: {len(PROMETHEUS_RULES)} rule files found" in proc.stdout + proc.stderr


def test_promtool_check_rules(promtool):
    assert PROMETHEUS_RULES
    proc = _run(promtool, "check", "rules", *map(str, PROMETHEUS_RULES))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_rule_unit_tests(promtool):
    assert PROMETHEUS_RULE_TESTS
    proc = _run(promtool, "test", "rules", *map(str, PROMETHEUS_RULE_TESTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_rejects_a_broken_rule(promtool, tmp_path):
    """The check is not a formality: a rule with a PromQL error fails it."""
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: x\n    rules:\n      - record: x:y\n        expr: sum(rate(a[5m])\n")
    proc = _run(promtool, "check", "rules", str(bad))
    assert proc.returncode != 0
