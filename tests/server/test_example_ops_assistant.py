"""The examples/ops_assistant.py loop runs end to end against the real server, with its real tools."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import openai

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ops_assistant.py"


def _load():
    spec = importlib.util.spec_from_file_location("ops_assistant", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tools_tell_the_truth(llm_server, tmp_path):
    ops = _load()
    assert json.loads(ops.call_tool("port_listening", json.dumps({"port": llm_server.port})))["listening"] is True
    assert 0 <= json.loads(ops.call_tool("disk_usage", '{"path": "/"}'))["used_percent"] <= 100
    log = tmp_path / "app.log"
    log.write_text("\n".join(f"line {i}" for i in range(50)))
    assert json.loads(ops.call_tool("tail_log", json.dumps({"path": str(log), "lines": 3})))["lines"] == [
        "line 47", "line 48", "line 49"]
    assert "error" in json.loads(ops.call_tool("tail_log", '{"path": "/nonexistent.log"}'))


def test_loop_ends_in_an_answer(llm_server):
    ops = _load()
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="none", timeout=600)
    answer = ops.run(f"Is port {llm_server.port} listening?", client, "aletheia-base")
    assert isinstance(answer, str) and answer.strip()
