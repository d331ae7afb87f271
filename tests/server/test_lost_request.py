"""The lost request of issue 14, recreated: bursts of concurrent requests from a fresh async client per test,
on one event loop, while the clients of earlier tests are garbage-collected.

The cause (found with a trace of ``_remove_reader`` calls): an ``AsyncOpenAI`` client left unclosed becomes
garbage; the garbage collector first runs its asyncio transports' finalizers, which close their sockets, and
then the SDK's own finalizer, which schedules ``aclose()`` on the running loop. That ``aclose()`` aborts the
transports again and calls ``loop._remove_reader(fd)`` with their old descriptor numbers, which new
connections of the current burst have reused: such a connection sends its request, the server answers, and
the client is never woken to read the answer. The fix is that every async client is closed (the ``aclient``
fixture, the language server's model client); these tests fail (a burst never completes) without it.
"""

from __future__ import annotations

import asyncio
import gc

import pytest

BURST = 20  # as test_tools' concurrent tests
ROUNDS = 6  # without the fix, a burst lost a request by the 2nd to 4th round in every trial


async def _collect_garbage_during(burst: asyncio.Future) -> None:
    """Run full collections while the burst's connections open and wait: the moments the suite's allocations
    triggered collections in the failures."""
    while not burst.done():
        gc.collect()
        await asyncio.sleep(0.005)


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_a_burst_on_a_fresh_client_gets_every_answer_while_old_clients_are_collected(aclient, round_):
    burst = asyncio.ensure_future(asyncio.gather(*(aclient.models.list() for _ in range(BURST))))
    collector = asyncio.ensure_future(_collect_garbage_during(burst))
    done, _ = await asyncio.wait({burst}, timeout=60)  # each answer takes milliseconds
    collector.cancel()
    if not done:
        burst.cancel()
    assert done, "a request of the burst never got its answer although the server sent it"
    assert all(page.data for page in burst.result())
