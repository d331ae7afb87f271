"""Rate and budget counters: in this process's memory, or in Redis when several replicas share the limits.

Two shapes, the same in both backends (Redis runs each operation as one Lua script, so it is atomic across
replicas; in memory every operation runs without an ``await`` inside, so it is atomic on the event loop):

* a *bucket* whose level drains at ``capacity`` per 60 s (requests or tokens per minute): ``take`` admits
  when ``level + check <= capacity`` and then adds ``debit``;
* a *counter* with a ceiling (concurrent requests, a budget period's tokens): ``take`` adds ``amount`` only
  if the total stays within ``limit``; ``add`` adjusts it (a negative amount gives back).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

WINDOW_S = 60.0


@dataclass
class BucketResult:
    ok: bool
    level: float
    retry_after: float


class MemoryCounters:
    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._counters: dict[str, int] = {}

    async def bucket_take(self, key: str, capacity: int, check: float, debit: float) -> BucketResult:
        now = time.monotonic()
        level, ts = self._buckets.get(key, (0.0, now))
        rate = capacity / WINDOW_S
        level = max(0.0, level - (now - ts) * rate)
        if check > 0 and level + check > capacity:
            self._buckets[key] = (level, now)
            return BucketResult(False, level, (level + check - capacity) / rate)
        level += debit
        self._buckets[key] = (level, now)
        return BucketResult(True, level, 0.0)

    async def counter_take(self, key: str, amount: int, limit: int, ttl_s: int,
                           seed: Callable[[], Awaitable[int]] | None = None) -> tuple[bool, int]:
        if key not in self._counters:
            start = await seed() if seed else 0
            self._counters.setdefault(key, start)  # a concurrent seeding of the same key keeps the first
        current = self._counters[key]
        if current + amount > limit:
            return False, current
        self._counters[key] = current + amount
        return True, current + amount

    async def counter_add(self, key: str, amount: int) -> None:
        if key in self._counters:
            self._counters[key] += amount

    async def close(self) -> None:
        pass


_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cap, rate = tonumber(ARGV[1]), tonumber(ARGV[1]) / tonumber(ARGV[4])
local check, debit = tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'level', 'ts')
local level, ts = tonumber(v[1]) or 0, tonumber(v[2]) or now
level = math.max(0, level - (now - ts) * rate)
if check > 0 and level + check > cap then
  return {0, tostring(level), tostring((level + check - cap) / rate)}
end
level = level + debit
redis.call('HSET', KEYS[1], 'level', tostring(level), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(level / rate) + 60)
return {1, tostring(level), '0'}
"""

_COUNTER_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[4] == '' then return {-1, 0} end
  redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[3])
end
local cur = tonumber(redis.call('GET', KEYS[1]))
local amount, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if cur + amount > limit then return {0, cur} end
return {1, redis.call('INCRBY', KEYS[1], amount)}
"""


class RedisCounters:
    """The same operations on a Redis server (redis-py's asyncio client), keys under ``aletheia:gw:``."""

    PREFIX = "aletheia:gw:"

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        # a bounded pool that waits for a free connection instead of failing under a burst of requests
        pool = redis.BlockingConnectionPool.from_url(url, decode_responses=True, socket_connect_timeout=5,
                                                     max_connections=64, timeout=30)
        self.client = redis.Redis(connection_pool=pool)
        self._bucket = self.client.register_script(_BUCKET_LUA)
        self._counter = self.client.register_script(_COUNTER_LUA)

    async def ping(self) -> None:
        await self.client.ping()

    async def bucket_take(self, key: str, capacity: int, check: float, debit: float) -> BucketResult:
        ok, level, retry = await self._bucket(keys=[self.PREFIX + key], args=[capacity, check, debit, WINDOW_S])
        return BucketResult(bool(ok), float(level), float(retry))

    async def counter_take(self, key: str, amount: int, limit: int, ttl_s: int,
                           seed: Callable[[], Awaitable[int]] | None = None) -> tuple[bool, int]:
        full = self.PREFIX + key
        ok, value = await self._counter(keys=[full], args=[amount, limit, ttl_s, ""])
        if ok == -1:  # first use of this key (this period): start from the ledger's count
            start = await seed() if seed else 0
            ok, value = await self._counter(keys=[full], args=[amount, limit, ttl_s, str(start)])
        return bool(ok), int(value)

    async def counter_add(self, key: str, amount: int) -> None:
        await self.client.incrby(self.PREFIX + key, amount)

    async def close(self) -> None:
        await self.client.aclose()
        await self.client.connection_pool.disconnect()


Counters = MemoryCounters | RedisCounters
