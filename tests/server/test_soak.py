"""A short run of the load-with-faults soak (benchmarks/soak.py) on the session server: concurrent clients mix
streams, tools, JSON mode, n=2, echo, shared prefixes and clients that hang up at random points. Afterwards
every request they did not abandon got a complete answer, nothing is running or waiting, and the server holds
no more descriptors or threads than before, and only bounded extra memory."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"
SECONDS = 30
CONCURRENCY = 4


def load_soak():
    spec = importlib.util.spec_from_file_location("soak_benchmark", SOAK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


async def test_load_with_faults_leaves_nothing_behind(llm_server):
    result = await load_soak().fault_soak(llm_server.url, llm_server.proc.pid, SECONDS, CONCURRENCY, seed=14)
    print(result)  # the figures, in the test's output
    assert result["errors"] == {}, result
    assert result["completed"] > 0 and result["abandoned"] > 0, result
    assert result["engine_after"] == {"running": 0.0, "waiting": 0.0}
    before, after = result["before"], result["after"]
    assert after["fds"] <= before["fds"] + 2, result  # a connection closing as we look, at most
    assert after["threads"] <= before["threads"] + 2, result
    assert after["rss_mb"] - before["rss_mb"] < 64, result
