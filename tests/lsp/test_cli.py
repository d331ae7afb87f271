"""`python -m lsp check` and `python -m lsp logs` as a user runs them: formats, exit codes, bad paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from lsp.cli import main

from .conftest import CONFIGS

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lsp", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_text_output_and_exit_code_1_on_errors():
    proc = run("check", str(CONFIGS / "Dockerfile"))
    assert proc.returncode == 1
    assert "Dockerfile:5:5: error DF011 (dockerfile/secret-in-env)" in proc.stdout
    assert "[fix available]" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].startswith("1 file(s): 1 error(s)")


def test_clean_files_exit_0(capsys):
    assert main(["check", str(CONFIGS / "Dockerfile.good"), str(CONFIGS / "nginx.good.conf")]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_warnings_only_exit_0(capsys):
    assert main(["check", str(CONFIGS / "shop-api.service")]) == 0  # warnings, no errors
    assert "warning SD001" in capsys.readouterr().out


def test_json_output(capsys):
    assert (
        main(["check", "--format", "json", str(CONFIGS / "deployment.yaml"), str(CONFIGS / "broken.json")])
        == 1
    )
    data = json.loads(capsys.readouterr().out)
    files = {Path(f["path"]).name: f for f in data["files"]}
    assert files["deployment.yaml"]["kind"] == "kubernetes"
    priv = next(f for f in files["deployment.yaml"]["findings"] if f["rule"] == "K8S004")
    assert (
        priv["severity"] == "error" and priv["line"] == 39 and priv["fix"]["edits"][0]["new_text"] == "false"
    )
    assert files["broken.json"]["findings"][0]["rule"] == "SYN002"


SARIF_SCHEMA_SUBSET = {  # the parts of SARIF 2.1.0 that code-scanning uploads check
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {"driver": {"type": "object", "required": ["name", "rules"]}},
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "level", "message", "locations"],
                            "properties": {
                                "level": {"enum": ["error", "warning", "note", "none"]},
                                "message": {"type": "object", "required": ["text"]},
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {"type": "object", "required": ["physicalLocation"]},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_output(capsys):
    assert (
        main(["check", "--format", "sarif", str(CONFIGS / "nginx.conf"), str(CONFIGS / "docker-compose.yml")])
        == 1
    )
    sarif = json.loads(capsys.readouterr().out)
    jsonschema.validate(sarif, SARIF_SCHEMA_SUBSET)
    run_ = sarif["runs"][0]
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    results = run_["results"]
    assert {"NGX006", "DC001"} <= {r["ruleId"] for r in results}
    for r in results:
        assert rule_ids[r["ruleIndex"]] == r["ruleId"]
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
    alias = next(r for r in results if r["ruleId"] == "NGX006")
    assert (
        alias["level"] == "error"
        and alias["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"] == "/"
    )


def test_missing_file_and_directory_exit_2():
    proc = run("check", "/nonexistent/Dockerfile", str(CONFIGS))
    assert proc.returncode == 2
    assert "/nonexistent/Dockerfile: cannot read" in proc.stderr and "is a directory" in proc.stderr


def test_usage_errors():
    assert run("check").returncode == 2
    assert run("check", "--format", "xml", "Dockerfile").returncode == 2


def test_binary_file_is_reported_not_crashed(tmp_path, capsys):
    p = tmp_path / "Dockerfile"
    p.write_bytes(bytes(range(256)) * 10)
    assert main(["check", str(p)]) == 0
    assert "GEN002" in capsys.readouterr().out


LOG = ROOT / "tests" / "data" / "loghub" / "Hadoop_300.log"


def test_logs_text_and_json():
    proc = run("logs", str(LOG))
    assert proc.returncode == 0, proc.stderr
    assert "templates" in proc.stdout.splitlines()[0] and "Templates (most frequent first):" in proc.stdout
    proc = run("logs", str(LOG), "--json")
    report = json.loads(proc.stdout)
    assert report["total_lines"] == 300 and report["templates"]
    assert all(set(g) >= {"id", "template", "count", "lines"} for g in report["templates"])


def test_logs_with_errors(tmp_path, capsys):
    from .test_server_diagnostics import LOG as JAVA_LOG

    p = tmp_path / "app.log"
    p.write_text(JAVA_LOG)
    assert main(["logs", str(p)]) == 0
    out = capsys.readouterr().out
    assert "Error groups:" in out and "x2, first on line 2" in out


def test_logs_missing_file():
    assert run("logs", "/nonexistent.log").returncode == 2


def test_logs_progress_on_stderr(tmp_path):
    log = tmp_path / "big.log"
    log.write_text("".join(f"2024-05-01 10:00:{i % 60:02d} INFO worker {i % 7} done in {i % 97} ms\n"
                           for i in range(12_000)))
    proc = run("logs", str(log), "--progress")
    assert proc.returncode == 0, proc.stderr
    steps = proc.stderr.replace("\r", "\n").split()
    assert "10,000/12,000" in steps and "12,000/12,000" in steps
    assert "mining templates:" in proc.stderr and proc.stdout.startswith(f"{log}: 12,000 lines")
    quiet = run("logs", str(log), "--no-progress")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_logs_max_lines_reads_only_the_head_and_counts_the_rest(tmp_path):
    log = tmp_path / "app.log"
    lines = [f"2024-05-01 10:00:{i:02d} INFO request {i} served" for i in range(30)]
    lines[4] = "2024-05-01 10:00:04 ERROR payment gateway timed out"
    lines[25] = "2024-05-01 10:00:25 ERROR disk full on /var/lib/db"
    log.write_text("\n".join(lines))  # no line break after the last line
    proc = run("logs", str(log), "--max-lines", "10", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["total_lines"], report["analysed_lines"], report["truncated"]) == (30, 10, True)
    assert [g["first_line"] for g in report["error_groups"]] == [5]
    text = run("logs", str(log), "--max-lines", "10").stdout
    assert text.startswith(f"{log}: 30 lines") and "(truncated)" in text.splitlines()[0]
def test_output_cut_short_by_a_closed_pipe_ends_quietly(tmp_path):
    """`python -m lsp check FILES | head` and `... logs FILE | head`: no BrokenPipeError traceback."""
    files = [str(CONFIGS / "Dockerfile")] * 3000  # far more output than a pipe buffer holds
    log = tmp_path / "app.log"
    log.write_text("".join(f"2026-01-01 10:00:{i % 60:02d} worker-{i} ERROR job {i} failed: code {i}\n"
                           for i in range(20000)))
    for args in (["check", *files], ["logs", str(log), "--top", "20000"]):
        proc = subprocess.Popen([sys.executable, "-m", "lsp", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        proc.stdout.readline()
        proc.stdout.close()  # what `head -1` does once it has its line
        stderr = proc.stderr.read().decode()
        proc.wait(timeout=120)
        assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
