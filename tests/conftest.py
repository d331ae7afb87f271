"""Fixtures shared by every test package: the real server on the bundled model."""

from __future__ import annotations

import os
import subprocess

import pytest

from server.process import ServerProcess

LOG_TAIL_LINES = 60


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """The real server (uvicorn in a subprocess, free port, bundled model as `aletheia-base`).

    Yields the running ``ServerProcess``: ``.base_url`` is the OpenAI base URL (``.../v1``), ``.url`` the root.
    """
    log = tmp_path_factory.mktemp("server") / "server.log"
    kb_dir = tmp_path_factory.mktemp("kb")  # knowledge stores: the kb tests build some with the CLI
    with ServerProcess(
        extra_args=["--models-dir", str(tmp_path_factory.mktemp("no-trained-models")), "--kb-dir", str(kb_dir)],
        log_path=log,
    ) as srv:
        srv.model = "aletheia-base"
        srv.log = log
        srv.kb_dir = kb_dir
        yield srv


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test that talked to a server gets that server's log tail and the machine's load in its
    report: what CI prints is then enough to tell a slow machine from a stuck request."""
    report = yield
    if report.failed and call.when == "call":
        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, ServerProcess) and value.log_path and value.log_path.exists():
                tail = value.log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
                report.sections.append((f"server log of {name} (last {len(tail)} lines)", "\n".join(tail)))
        ps = subprocess.run(["ps", "-eo", "pid,pcpu,etime,args", "--sort=-pcpu"], capture_output=True, text=True,
                            check=False)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        report.sections.append(("machine load", f"load average {load}\n" + "\n".join(ps.stdout.splitlines()[:8])))
    return report
