"""The code sandbox: ordinary code runs; network, endless loops and memory blow-ups are stopped."""

from __future__ import annotations

import socket
import time

import pytest

from evaluation.sandbox import run_python, unshare_available

CONNECT = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(3)
s.connect(("127.0.0.1", {port}))
print("CONNECTED")
"""


@pytest.fixture
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    yield srv.getsockname()[1]
    srv.close()


def test_runs_code_and_reports_failure():
    ok = run_python("print(sum(range(10)))")
    assert ok.ok and ok.stdout.strip() == "45"
    bad = run_python("assert 1 == 2, 'nope'")
    assert not bad.ok and bad.returncode == 1 and "AssertionError: nope" in bad.stderr


def test_listener_is_reachable_without_sandbox(listener):
    # the control: the same connect works outside the sandbox, so the tests below test the sandbox
    with socket.create_connection(("127.0.0.1", listener), timeout=3):
        pass


def test_audit_hook_blocks_network(listener):
    res = run_python(CONNECT.format(port=listener), network_namespace=False)
    assert not res.ok and "CONNECTED" not in res.stdout
    assert "PermissionError: network access is disabled" in res.stderr


@pytest.mark.skipif(not unshare_available(), reason="unshare -n is not available on this machine")
def test_network_namespace_blocks_network_without_the_hook(listener):
    res = run_python(CONNECT.format(port=listener), network_namespace=True, audit_hook=False)
    assert res.network_namespace
    assert not res.ok and "CONNECTED" not in res.stdout
    assert "OSError" in res.stderr or "unreachable" in res.stderr.lower() or "refused" in res.stderr.lower()


def test_infinite_loop_is_killed():
    t0 = time.monotonic()
    res = run_python("while True:\n    pass\n", timeout=2)
    assert res.timed_out and not res.ok and res.returncode is None
    assert time.monotonic() - t0 < 6


def test_memory_limit():
    res = run_python("x = bytearray(3 * 1024 ** 3)\nprint('ALLOCATED')", memory_mb=256)
    assert not res.ok and "ALLOCATED" not in res.stdout and "MemoryError" in res.stderr


def test_cpu_limit_kills_a_busy_child_even_with_a_long_wall_timeout():
    res = run_python("while True:\n    pass\n", timeout=30, cpu_seconds=1)
    assert not res.ok and not res.timed_out and res.seconds < 10  # SIGXCPU, not the wall clock
