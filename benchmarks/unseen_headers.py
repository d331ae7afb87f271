"""Header layouts no one has written a rule for: the messages of a Loghub system, with their true events,
under headers drawn at random from generic field kinds (record numbers, epoch and calendar times in many
notations, numbered hosts and node locations, levels in any case or brackets, components from a small
vocabulary, pids, request brackets) joined by spaces, padding, ``-``, ``,`` or ``|``.

Used by ``benchmarks/loghub_grouping.py --unseen-headers N``: grouping accuracy on such a file measures how
well header detection holds on a layout it has never seen, with the messages (and so the truth) unchanged.
The layouts are drawn from a seed, independently of any system, before any result is looked at.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_LEVELS = ("INFO",) * 14 + ("WARN", "WARNING", "ERROR", "DEBUG", "FATAL", "NOTICE")
_COMPONENT_WORDS = ("kernel", "app", "net", "storage", "sched", "auth", "cache", "io", "mmcs", "monitor")


def _case(style: int, word: str) -> str:
    return (word.upper(), word.capitalize(), word.lower())[style % 3]


def _field_makers(rng: random.Random) -> list[Callable[[random.Random, int], str]]:
    """The field kinds a header is built from; each maker gets a line's random source and number."""
    level_style, level_wrap = rng.randrange(3), rng.randrange(3)
    components = [rng.choice(("{}", "{}.{}", "{}_{}", "{}-{}")).format(*rng.sample(_COMPONENT_WORDS, 2))
                  for _ in range(rng.randrange(3, 12))]
    comp_case = rng.randrange(3)
    hosts = [rng.choice(("node-{}", "dn{}", "web{:02d}", "ip-10-0-{}-7", "R{:02d}-M1-N0-C:J12-U11")).format(
        rng.randrange(1, 99)) for _ in range(rng.randrange(1, 40))]

    def level(r: random.Random, _i: int) -> str:
        word = _case(level_style, r.choice(_LEVELS))
        return ("{}", "[{}]", "<{}>")[level_wrap].format(word)

    return [
        lambda _r, i: str(100000 + i),  # record number
        lambda _r, i: str(1117838570 + i * 7),  # epoch seconds
        lambda _r, i: str(1500000000000 + i * 1234),  # epoch milliseconds
        lambda _r, i: f"2005.06.{3 + i // 900:02d}",
        lambda _r, i: f"2017{1 + i // 1800:02d}{1 + i % 28:02d}-{i % 24:02d}:{i % 60:02d}:{i % 59:02d}:{i % 1000:03d}",
        lambda _r, i: f"2005-06-03-15.{i % 60:02d}.{i % 59:02d}.{(i * 7919) % 1000000:06d}",
        lambda _r, i: f"{i % 24:02d}:{i % 60:02d}:{i % 59:02d}.{i % 1000:03d}",
        lambda _r, i: f"Nov {1 + i // 300} {i % 24:02d}:{i % 60:02d}:{i % 59:02d}",
        lambda r, _i: r.choice(hosts),
        level,
        lambda r, _i: _case(comp_case, r.choice(components)),
        lambda r, _i: str(r.randrange(100, 65000)),  # pid
        lambda r, _i: f"[{r.randrange(100, 65000)}]",
        lambda r, _i: f"[req-{r.getrandbits(32):08x} {r.getrandbits(48):012x} - - -]",
    ]


def random_layout(seed: int) -> Callable[[int, str], str]:
    """A header layout drawn from ``seed``: a function of (line number, message) -> the raw line."""
    rng = random.Random(seed)
    makers = _field_makers(rng)
    chosen = rng.sample(makers, rng.randrange(2, 6))
    joiner = rng.choice((" ", " ", " ", "|", " - ", ", "))
    pad = rng.random() < 0.3 and joiner == " "  # fields padded to columns, as some loggers align them
    widths = [rng.randrange(8, 24) for _ in chosen]
    closing = rng.choice(("", " ", ": ", " - ", "|"))

    def render(i: int, message: str) -> str:
        r = random.Random(seed * 1_000_003 + i)
        parts = [make(r, i) for make in chosen]
        if pad:
            parts = [p.ljust(w) for p, w in zip(parts, widths)]
        header = joiner.join(parts)
        return f"{header}{closing if closing.strip() else ' '}{message}"

    return render


def reheader(messages: list[str], seed: int) -> list[str]:
    """``messages`` as raw lines under the header layout drawn from ``seed``."""
    render = random_layout(seed)
    return [render(i, m) for i, m in enumerate(messages)]
