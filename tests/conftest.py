"""Fixtures shared by every test package: the real server on the bundled model."""

from __future__ import annotations

import pytest

from server.process import ServerProcess


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """The real server (uvicorn in a subprocess, free port, bundled model as `aletheia-base`).

    Yields the running ``ServerProcess``: ``.base_url`` is the OpenAI base URL (``.../v1``), ``.url`` the root.
    """
    log = tmp_path_factory.mktemp("server") / "server.log"
    with ServerProcess(
        extra_args=["--models-dir", str(tmp_path_factory.mktemp("no-trained-models"))], log_path=log
    ) as srv:
        srv.model = "aletheia-base"
        srv.log = log
        yield srv
