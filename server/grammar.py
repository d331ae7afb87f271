"""JSON schemas to llama.cpp GBNF grammars, with the schema checked first so a bad one is a clear 400.

Constrained decoding is what makes a 135M model's JSON valid: the grammar sampler joins each sequence's
sampler chain and masks every token that would leave the grammar. The conversion itself is
llama-cpp-python's ``SchemaConverter`` (a port of llama.cpp's json-schema-to-grammar).
"""

from __future__ import annotations

import json
import math
from typing import Any

import jsonschema
from llama_cpp.llama_grammar import SchemaConverter, _build_repetition

# Keywords that only annotate, and keywords the grammar enforces; anything else is refused with a 400
# rather than silently not enforced.
_ANNOTATIONS = {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment",
                "$schema", "$id", "$defs", "definitions", "strict", "nullable"}
_ENFORCED = {"type", "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems",
             "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "pattern", "format", "minLength", "maxLength",
             "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
_FORMATS = {"uuid", "date", "time", "date-time"}
_JSON_CHAR = r'[^"\\\x7F\x00-\x1F] | [\\] (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'
_MAX_DIGITS = 16
# Bounds on repetition (minItems/maxItems/minLength/maxLength): the grammar spells a bound of n as n nested
# optional groups, and llama.cpp's grammar parser recurses once per group (a maxLength of 10^8 crashed the
# server with a stack overflow): larger bounds are refused with a 400.
MAX_REPETITION = 2000
_REPETITION_KEYWORDS = ("minItems", "maxItems", "minLength", "maxLength")
# A string with no maxLength is capped by default: a small model can stay inside a JSON string forever
# (measured: 4 of 20 seeds ran to 1,024 tokens). The output still validates against the schema, but a longer
# legitimate string is cut, so the server's --json-max-string sets the cap (0: none).
MAX_STRING_CHARS = 200


def _same_length(lo: str, hi: str) -> list[str]:
    """GBNF alternatives for the decimal numbers lo..hi, both of the same length."""
    if len(lo) == 1:
        return [f"[{lo}-{hi}]"]
    if lo[0] == hi[0]:
        return [f'"{lo[0]}" ({alt})' for alt in [" | ".join(_same_length(lo[1:], hi[1:]))]]
    n = len(lo) - 1
    if lo[1:] == "0" * n and hi[1:] == "9" * n:
        return [f"[{lo[0]}-{hi[0]}]" + " [0-9]" * n]
    parts = [f'"{lo[0]}" (' + " | ".join(_same_length(lo[1:], "9" * n)) + ")"]
    if int(hi[0]) - int(lo[0]) > 1:
        parts.append(f"[{int(lo[0]) + 1}-{int(hi[0]) - 1}]" + " [0-9]" * n)
    parts.append(f'"{hi[0]}" (' + " | ".join(_same_length("0" * n, hi[1:])) + ")")
    return parts


def _natural_range(lo: int, hi: int | None) -> str:
    """Non-negative integers lo..hi (hi None: up to 16 digits), without leading zeros."""
    alts = []
    top = hi if hi is not None else 10**_MAX_DIGITS - 1
    for length in range(len(str(lo)), len(str(top)) + 1):
        a = lo if length == len(str(lo)) else 10 ** (length - 1)
        b = top if length == len(str(top)) else 10**length - 1
        if a <= b:
            alts += _same_length(str(a), str(b))
    return "(" + " | ".join(alts) + ")"


def integer_range(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"minimum {lo} is above maximum {hi}")
    parts = []
    if lo is None or lo < 0:  # negatives: "-" then the magnitude range
        mag_lo = 1 if hi is None or hi >= 0 else -hi
        mag_hi = None if lo is None else -lo
        parts.append(f'"-" {_natural_range(mag_lo, mag_hi)}')
    if hi is None or hi >= 0:
        parts.append(_natural_range(max(lo or 0, 0), hi))
    return "(" + " | ".join(parts) + ")"


class _BoundedSchemaConverter(SchemaConverter):
    """llama-cpp-python's converter, plus numeric bounds, and a refusal of what it cannot enforce."""

    def visit(self, schema, name):
        if isinstance(schema, dict):
            unknown = set(schema) - _ANNOTATIONS - _ENFORCED
            if unknown:
                raise ValueError(f"the keyword(s) {', '.join(sorted(unknown))} cannot be enforced while decoding")
            for keyword in _REPETITION_KEYWORDS:
                bound = schema.get(keyword)
                if isinstance(bound, (int, float)) and not isinstance(bound, bool) and bound > MAX_REPETITION:
                    raise ValueError(f"'{keyword}' of {bound} is above the {MAX_REPETITION} that constrained "
                                     "decoding enforces")
            if "format" in schema and schema["format"] not in _FORMATS:
                raise ValueError(f"the string format '{schema['format']}' cannot be enforced while decoding")
            bounds = {k for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if k in schema}
            if bounds and schema.get("type") in ("integer", "number"):
                return self._add_rule(name or "root", self._bounded_number(schema))
        return super().visit(schema, name)

    def _bounded_number(self, schema: dict) -> str:
        lo = schema.get("minimum")
        hi = schema.get("maximum")
        if "exclusiveMinimum" in schema:
            x = schema["exclusiveMinimum"]
            lo = math.floor(x) + 1 if schema["type"] == "integer" else x
        if "exclusiveMaximum" in schema:
            x = schema["exclusiveMaximum"]
            hi = math.ceil(x) - 1 if schema["type"] == "integer" else x
        if schema["type"] == "integer":
            lo = None if lo is None else math.ceil(lo)
            hi = None if hi is None else math.floor(hi)
            return integer_range(lo, hi) + " space"
        # numbers: whole-number bounds >= 0 only (e.g. 0..1, 0..100); the rest cannot be enforced
        if any(v is not None and (v < 0 or v != int(v)) for v in (lo, hi)) or \
                "exclusiveMaximum" in schema or "exclusiveMinimum" in schema:
            raise ValueError("numeric bounds on 'number' are enforced only for inclusive, whole, non-negative bounds")
        lo, hi = int(lo or 0), None if hi is None else int(hi)
        fraction = '("." ' + _build_repetition("[0-9]", 1, _MAX_DIGITS) + ")?"
        below = f"{_natural_range(lo, hi - 1)} {fraction}" if hi is None or hi > lo else None
        exact = f'"{hi}" ("." "0"+)?' if hi is not None else None
        return "(" + " | ".join(x for x in (below, exact) if x) + ") space"


class SchemaError(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def check_schema(schema: Any, param: str) -> dict:
    if not isinstance(schema, dict):
        raise SchemaError(f"'{param}' must be a JSON schema object", param)
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise SchemaError(f"'{param}' is not a valid JSON schema: {exc.message}", param) from None
    return schema


class GrammarBuilder:
    """Collects rules for several schemas into one grammar (shared primitives are written once)."""

    def __init__(self, max_string: int = MAX_STRING_CHARS) -> None:
        """``max_string``: characters a string without maxLength may hold; 0 for no cap."""
        self.max_string = max_string
        self._conv = _BoundedSchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
        self._extra: dict[str, str] = {}

    def schema_rule(self, schema: dict, name: str, param: str) -> str:
        """Add the rules of ``schema`` under ``name``; return the rule name to reference."""
        try:
            resolved = self._conv.resolve_refs(json.loads(json.dumps(schema)), "input")
            return self._conv.visit(resolved, name)
        except (AssertionError, KeyError, ValueError, TypeError, RecursionError) as exc:
            raise SchemaError(f"'{param}' uses a JSON schema feature that cannot be enforced: {exc}", param) from None

    def rule(self, name: str, body: str) -> str:
        self._extra[name] = body
        return name

    def build(self) -> str:
        rules = dict(self._conv._rules)  # the converter exposes no other accessor
        if "char" in rules:  # JSON strings may not hold raw control characters (the Python port allows them)
            rules["char"] = _JSON_CHAR
        if "string" in rules and self.max_string > 0:
            rules["string"] = '"\\"" ' + _build_repetition("char", 0, self.max_string) + ' "\\"" space'
        rules.update(self._extra)
        return "\n".join(f"{name} ::= {body}" for name, body in rules.items())


def schema_grammar(schema: dict, param: str, max_string: int = MAX_STRING_CHARS) -> str:
    builder = GrammarBuilder(max_string)
    builder.rule("root", builder.schema_rule(check_schema(schema, param), "value-root", param))
    return builder.build()


JSON_OBJECT_SCHEMA: dict = {"type": "object"}
