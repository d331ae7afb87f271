"""A config file as a list of tagged lines, and the Defect/Injector types that edit it.

Injectors edit the document in place and return a ``Defect`` that points at a ``Line`` object (not a
number), so later insertions or removals by other injectors cannot make a line number stale: numbers
are computed once, after all edits, from the lines' final positions."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(eq=False)
class Line:
    text: str
    tag: str = ""


class Doc:
    def __init__(self, lines: Iterable[Line | str | tuple[str, str]]):
        self.lines: list[Line] = []
        for item in lines:
            if isinstance(item, Line):
                self.lines.append(item)
            elif isinstance(item, tuple):
                self.lines.append(Line(item[0], item[1]))
            else:
                self.lines.append(Line(item))

    def find(self, tag: str) -> Line | None:
        return next((ln for ln in self.lines if ln.tag == tag), None)

    def find_all(self, tag: str) -> list[Line]:
        return [ln for ln in self.lines if ln.tag == tag]

    def has(self, tag: str) -> bool:
        return self.find(tag) is not None

    def get(self, tag: str) -> Line:
        line = self.find(tag)
        if line is None:
            raise KeyError(tag)
        return line

    def number(self, line: Line) -> int:
        for i, ln in enumerate(self.lines, 1):
            if ln is line:
                return i
        raise ValueError("line is not in the document")

    def remove(self, tag: str) -> None:
        self.lines = [ln for ln in self.lines if ln.tag != tag]

    def insert_after(self, anchor: Line, new: Iterable[Line]) -> None:
        i = self.number(anchor)
        self.lines[i:i] = list(new)

    def insert_before(self, anchor: Line, new: Iterable[Line]) -> None:
        i = self.number(anchor) - 1
        self.lines[i:i] = list(new)

    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines) + "\n"


@dataclass
class Defect:
    """A planted defect: the line it is about, a token that line must contain, message and fix."""

    rule: str
    line: Line
    token: str
    message: str
    fix: str


@dataclass(frozen=True)
class Injector:
    """Plants one kind of defect. ``requires`` are tags the document must have for it to apply."""

    rule: str
    requires: tuple[str, ...]
    apply: Callable[[Doc, random.Random], Defect]
    excludes: tuple[str, ...] = field(default=())  # tags whose presence rules it out

    def applies(self, doc: Doc) -> bool:
        return all(doc.has(t) for t in self.requires) and not any(doc.has(t) for t in self.excludes)


@dataclass(frozen=True)
class Invented:
    """A false claim about a clean line (for 'invented defect' corruptions)."""

    tag: str
    message: str
    fix: str


def indent_of(line: Line) -> str:
    return line.text[: len(line.text) - len(line.text.lstrip())]
