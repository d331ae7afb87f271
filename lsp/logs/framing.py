"""Framing: what log collectors and terminals wrap around the lines an application wrote, removed before
the application's own header is read.

* ANSI colour and cursor codes (coloured console output kept in a file or a CI log);
* Docker's json-file driver: ``{"log": "<line>\\n", "stream": "stderr", "time": "..."}``;
* the Kubernetes CRI prefix of ``/var/log/containers``: ``<RFC3339Nano> <stdout|stderr> <F|P> <line>``
  (``P``: a partial line, continued by the next line of the same stream);
* ``docker compose logs``: ``<service>-<n>  | <line>``, several services interleaved;
* ``kubectl logs --timestamps`` / ``docker logs -t``: an RFC 3339 timestamp before every line, frames of
  stack traces included.

A frame is recognised per file, from a sample of lines, when nearly all of them carry it (a timestamp
prefix only when what follows it shows that it is no application header). Each line is then given its
inner text, the stream it came from (its service or stdout/stderr), and whether it is a partial line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")

_RFC3339 = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})"
_CRI = re.compile(rf"^{_RFC3339} (stdout|stderr) ([FP])(?: |$)")
# docker compose names a container <project>-<service>-<n> (v1: _<n>) and shows <service>-<n>.
_COMPOSE = re.compile(r"^([A-Za-z0-9][\w.-]{0,62}[-_]\d{1,3})(\s+)\| ?")
_TIMESTAMP_PREFIX = re.compile(rf"^{_RFC3339}(?: |$)")
_DOCKER_JSON_KEYS = frozenset({"log", "stream", "time", "attrs"})
# What an application's own header starts with, and what only a continuation line starts with.
_INNER_TIMESTAMP = re.compile(r"^\[?\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}|^[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}")
# (One space after the timestamp is the frame's: a line it indents further is a continuation.)
_CONTINUATION = re.compile(r"^(?:\t| {2}|$)|^Caused by: |^Traceback \(most recent|^goroutine \d+ \[")

SAMPLE_LINES = 500
MIN_SHARE = 0.9  # a frame must be on this share of the sampled non-blank lines


def strip_ansi(line: str) -> str:
    """``line`` without ANSI escape sequences (colours, cursor moves, terminal titles)."""
    return _ANSI.sub("", line) if "\x1b" in line else line


@dataclass(frozen=True, slots=True)
class Framed:
    """One line with its frame removed: ``text`` is what the application wrote, ``stream`` the source it
    came from (``""`` without a frame), ``partial`` that the next line of the stream continues it."""

    text: str
    stream: str = ""
    partial: bool = False


def _docker_json(line: str) -> Framed | None:
    s = line.strip()
    if not s.startswith(('{"log":', '{"stream":', '{"time":')):
        return None
    try:
        obj = json.loads(s)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("log"), str) or not set(obj) <= _DOCKER_JSON_KEYS:
        return None
    text = obj["log"]
    partial = not text.endswith("\n")  # Docker splits lines over 16 KiB and ends only the last part
    return Framed(text.rstrip("\r\n"), str(obj.get("stream", "")), partial)


def _cri(line: str) -> Framed | None:
    m = _CRI.match(line)
    if m is None:
        return None
    return Framed(line[m.end():], m.group(1), m.group(2) == "P")


def _compose(line: str) -> Framed | None:
    m = _COMPOSE.match(line)
    return Framed(line[m.end():], m.group(1)) if m else None


def _timestamped(line: str) -> Framed | None:
    m = _TIMESTAMP_PREFIX.match(line)
    return Framed(line[m.end():]) if m else None


_READERS = {"docker-json": _docker_json, "cri": _cri, "compose": _compose, "timestamps": _timestamped}


def detect_frame(lines: list[str]) -> str:
    """The frame that (nearly) every line of ``lines`` carries: ``"docker-json"``, ``"cri"``,
    ``"compose"``, ``"timestamps"``, or ``""`` for none."""
    sample = [line for line in lines[:SAMPLE_LINES] if line.strip()]
    if not sample:
        return ""
    need = MIN_SHARE * len(sample)
    for name in ("docker-json", "cri", "compose"):
        read = _READERS[name]
        if sum(read(line) is not None for line in sample) >= need and (
                name != "compose" or _compose_is_aligned(sample)):
            return name
    inner = [f.text for f in map(_timestamped, sample) if f is not None]
    if len(inner) >= need:
        # A timestamp is a collector's when what follows it is a second header, or a line that can only
        # continue a record (a frame, an indented line, an empty line); else it is the application's own.
        stamped = sum(bool(_INNER_TIMESTAMP.match(text)) for text in inner)
        if stamped >= 0.5 * len(inner) or any(_CONTINUATION.match(text) for text in inner):
            return "timestamps"
    return ""


def _compose_is_aligned(sample: list[str]) -> bool:
    """docker compose pads service names to one column: the ``|`` sits at the same offset on every line."""
    columns = {len(m.group(1)) + len(m.group(2)) for m in map(_COMPOSE.match, sample) if m}
    return len(columns) == 1


def unframe(lines: list[str], frame: str) -> list[Framed]:
    """Each line's :class:`Framed` under ``frame``; lines without it are kept whole."""
    if not frame:
        return [Framed(line) for line in lines]
    read = _READERS[frame]
    return [read(line) or Framed(line) for line in lines]
