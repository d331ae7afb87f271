"""The gateway a team shares one server through: API keys, limits and budgets, the usage ledger, A/B
experiments between model ids, and feedback on answers.

``build_gateway(settings, metrics)`` opens the store named by ``--database-url`` (SQLite by default,
PostgreSQL for several replicas) and the rate counters (this process's memory, or Redis with
``--redis-url``); ``GatewayMiddleware`` and ``routes.router`` put it in front of the app.
"""

from __future__ import annotations

from ..metrics import Metrics
from ..settings import Settings
from .core import Gateway, reserve, track_run
from .counters import MemoryCounters, RedisCounters
from .experiments import parse_experiments
from .store import open_store

__all__ = ["Gateway", "build_gateway", "reserve", "track_run"]


def build_gateway(settings: Settings, metrics: Metrics) -> Gateway:
    counters = RedisCounters(settings.redis_url) if settings.redis_url else MemoryCounters()
    return Gateway(db=open_store(settings.database_url), counters=counters, admin_key=settings.api_key,
                   metrics=metrics, experiments=parse_experiments(settings.experiments),
                   store_transcripts=settings.store_transcripts, key_cache_s=settings.key_cache_seconds)
