"""YAML documents as position-carrying nodes (PyYAML's composer, libyaml-backed when available).

PyYAML's C composer parses a 2,000-line manifest in ~8 ms against ~160 ms for ruamel.yaml's round-trip
loader (measured on this machine), and its nodes carry start/end marks for every key and value, which is
all the rules need. Nodes are never constructed into Python objects, so tags and anchors cannot execute.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .findings import Span

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_TAGS = {ScalarNode: "tag:yaml.org,2002:str", SequenceNode: "tag:yaml.org,2002:seq",
               MappingNode: "tag:yaml.org,2002:map"}


class _Loader(_BaseLoader):
    """The rules read scalars as text, so implicit tags (int, bool, timestamp...) are not resolved: the
    resolver's regular expressions were 40% of the analysis time."""

    def resolve(self, kind, value, implicit):
        return _PLAIN_TAGS[kind]

    def descend_resolver(self, current_node, current_index):
        pass

    def ascend_resolver(self):
        pass


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int, col: int):
        super().__init__(message)
        self.message, self.line, self.col = message, line, col


def compose_documents(text: str) -> list[Node]:
    """Every document of a (multi-document) YAML stream as a node tree; empty documents are skipped."""
    try:
        return [d for d in yaml.compose_all(text, Loader=_Loader) if d is not None]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        msg = " ".join(p for p in (e.context, e.problem) if p) or "invalid YAML"
        raise YamlSyntaxError(msg, mark.line if mark else 0, mark.column if mark else 0) from None
    except yaml.YAMLError as e:  # reader errors (control characters) carry a character offset
        pos = getattr(e, "position", None)
        pos = pos if isinstance(pos, int) and 0 <= pos <= len(text) else 0
        line, col = text.count("\n", 0, pos), pos - (text.rfind("\n", 0, pos) + 1)
        raise YamlSyntaxError(str(e).splitlines()[0] if str(e) else "invalid YAML", line, col) from None
    except RecursionError:
        raise YamlSyntaxError("YAML nested too deeply", 0, 0) from None


def span_of(node: Node) -> Span:
    s, e = node.start_mark, node.end_mark
    if isinstance(node, ScalarNode) and s.line != e.line and node.style in (None, ""):
        return Span(s.line, s.column, s.line, s.column + len(str(node.value).split("\n")[0]))
    return Span(s.line, s.column, e.line, e.column)


_MAX_MERGE_DEPTH = 32


def items(node: Node | None) -> Iterator[tuple[ScalarNode, Node]]:
    """Key/value pairs of a mapping node whose keys are scalars (others skipped), merge keys applied:
    ``<<: *base`` (or ``<<: [*a, *b]``) adds the keys of the merged mappings that the node does not set
    itself, earlier sources first, as YAML 1.1 and Compose read them. Each merged node is expanded once,
    so aliases cannot blow up."""
    yield from _items(node, set(), 0)


def _items(node: Node | None, expanded: set[int], depth: int) -> Iterator[tuple[ScalarNode, Node]]:
    if not isinstance(node, MappingNode):
        return
    merges: list[Node] = []
    seen: set[str] = set()
    for k, v in node.value:
        if isinstance(k, ScalarNode):
            if k.value == "<<" and k.style in (None, ""):  # a plain (unquoted) <<: a merge key
                merges.extend(v.value if isinstance(v, SequenceNode) else [v])
                continue
            seen.add(k.value)
            yield k, v
    if depth >= _MAX_MERGE_DEPTH:
        return
    for source in merges:
        if not isinstance(source, MappingNode) or id(source) in expanded:
            continue
        expanded.add(id(source))
        for k, v in _items(source, expanded, depth + 1):
            if k.value not in seen:
                seen.add(k.value)
                yield k, v


def get(node: Node | None, key: str) -> Node | None:
    for k, v in items(node):
        if k.value == key:
            return v
    return None


def get_pair(node: Node | None, key: str) -> tuple[ScalarNode, Node] | None:
    for k, v in items(node):
        if k.value == key:
            return k, v
    return None


def path(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = get(node, key)
        if node is None:
            return None
    return node


def seq(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def is_true(node: Node | None) -> bool:
    return (scalar(node) or "").lower() in ("true", "yes", "on")


def is_false(node: Node | None) -> bool:
    return (scalar(node) or "").lower() in ("false", "no", "off")
