"""API keys end to end: the CLI's shape, hashes at rest, scopes, expiry, revocation, the admin API, and the
admin key (``--api-key``) that keeps today's deployments working."""

from __future__ import annotations

import hashlib
import json

import httpx
import openai
import pytest
import sqlalchemy as sa

from .conftest import ADMIN_KEY, client_for, keys_cli

HELLO = [{"role": "user", "content": "Say hi."}]


def _chat(client: openai.OpenAI, model: str = "ops-v1"):
    return client.chat.completions.create(model=model, messages=HELLO, max_tokens=2)


def test_cli_create_prints_the_key_last_and_stores_only_its_hash(gateway_server):
    out = keys_cli("create", "--owner", "alice", "--models", "ops-v1,ops-ab", "--rpm", "100", "--tpm", "50000",
                   "--max-concurrent", "4", "--budget", "100000/day", "--expires", "2099-01-31",
                   "--database-url", gateway_server.database_url).stdout
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("sk-ale-") and len(secret) > 40
    assert "owner=alice" in out and "budget=100000/day" in out and "rpm=100" in out

    db = sa.create_engine(gateway_server.database_url)
    with db.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM gateway_api_keys"))]
    db.dispose()
    mine = [r for r in rows if r["hash"] == hashlib.sha256(secret.encode()).hexdigest()]
    assert len(mine) == 1
    assert all(secret not in json.dumps(r, default=str) for r in rows)  # never the key itself

    listed = keys_cli("list", "--database-url", gateway_server.database_url).stdout
    assert mine[0]["id"] in listed and secret not in listed
    as_json = json.loads(keys_cli("list", "--json", "--database-url", gateway_server.database_url).stdout)
    record = next(k for k in as_json if k["id"] == mine[0]["id"])
    assert record["models"] == ["ops-v1", "ops-ab"] and record["max_concurrent"] == 4
    assert record["expires_at"].startswith("2099-01-31") and record["state"] == "active"

    client = client_for(gateway_server, secret)
    assert _chat(client).choices[0].message.content is not None
    with pytest.raises(openai.PermissionDeniedError) as err:  # out of its scopes
        _chat(client, "ops-v2")
    assert err.value.body["code"] == "model_not_allowed"

    keys_cli("update", mine[0]["id"], "--models", "ops-v2", "--database-url", gateway_server.database_url)
    assert _chat(client, "ops-v2").choices
    keys_cli("revoke", mine[0]["id"], "--database-url", gateway_server.database_url)
    with pytest.raises(openai.AuthenticationError) as err:
        _chat(client, "ops-v2")
    assert "revoked" in err.value.body["message"]


def test_cli_errors_are_clear(gateway_server):
    bad = keys_cli("create", "--owner", "bob", "--budget", "lots", "--database-url", gateway_server.database_url,
                   check=False)
    assert bad.returncode == 2 and "TOKENS/day or TOKENS/month" in bad.stderr
    missing = keys_cli("revoke", "key_doesnotexist", "--database-url", gateway_server.database_url, check=False)
    assert missing.returncode == 1 and "no key" in missing.stderr


def test_an_expired_key_is_refused(gateway_server):
    out = keys_cli("create", "--owner", "carol", "--expires", "2001-01-01",
                   "--database-url", gateway_server.database_url).stdout
    with pytest.raises(openai.AuthenticationError) as err:
        _chat(client_for(gateway_server, out.strip().splitlines()[-1]))
    assert "expired" in err.value.body["message"]


def test_unknown_and_missing_keys_get_401(gateway_server):
    with pytest.raises(openai.AuthenticationError) as err:
        _chat(client_for(gateway_server, "sk-ale-not-a-real-key"))
    assert err.value.body["code"] == "invalid_api_key"
    missing = httpx.post(f"{gateway_server.base_url}/chat/completions", timeout=60,
                         json={"model": "ops-v1", "messages": HELLO, "max_tokens": 1})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"


def test_the_admin_key_serves_and_manages_keys(gateway_server, admin_http, new_key):
    assert _chat(client_for(gateway_server, ADMIN_KEY)).choices  # --api-key keeps working as before

    secret, record = new_key("dave", rpm=10, budget="5000/month", expires="2099-06-01T12:00:00")
    assert record["budget"] == "5000/month" and record["rpm"] == 10 and "hash" not in record
    listed = admin_http.get("/v1/admin/keys").json()["data"]
    assert any(k["id"] == record["id"] for k in listed)
    assert all("hash" not in k and "key" not in k for k in listed)

    patched = admin_http.patch(f"/v1/admin/keys/{record['id']}", json={"rpm": 20, "models": ["ops-v1"]}).json()
    assert patched["rpm"] == 20 and patched["models"] == ["ops-v1"] and patched["budget"] == "5000/month"

    # a key is no admin
    keyed = {"Authorization": f"Bearer {secret}"}
    for method, path in [("GET", "/v1/admin/keys"), ("POST", "/v1/admin/keys"), ("DELETE", "/v1/admin/keys/x")]:
        r = admin_http.request(method, path, headers=keyed)
        assert r.status_code == 403 and r.json()["error"]["code"] == "admin_key_required"
    own = admin_http.get("/v1/usage", params={"group_by": "key"}, headers=keyed).json()
    assert own["scope"] == "key" and all(e["key_id"] == record["id"] for e in own["data"])  # only its own
    assert admin_http.get("/v1/admin/keys", headers={"Authorization": ""}).status_code == 401

    bad = admin_http.post("/v1/admin/keys", json={"owner": "x", "budget": "10/week"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "budget"
    assert admin_http.post("/v1/admin/keys", json={"rpm": 3}).status_code == 400  # no owner
    assert admin_http.delete("/v1/admin/keys/key_nope").status_code == 404

    revoked = admin_http.delete(f"/v1/admin/keys/{record['id']}").json()
    assert revoked["state"] == "revoked"
    with pytest.raises(openai.AuthenticationError):
        _chat(client_for(gateway_server, secret))
