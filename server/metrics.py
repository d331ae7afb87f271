"""Prometheus metrics: requests by status, latency histograms, token counters, queue gauges, batch sizes."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_ITL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.25, 0.5, 1, 2.5)
log = logging.getLogger("server.engine")
STATS_LOG_INTERVAL = 10.0  # seconds between the engine's throughput lines while it is busy (vLLM logs every 5 s)


class _Throughput:
    """Tokens per second over a sliding window, fed from the engine thread."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self.events: collections.deque[tuple[float, int]] = collections.deque()
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        now = time.monotonic()
        with self.lock:
            self.events.append((now, n))
            self._trim(now)

    def rate(self) -> float:
        now = time.monotonic()
        with self.lock:
            self._trim(now)
            return sum(n for _, n in self.events) / self.window

    def _trim(self, now: float) -> None:
        while self.events and self.events[0][0] < now - self.window:
            self.events.popleft()


class _StepLog:
    """What the engine did since its last log line: one INFO line per interval while busy, as vLLM's
    "Avg prompt throughput ... Running: N reqs" is, so a server log shows whether a slow request waited,
    decoded slowly, or spent its time outside llama_decode (sampling, grammar)."""

    def __init__(self, model: str, stats: Callable[[], dict[str, int]], interval: float) -> None:
        self.model, self.stats, self.interval = model, stats, interval
        self._reset(time.monotonic())

    def _reset(self, now: float) -> None:
        self.since, self.steps, self.prompt, self.gen, self.decode_s = now, 0, 0, 0, 0.0
        self.last = now

    def add(self, n_prompt: int, n_gen: int, seconds: float) -> None:
        now = time.monotonic()
        if now - self.last > self.interval:  # the engine was idle: the interval starts with this step
            self._reset(now - seconds)
        self.last = now
        self.steps += 1
        self.prompt += n_prompt
        self.gen += n_gen
        self.decode_s += seconds
        wall = now - self.since
        if wall < self.interval:
            return
        queue = self.stats()
        log.info("%s: prompt %.1f tok/s, generation %.1f tok/s, %d steps, %.0f%% of the time in llama_decode, "
                 "running %s, waiting %s", self.model, self.prompt / wall, self.gen / wall, self.steps,
                 100 * self.decode_s / wall, queue.get("running", "?"), queue.get("waiting", "?"))
        self._reset(now)


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter("aletheia_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=r)
        self.ttft = Histogram("aletheia_time_to_first_token_seconds", "Time to first token", ["model"],
                              buckets=_LATENCY_BUCKETS, registry=r)
        self.itl = Histogram("aletheia_inter_token_latency_seconds", "Time between tokens of one sequence", ["model"],
                             buckets=_ITL_BUCKETS, registry=r)
        self.e2e = Histogram("aletheia_e2e_request_latency_seconds", "Request latency, arrival to last token",
                             ["model"], buckets=_LATENCY_BUCKETS, registry=r)
        self.prompt_tokens = Counter("aletheia_prompt_tokens", "Prompt tokens processed", ["model"], registry=r)
        self.cached_prompt_tokens = Counter("aletheia_prompt_tokens_cached",
                                            "Prompt tokens reused from the prefix cache", ["model"], registry=r)
        self.generation_tokens = Counter("aletheia_generation_tokens", "Tokens generated", ["model"], registry=r)
        self.batch_size = Histogram("aletheia_batch_sequences", "Sequences in one llama_decode step", ["model"],
                                    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64), registry=r)
        self.step_seconds = Histogram("aletheia_step_seconds", "Duration of one decode step", ["model"],
                                      buckets=_ITL_BUCKETS, registry=r)
        self._prompt_rate: dict[str, _Throughput] = {}
        self._gen_rate: dict[str, _Throughput] = {}
        self.prompt_tps = Gauge("aletheia_prompt_throughput_tokens_per_second", "Prompt tokens/s (10 s window)",
                                ["model"], registry=r)
        self.gen_tps = Gauge("aletheia_generation_throughput_tokens_per_second", "Generated tokens/s (10 s window)",
                             ["model"], registry=r)
        self.running = Gauge("aletheia_requests_running", "Sequences being generated", ["model"], registry=r)
        self.waiting = Gauge("aletheia_requests_waiting", "Requests waiting for a slot", ["model"], registry=r)
        self._stats: dict[str, Callable[[], dict[str, int]]] = {}
        self.key_requests = Counter("aletheia_key_requests", "Generation requests by API key id and status",
                                    ["key", "status"], registry=r)
        self.key_tokens = Counter("aletheia_key_tokens", "Tokens by API key id and kind (prompt, completion)",
                                  ["key", "kind"], registry=r)

    def track_engine(self, model: str, stats: Callable[[], dict[str, int]]) -> None:
        self._stats[model] = stats
        self.running.labels(model).set_function(lambda: stats()["running"])
        self.waiting.labels(model).set_function(lambda: stats()["waiting"])
        self._prompt_rate[model] = p = _Throughput()
        self._gen_rate[model] = g = _Throughput()
        self.prompt_tps.labels(model).set_function(p.rate)
        self.gen_tps.labels(model).set_function(g.rate)

    def step_observer(self, model: str, log_interval: float = STATS_LOG_INTERVAL):
        """A callback for the engine thread: (sequences in batch, prompt tokens, generated tokens, seconds)."""
        batch, step = self.batch_size.labels(model), self.step_seconds.labels(model)
        step_log = _StepLog(model, lambda: self._stats.get(model, dict)(), log_interval)

        def observe(n_seqs: int, n_prompt: int, n_gen: int, seconds: float) -> None:
            batch.observe(n_seqs)
            step.observe(seconds)
            step_log.add(n_prompt, n_gen, seconds)
            if model in self._prompt_rate:
                self._prompt_rate[model].add(n_prompt)
                self._gen_rate[model].add(n_gen)

        return observe

    def observe_request_tokens(self, model: str, prompt: int, completion: int, cached: int, seconds: float) -> None:
        self.prompt_tokens.labels(model).inc(prompt)
        self.cached_prompt_tokens.labels(model).inc(cached)
        self.generation_tokens.labels(model).inc(completion)
        self.e2e.labels(model).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
