"""Tool calling: how calls are written by the model, constrained by grammar, and parsed back (streamed too).

Formats sit behind a small registry, chosen from the chat template, never hard-coded per model name:

* ``hermes`` - the template knows tools and writes ``<tool_call>{"name", "arguments"}</tool_call>``
  (Qwen 2.5, Hermes, SmolLM3 ...): tools go to the template, which describes them to the model.
* ``json`` - the template knows nothing of tools (SmolLM2, most small models): the tools and the call
  format are described in a system message, and a call is the JSON ``{"tool_calls": [{"name", "arguments"}]}``.
  Earlier calls and tool results in the conversation are rewritten into that same form.

Decoding is always constrained by a grammar built from the functions' JSON schemas, so arguments are valid
whatever the model's size: ``required`` and named choices admit only calls; ``auto`` admits a call OR plain
text (text may not begin with the call's first character), so the model chooses with its first token, in
one pass, and the stream can be classified from its first character.
"""

from __future__ import annotations

import abc
import json
import uuid
from dataclasses import dataclass, field

from .grammar import MAX_STRING_CHARS, GrammarBuilder, check_schema
from .protocol import ChatCompletionRequest, Tool

EMPTY_PARAMETERS = {"type": "object", "properties": {}}
MAX_PARALLEL_CALLS = 8  # a small model can repeat itself forever; the grammar ends the list here


class ToolRequestError(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass
class ParsedCall:
    name: str
    arguments: str  # a JSON text
    id: str = field(default_factory=new_call_id)

    def openai(self, index: int | None = None) -> dict:
        out = {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}
        if index is not None:
            out["index"] = index
        return out


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


def validate_tool_request(body: ChatCompletionRequest) -> tuple[list[Tool], str]:
    """Check tools, tool_choice and the tool messages; return (active tools, mode: none|auto|required)."""
    tools = body.tools or []
    for i, tool in enumerate(tools):
        check_schema(tool.function.parameters or EMPTY_PARAMETERS, f"tools[{i}].function.parameters")
    names = [t.function.name for t in tools]
    if len(set(names)) != len(names):
        raise ToolRequestError("function names in 'tools' must be unique", "tools")
    choice = body.tool_choice
    if choice is None or (choice == "auto" and not tools):  # "auto" over no tools can only answer in text
        mode = "auto" if tools else "none"
    elif isinstance(choice, str):
        mode = choice
    else:
        if choice.function.name not in names:
            raise ToolRequestError(
                f"tool_choice names the function '{choice.function.name}', which is not among the tools "
                f"({', '.join(names) or 'none given'})", "tool_choice")
        tools, mode = [t for t in tools if t.function.name == choice.function.name], "required"
    if mode != "none" and not tools:
        raise ToolRequestError(f"tool_choice '{mode}' needs at least one tool in 'tools'", "tool_choice")
    seen: set[str] = set()
    for i, m in enumerate(body.messages):
        if m.role == "assistant" and m.tool_calls:
            seen.update(tc.id for tc in m.tool_calls)
        if m.role == "tool" and m.tool_call_id not in seen:
            raise ToolRequestError(
                f"messages[{i}] answers tool_call_id '{m.tool_call_id}', but no earlier assistant message made "
                "a call with that id", f"messages[{i}].tool_call_id")
    if mode != "none" and body.response_format is not None and body.response_format.type != "text":
        raise ToolRequestError("response_format cannot be combined with tools unless tool_choice is 'none'",
                               "response_format")
    return tools, mode


# --------------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------------


class ToolFormat(abc.ABC):
    name: str
    call_start: str  # the first character of a call: how a stream in `auto` mode is classified
    call_depth: int  # containers open inside one call object, for the streaming scanner

    @abc.abstractmethod
    def prepare(self, messages: list[dict], tools: list[Tool], mode: str) -> tuple[list[dict], list[dict] | None]:
        """Messages (and the ``tools`` variable) to give the chat template."""

    @abc.abstractmethod
    def grammar(self, tools: list[Tool], mode: str, parallel: bool, max_string: int = MAX_STRING_CHARS) -> str: ...

    @abc.abstractmethod
    def parse(self, text: str) -> list[ParsedCall]: ...


def _call_schemas(tools: list[Tool]) -> list[tuple[str, dict, str]]:
    return [(t.function.name, t.function.parameters or EMPTY_PARAMETERS, f"tools[{i}].function.parameters")
            for i, t in enumerate(tools)]


def _repeat(item: str, separator: str, most: int) -> str:
    """``item (separator item)`` up to ``most`` items in all, as nested optionals."""
    tail = ""
    for _ in range(most - 1):
        tail = f"({separator} {item} {tail})?"
    return f"{item} {tail}".strip()


def _call_rule(builder: GrammarBuilder, tools: list[Tool]) -> str:
    alternatives = []
    for i, (name, params, param) in enumerate(_call_schemas(tools)):
        args = builder.schema_rule(params, f"args-{i}", param)
        alternatives.append(builder.rule(
            f"call-{i}", f'"{{" space "\\"name\\"" space ":" space "\\"{name}\\"" space "," space '
                         f'"\\"arguments\\"" space ":" space {args} "}}" space'))
    return builder.rule("call", " | ".join(alternatives))


class JSONToolFormat(ToolFormat):
    name = "json"
    call_start = "{"
    call_depth = 3  # {"tool_calls": [ {call} ]}

    def prepare(self, messages, tools, mode):
        if mode == "none" or not tools:
            return self._rewrite_history(messages), None
        lines = ["You can call these functions:"]
        for t in tools:
            params = json.dumps(t.function.parameters or EMPTY_PARAMETERS, ensure_ascii=False)
            desc = f": {t.function.description}" if t.function.description else ""
            lines.append(f"- {t.function.name}{desc}. Parameters (JSON schema): {params}")
        example = json.dumps({"tool_calls": [{"name": tools[0].function.name,
                                              "arguments": example_value(tools[0].function.parameters or {})}]})
        lines.append("To call functions, reply with only a JSON object like this example, and nothing else: "
                     + example)
        lines.append("You must call a function now." if mode == "required" else
                     "When a function can answer or act on the request, call it. Otherwise answer in plain text.")
        out, note = self._rewrite_history(messages), "\n".join(lines)
        if out and out[0]["role"] == "system":
            out[0] = {**out[0], "content": out[0]["content"] + "\n\n" + note}
        else:
            out.insert(0, {"role": "system", "content": note})
        return out, None

    @staticmethod
    def _rewrite_history(messages: list[dict]) -> list[dict]:
        """Earlier calls become the JSON the model writes; tool results become labelled user messages."""
        out = []
        for m in messages:
            if m["role"] == "assistant" and m.get("tool_calls"):
                calls = [{"name": tc["function"]["name"], "arguments": _loads(tc["function"]["arguments"])}
                         for tc in m["tool_calls"]]
                out.append({"role": "assistant", "content": json.dumps({"tool_calls": calls}, ensure_ascii=False)})
            elif m["role"] == "tool":
                out.append({"role": "user", "content": f"Result of the function call {m.get('tool_call_id')}:\n"
                                                       f"{m['content']}"})
            else:
                out.append(m)
        return out

    def grammar(self, tools, mode, parallel, max_string=MAX_STRING_CHARS):
        b = GrammarBuilder(max_string)
        call = _call_rule(b, tools)
        calls = _repeat(call, '"," space', MAX_PARALLEL_CALLS) if parallel else call
        b.rule("tool-calls", f'"{{" space "\\"tool_calls\\"" space ":" space "[" space {calls} "]" space "}}" space')
        if mode == "auto":
            b.rule("root", "tool-calls | plain-text")
            b.rule("plain-text", "[^{ \\t\\n] .*")
        else:
            b.rule("root", "tool-calls")
        return b.build()

    def parse(self, text):
        data = json.loads(text)
        return [ParsedCall(c["name"], json.dumps(c["arguments"], ensure_ascii=False)) for c in data["tool_calls"]]


class HermesToolFormat(ToolFormat):
    name = "hermes"
    call_start = "<"
    call_depth = 1

    def prepare(self, messages, tools, mode):
        out = []
        for m in messages:
            if m["role"] == "assistant" and m.get("tool_calls"):
                m = {**m, "tool_calls": [{**tc, "function": {**tc["function"],
                                                               "arguments": _loads(tc["function"]["arguments"])}}
                                         for tc in m["tool_calls"]]}
            out.append(m)
        return out, [t.model_dump(exclude_none=True) for t in tools] if mode != "none" else None

    def grammar(self, tools, mode, parallel, max_string=MAX_STRING_CHARS):
        b = GrammarBuilder(max_string)
        call = _call_rule(b, tools)
        one = f'"<tool_call>\\n" space {call} "\\n</tool_call>"'
        b.rule("tool-calls", _repeat(one, '"\\n"', MAX_PARALLEL_CALLS) if parallel else one)
        if mode == "auto":
            b.rule("root", "tool-calls | plain-text")
            b.rule("plain-text", "[^< \\t\\n] .*")
        else:
            b.rule("root", "tool-calls")
        return b.build()

    def parse(self, text):
        calls = []
        for chunk in text.split("<tool_call>")[1:]:
            data = json.loads(chunk.split("</tool_call>")[0])
            calls.append(ParsedCall(data["name"], json.dumps(data["arguments"], ensure_ascii=False)))
        return calls


FORMATS: dict[str, type[ToolFormat]] = {"json": JSONToolFormat, "hermes": HermesToolFormat}


def select_format(chat_template: str | None) -> ToolFormat:
    if chat_template and "<tool_call>" in chat_template and "tools" in chat_template:
        return HermesToolFormat()
    return JSONToolFormat()


def example_value(schema: dict):
    """A small value of the schema's shape, for the call example shown to the model."""
    if not isinstance(schema, dict):
        return "..."
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        keys = schema.get("required") or list(props)[:2]
        return {k: example_value(props.get(k, {})) for k in keys}
    if kind == "array":
        return [example_value(schema.get("items", {}))]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return "..."


def _loads(arguments: str):
    try:
        return json.loads(arguments)
    except (TypeError, ValueError):
        return arguments


# --------------------------------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------------------------------


def partial_calls(fmt: ToolFormat, text: str) -> list[ParsedCall]:
    """The calls of a text that stopped early (max_tokens): each named call with its arguments so far."""
    calls: list[ParsedCall] = []
    for kind, _, value in ToolCallScanner(fmt.call_depth).feed(text):
        if kind == "name":
            calls.append(ParsedCall(value, ""))
        elif calls:
            calls[-1].arguments += value
    return calls


class ToolCallScanner:
    """Reads a tool-call text as it streams and reports each call's name, then its argument fragments.

    A small JSON tokenizer: it tracks nesting and strings, notes the ``name`` and ``arguments`` keys of
    each call object (``call_depth`` containers deep) and the exact span of the arguments value.
    """

    def __init__(self, call_depth: int) -> None:
        self.call_depth = call_depth
        self.text = ""
        self.pos = 0
        self.depth = 0
        self.in_string = self.escape = False
        self.expect_key = False
        self.string_is_key = False
        self.buf: list[str] = []
        self.key: str | None = None
        self.args_start: int | None = None
        self.emitted = 0  # text offset up to which argument text has been reported
        self.index = -1

    def feed(self, delta: str) -> list[tuple[str, int, str]]:
        """Add text; return events ("name", index, name) and ("args", index, fragment)."""
        self.text += delta
        events: list[tuple[str, int, str]] = []
        text, d = self.text, self.call_depth
        for i in range(self.pos, len(text)):
            ch = text[i]
            if self.in_string:
                if self.escape:
                    self.escape = False
                elif ch == "\\":
                    self.escape = True
                elif ch == '"':
                    self.in_string = False
                    if self.depth == d and self.args_start is None:
                        value = "".join(self.buf)
                        if self.string_is_key:
                            self.key = value
                        elif self.key == "name":
                            self.index += 1
                            events.append(("name", self.index, value))
                    continue
                if self.depth == d:
                    self.buf.append(ch)
                continue
            if ch == '"':
                self.in_string, self.buf = True, []
                self.string_is_key = self.depth == d and self.expect_key
            elif ch in "{[":
                if self.depth == d and self.key == "arguments" and self.args_start is None:
                    self.args_start = self.emitted = i
                self.depth += 1
                self.expect_key = ch == "{"
            elif ch in "}]":
                self.depth -= 1
                if self.args_start is not None and self.depth == d:
                    events.append(("args", self.index, text[self.emitted: i + 1]))
                    self.args_start, self.key = None, None
                    self.emitted = i + 1
            elif ch == ":":
                self.expect_key = False
            elif ch == ",":
                self.expect_key = True
        self.pos = len(text)
        if self.args_start is not None and self.emitted < len(text):
            events.append(("args", self.index, text[self.emitted:]))
            self.emitted = len(text)
        return events
