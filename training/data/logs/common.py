"""Shared pieces for log scenarios: a clock with the usual timestamp formats, random identifiers,
the Scenario type and the assembler that interleaves planted events with noise."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class Clock:
    """Monotonic time for one excerpt; each call to ``tick`` moves it forward a little."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.now = datetime(
            rng.choice([2024, 2025, 2026]),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            rng.randint(0, 59),
            rng.randint(0, 59),
            rng.randint(0, 999) * 1000,
        )

    def tick(self, lo: float = 0.001, hi: float = 4.0) -> Clock:
        self.now += timedelta(seconds=self.rng.uniform(lo, hi))
        return self

    # formats
    def iso(self) -> str:  # 2025-03-04T10:11:12.345Z
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.now.microsecond // 1000:03d}Z"

    def syslog(self) -> str:  # Mar  4 10:11:12
        return self.now.strftime("%b ") + f"{self.now.day:>2}" + self.now.strftime(" %H:%M:%S")

    def nginx(self) -> str:  # 2025/03/04 10:11:12
        return self.now.strftime("%Y/%m/%d %H:%M:%S")

    def java(self) -> str:  # 2025-03-04 10:11:12.345
        return self.now.strftime("%Y-%m-%d %H:%M:%S.") + f"{self.now.microsecond // 1000:03d}"

    def python(self) -> str:  # 2025-03-04 10:11:12,345
        return self.now.strftime("%Y-%m-%d %H:%M:%S,") + f"{self.now.microsecond // 1000:03d}"

    def postgres(self) -> str:  # 2025-03-04 10:11:12.345 UTC
        return self.java() + " UTC"

    def hdfs(self) -> str:  # 250304 101112
        return self.now.strftime("%y%m%d %H%M%S")

    def klog(self, level: str = "I") -> str:  # I0304 10:11:12.345678
        return f"{level}{self.now.strftime('%m%d %H:%M:%S.')}{self.now.microsecond:06d}"

    def kernel(self, boot: float) -> str:  # [123456.789012]
        return f"[{boot:12.6f}]"

    def access(self) -> str:  # 04/Mar/2025:10:11:12 +0000
        return self.now.strftime("%d/%b/%Y:%H:%M:%S +0000")


def ip(rng: random.Random, private: bool = True) -> str:
    if private:
        return f"10.{rng.randint(0, 40)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
    return f"{rng.choice([81, 93, 145, 178, 185, 203])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"


def host(rng: random.Random) -> str:
    return rng.choice(["web", "app", "api", "worker", "db", "node", "ip-10-0"]) + f"-{rng.randint(1, 42):02d}"


def hexid(rng: random.Random, n: int = 12) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def pod(rng: random.Random, name: str) -> str:
    return f"{name}-{hexid(rng, 9)}-{''.join(rng.choice('bcdfghjklmnpqrstvwxz2456789') for _ in range(5))}"


@dataclass
class Event:
    """Planted lines emitted together (a stack trace is one event); ``evidence`` indexes into them."""

    lines: Callable[[Clock], list[str]]
    evidence: tuple[int, ...] = ()
    gap: tuple[int, int] = (0, 3)  # noise lines before this event


@dataclass
class Scenario:
    source: str  # e.g. "/var/log/nginx/error.log" or "journalctl -u orders"
    noise: Callable[[Clock], str]
    events: list[Event]
    root_cause: str
    fix: str
    decoys: list[str]  # plausible but wrong root causes, for preference pairs
    lead: tuple[int, int] = (3, 10)
    tail: tuple[int, int] = (1, 6)
    summary: str = ""  # error group summary as the log analyser would give it
    meta: dict = field(default_factory=dict)


MIN_NOISE = 2


def assemble(
    rng: random.Random, clock: Clock, sc: Scenario, max_chars: int = 0
) -> tuple[list[str], list[int], list[int]]:
    """Interleave noise and events. Returns (lines, evidence indexes, noise indexes), 0-based.

    With ``max_chars``, noise lines are dropped (outermost first) until the excerpt fits, keeping at least
    ``MIN_NOISE`` of them; planted lines are never dropped."""
    # (text, kind, evidence?) with kind "noise" or "event"; timestamps are drawn in order, so dropping
    # lines later keeps them monotonic
    items: list[tuple[str, str, bool]] = []

    def add_noise(n: int) -> None:
        for _ in range(n):
            items.append((sc.noise(clock.tick()), "noise", False))

    add_noise(rng.randint(*sc.lead))
    for ev in sc.events:
        add_noise(rng.randint(*ev.gap))
        for i, text in enumerate(ev.lines(clock.tick(0.001, 0.5))):
            items.append((text, "event", i in ev.evidence))
    add_noise(rng.randint(*sc.tail))

    if max_chars:
        size = sum(len(t) + 1 for t, _, _ in items)
        while size > max_chars and sum(k == "noise" for _, k, _ in items) > MIN_NOISE:
            # drop from whichever end carries more noise, else the largest gap between events
            lead = next(i for i, (_, k, _) in enumerate(items) if k == "event")
            tail = len(items) - 1 - max(i for i, (_, k, _) in enumerate(items) if k == "event")
            if lead or tail:
                j = 0 if lead >= tail else len(items) - 1
            else:
                j = next(i for i, (_, k, _) in enumerate(items) if k == "noise")
            size -= len(items[j][0]) + 1
            del items[j]
    lines = [t for t, _, _ in items]
    evidence = [i for i, (_, _, e) in enumerate(items) if e]
    noise_idx = [i for i, (_, k, _) in enumerate(items) if k == "noise"]
    return lines, evidence, noise_idx
