"""An open server (no admin key, no keys) stays open until the first key exists; and ``kill -9`` of the
server loses only the requests in flight: every answered request's row is already committed."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from server.process import ServerProcess

from .conftest import aclient_for, client_for, keys_cli, ledger_rows, model_args

QUESTION = [{"role": "user", "content": "What is a zombie process?"}]


@pytest.fixture
def open_server(tmp_path):
    url = f"sqlite:///{tmp_path / 'crash.sqlite'}"
    with ServerProcess(extra_args=[*model_args(), "--models-dir", str(tmp_path), "--parallel", "4",
                                   "--ctx-size", "1024", "--database-url", url, "--key-cache-seconds", "0"],
                       log_path=tmp_path / "server.log") as srv:
        srv.database_url = url
        yield srv


def test_open_until_a_key_exists_then_kill_9_loses_only_requests_in_flight(open_server):
    url = open_server.database_url
    anonymous = client_for(open_server, "anything")
    assert anonymous.chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=1).choices
    [row] = ledger_rows(url)
    assert row["key_id"] is None and row["status"] == 200  # recorded, without a key
    keys = httpx.get(f"{open_server.base_url}/admin/keys")
    assert keys.status_code == 403 and keys.json()["error"]["code"] == "admin_api_disabled"
    usage = httpx.get(f"{open_server.base_url}/usage", params={"group_by": "key"}).json()
    assert usage["scope"] == "all" and usage["data"][0]["key_id"] is None  # an open server's usage is open

    secret = keys_cli("create", "--owner", "ops-team", "--database-url", url).stdout.strip().splitlines()[-1]
    with pytest.raises(openai.AuthenticationError):  # a key exists now: every request needs one
        anonymous.chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=1)

    async def load() -> list[str]:
        client = aclient_for(open_server, secret)
        answered = await asyncio.gather(*(client.chat.completions.create(
            model="ops-v1" if i % 2 else "ops-v2", messages=QUESTION, max_tokens=2) for i in range(30)))
        # four more that are still generating when the server is killed
        streams = [await client.chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=500,
                                                        stream=True) for _ in range(4)]
        for s in streams:
            await s.__anext__()
        open_server.proc.kill()  # SIGKILL: no shutdown, no flush
        open_server.proc.wait()
        return [a.id for a in answered]

    answered = asyncio.run(load())
    rows = ledger_rows(url, "key_id IS NOT NULL")
    recorded = {r["response_id"] for r in rows}
    assert set(answered) <= recorded  # nothing that was answered is lost
    assert len(rows) <= len(answered) + 4  # at most the requests in flight are missing (or present)
    assert all(r["status"] == 200 for r in rows)
