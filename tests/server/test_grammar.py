"""Unit tests of the grammar pieces that llama-cpp-python's converter lacks: bounded integers, refusals,
and the streaming tool-call scanner."""

from __future__ import annotations

import json
import re

import pytest

from server.grammar import SchemaError, integer_range, schema_grammar
from server.tool_parsers import ToolCallScanner


def _as_regex(gbnf: str) -> re.Pattern:
    """The GBNF subset integer_range emits ("d", [a-b], groups, |) as a Python regex."""
    return re.compile(re.sub(r'"(.)"', lambda m: re.escape(m.group(1)), gbnf).replace(" ", ""))


@pytest.mark.parametrize("lo, hi", [(1, 65535), (0, 10), (-5, 5), (18, 120), (None, 3), (7, None), (-100, -3),
                                    (0, 0), (99, 101), (1000, 1000)])
def test_integer_range_accepts_exactly_the_range(lo, hi):
    rx = _as_regex(integer_range(lo, hi))
    for n in list(range(-1200, 1200)) + [9999, 10000, 65535, 65536, 123456]:
        inside = (lo is None or n >= lo) and (hi is None or n <= hi)
        assert bool(rx.fullmatch(str(n))) == inside, (lo, hi, n)
    for bad in ["01", "-0", "1.5", "", "--1"]:
        assert not rx.fullmatch(bad), bad


def test_unenforceable_schema_is_refused_not_ignored():
    for schema in [{"type": "string", "format": "email"}, {"type": "array", "uniqueItems": True},
                   {"type": "number", "minimum": -1.5}, {"not": {"type": "string"}}]:
        with pytest.raises(SchemaError):
            schema_grammar({"type": "object", "properties": {"x": schema}}, "response_format")
    with pytest.raises(SchemaError):
        schema_grammar({"type": "wizard"}, "response_format")


def test_scanner_streams_names_then_argument_fragments():
    text = ('{"tool_calls": [{"name": "disk_usage", "arguments": {"path": "/v{ar\\"", "n": [1, {"a": 2}]}}, '
            '{"name": "port", "arguments": {"p": 22}}]}')
    scanner, events = ToolCallScanner(3), []
    for i in range(0, len(text), 3):
        events += scanner.feed(text[i:i + 3])
    assert [(e[1], e[2]) for e in events if e[0] == "name"] == [(0, "disk_usage"), (1, "port")]
    args = ["".join(e[2] for e in events if e[0] == "args" and e[1] == i) for i in (0, 1)]
    assert json.loads(args[0]) == {"path": '/v{ar"', "n": [1, {"a": 2}]} and json.loads(args[1]) == {"p": 22}
    first_args = next(i for i, e in enumerate(events) if e[0] == "args")
    assert events[0][0] == "name" and first_args > 0, "the name comes before any argument text"


def test_strings_without_max_length_are_capped():
    from server.grammar import MAX_STRING_CHARS

    grammar = schema_grammar({"type": "object", "properties": {"path": {"type": "string"}}}, "x")
    string_rule = next(line for line in grammar.splitlines() if line.startswith("string ::="))
    assert string_rule.count("char") == MAX_STRING_CHARS
    assert "char*" not in grammar


def test_the_string_cap_is_a_setting():
    from server.grammar import MAX_STRING_CHARS
    from server.settings import Settings, parse_args

    schema = {"type": "object", "properties": {"path": {"type": "string"}}}
    rule = next(line for line in schema_grammar(schema, "x", 12).splitlines() if line.startswith("string ::="))
    assert rule.count("char") == 12
    assert "char*" in schema_grammar(schema, "x", 0)  # no cap: the converter's own unbounded string
    assert Settings().json_max_string == MAX_STRING_CHARS
    assert parse_args(["--json-max-string", "0"]).json_max_string == 0
