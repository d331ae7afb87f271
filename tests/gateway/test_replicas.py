"""Two replicas sharing one ledger and one set of keys (PostgreSQL) and one set of limits (Redis), on the
real servers on 127.0.0.1. Without them these tests fail and say so: they never pass by skipping."""

from __future__ import annotations

import asyncio
import os
import uuid

import httpx
import openai
import pytest

from server.gateway.counters import RedisCounters
from server.process import ServerProcess

from .conftest import ADMIN_KEY, aclient_for, client_for, ledger_rows, model_args

PG_ADMIN_URL = os.environ.get("ALETHEIA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ALETHEIA_TEST_REDIS", "redis://127.0.0.1:6379/0")
QUESTION = [{"role": "user", "content": "What does `ss -s` print?"}]


@pytest.fixture(scope="module")
def pg_url():
    import psycopg

    name = f"aletheia_gw_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}). The replica tests need a real "
                    "PostgreSQL 15 there (or set ALETHEIA_TEST_POSTGRES).", pytrace=False)
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="module")
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}). The replica tests need a real Redis 7 "
                    "there (or set ALETHEIA_TEST_REDIS).", pytrace=False)
    return REDIS_URL


@pytest.fixture(scope="module")
def replicas(pg_url, redis_url, tmp_path_factory):
    logs = tmp_path_factory.mktemp("replicas")
    args = [*model_args(), "--models-dir", str(logs), "--api-key", ADMIN_KEY, "--parallel", "2", "--ctx-size", "1024",
            "--database-url", pg_url, "--redis-url", redis_url]
    with ServerProcess(extra_args=args, log_path=logs / "a.log") as a, \
            ServerProcess(extra_args=args, log_path=logs / "b.log") as b:
        yield a, b


async def test_redis_counters_are_atomic_under_concurrency(redis_url):
    counters = RedisCounters(redis_url)
    key = f"test:{uuid.uuid4().hex}"
    try:
        results = await asyncio.gather(*(counters.counter_take(key, 7, 100, 60) for _ in range(50)))
        assert sum(ok for ok, _ in results) == 14  # 14 x 7 = 98 <= 100 < 105
        takes = await asyncio.gather(*(counters.bucket_take(key + ":b", 10, 1, 1) for _ in range(25)))
        assert sum(t.ok for t in takes) == 10 and all(t.retry_after > 0 for t in takes if not t.ok)
    finally:
        await counters.client.delete(RedisCounters.PREFIX + key, RedisCounters.PREFIX + key + ":b")
        await counters.close()


def test_replicas_share_keys_limits_and_one_ledger(replicas, pg_url):
    a, b = replicas
    for srv in (a, b):  # the first inference of a fresh server is slow; the minute below should not include it
        client_for(srv, ADMIN_KEY).chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=1)
    made = httpx.post(f"{a.base_url}/admin/keys", json={"owner": "shared", "rpm": 2},
                      headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60).json()
    secret = made["key"]
    ca, cb = client_for(a, secret), client_for(b, secret)  # a key made on one replica works on the other
    for client in (ca, cb):
        assert client.chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=1).choices
    for client in (cb, ca):  # the third and fourth requests of the minute, on either replica (a slot comes
        with pytest.raises(openai.RateLimitError):  # back every 30 s: far more than these requests take)
            client.chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=1)
    rows = ledger_rows(pg_url, "key_id = :k", k=made["id"])
    assert sorted(r["status"] for r in rows) == [200, 200, 429, 429]
    usage = httpx.get(f"{b.base_url}/usage", params={"group_by": "key"},
                      headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60).json()["data"]
    assert [e["requests"] for e in usage if e["key_id"] == made["id"]] == [4]


async def test_a_budget_holds_across_replicas(replicas, pg_url):
    a, b = replicas
    probe = client_for(a, ADMIN_KEY).chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=1)
    worst = probe.usage.prompt_tokens + 4
    budget = 4 * worst
    made = httpx.post(f"{a.base_url}/admin/keys", json={"owner": "shared-budget", "budget": f"{budget}/month"},
                      headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60).json()
    clients = [aclient_for(a, made["key"]), aclient_for(b, made["key"])]

    async def one(i: int):
        try:
            r = await clients[i % 2].chat.completions.create(model="ops-v1", messages=QUESTION, max_tokens=4)
            return r.usage.total_tokens
        except openai.RateLimitError as err:
            assert err.body["code"] == "insufficient_quota"
            return 0

    try:
        spent = await asyncio.gather(*(one(i) for i in range(30)))
    finally:  # closed here: an unclosed client's finalizer can strand a later request (issue 14)
        for client in clients:
            await client.close()
    assert sum(spent) <= budget and sum(1 for s in spent if s) >= 4
    rows = ledger_rows(pg_url, "key_id = :k", k=made["id"])
    assert len(rows) == 30 and sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows) == sum(spent)
