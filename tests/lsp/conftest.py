"""Fixtures for the language-server tests: a pytest-lsp client driving `python -m lsp` over stdio."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Union

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "configs"
ROOT = Path(__file__).resolve().parents[2]


SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "lsp"],
    server_env={
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    },
)


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    """A VS Code-like client (workspace/configuration, work-done progress) with default settings; tests set
    the `aletheia` section with ``client.set_configuration(..., section="aletheia")`` before they act."""
    _fix_code_action_union(lsp_client)
    lsp_client.set_configuration(
        {"endpoint": "http://127.0.0.1:9/v1", "requestTimeout": 5}, section="aletheia"
    )
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=ROOT.as_uri(),
        )
    )
    yield
    await lsp_client.shutdown_session()


def _fix_code_action_union(client: LanguageClient) -> None:
    """lsprotocol's client-side hook reads any code action with a `command` field as a Command (it should
    check that the field is a string), which drops `kind`; VS Code does not have this problem."""
    conv = client.protocol._converter

    def hook(obj, _):
        if isinstance(obj.get("command"), str):
            return conv.structure(obj, types.Command)
        return conv.structure(obj, types.CodeAction)

    conv.register_structure_hook(Union[types.Command, types.CodeAction], hook)  # noqa: UP007 - typing.Union key


def open_document(
    client: LanguageClient, uri: str, text: str, language_id: str = "plaintext", version: int = 1
):
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language_id, version=version, text=text)
        )
    )


async def wait_for_diagnostics(client: LanguageClient, uri: str, timeout: float = 15.0):
    """The diagnostics published for ``uri`` (pop ``client.diagnostics[uri]`` first to wait for fresh ones)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if uri in client.diagnostics:
            return client.diagnostics[uri]
        await asyncio.sleep(0.02)
    raise TimeoutError(f"no diagnostics for {uri} within {timeout}s")
