"""An ops assistant that gives the model real local tools and runs the function-calling loop with the
official openai SDK, against Aletheia's server (or any OpenAI-compatible endpoint).

    make serve &                     # or: .venv/bin/python -m server
    .venv/bin/python examples/ops_assistant.py "Is anything listening on port 8000, and how full is /tmp?"

Tools: disk usage of a path, whether a TCP port is listening, the tail of a log file. Each is read-only
and runs locally; the model only chooses which to call and with which arguments (validated against the
schemas below by constrained decoding on the server).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
from pathlib import Path

from openai import OpenAI

TOOLS = [
    {"type": "function", "function": {
        "name": "disk_usage", "description": "Total, used and free bytes of the filesystem holding a path",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"],
                       "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "port_listening", "description": "Whether something accepts TCP connections on a local port",
        "parameters": {"type": "object", "properties": {
            "port": {"type": "integer", "minimum": 1, "maximum": 65535}}, "required": ["port"],
            "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "tail_log", "description": "The last lines of a log file",
        "parameters": {"type": "object", "properties": {
            "path": {"type": "string"}, "lines": {"type": "integer", "minimum": 1, "maximum": 200}},
            "required": ["path"], "additionalProperties": False}}},
]


def disk_usage(path: str) -> dict:
    usage = shutil.disk_usage(Path(path).expanduser())
    return {"path": path, "total": usage.total, "used": usage.used, "free": usage.free,
            "used_percent": round(100 * usage.used / usage.total, 1)}


def port_listening(port: int) -> dict:
    with socket.socket() as s:
        s.settimeout(0.5)
        return {"port": port, "listening": s.connect_ex(("127.0.0.1", port)) == 0}


def tail_log(path: str, lines: int = 20) -> dict:
    text = Path(path).expanduser().read_text(errors="replace").splitlines()
    return {"path": path, "lines": text[-lines:]}


IMPLEMENTATIONS = {"disk_usage": disk_usage, "port_listening": port_listening, "tail_log": tail_log}


def call_tool(name: str, arguments: str) -> str:
    try:
        return json.dumps(IMPLEMENTATIONS[name](**json.loads(arguments)))
    except Exception as exc:  # the model sees the failure and can answer with it
        return json.dumps({"error": f"{type(exc).__name__}: {exc}"})


def run(question: str, client: OpenAI, model: str, max_rounds: int = 4) -> str:
    messages = [{"role": "system", "content": "You are an ops assistant. Use the tools to check facts."},
                {"role": "user", "content": question}]
    for round_ in range(max_rounds):
        last = round_ == max_rounds - 1
        response = client.chat.completions.create(model=model, messages=messages, tools=TOOLS,
                                                  tool_choice="none" if last else "auto", temperature=0.2, seed=0)
        message = response.choices[0].message
        if not message.tool_calls:
            return message.content or ""
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            result = call_tool(call.function.name, call.function.arguments)
            print(f"-> {call.function.name}({call.function.arguments}) = {result[:200]}")
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("question")
    ap.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"))
    ap.add_argument("--model", default="aletheia")
    args = ap.parse_args()
    client = OpenAI(base_url=args.base_url, api_key=os.environ.get("OPENAI_API_KEY", "none"))
    print(run(args.question, client, args.model))


if __name__ == "__main__":
    main()
