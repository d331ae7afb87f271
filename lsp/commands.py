"""The model-backed commands: aletheia.ask, aletheia.review, aletheia.explainLogError.

Each builds its prompt with the shared task definitions in ``aletheia.tasks`` and streams the answer
through ``$/progress`` (client token if the request carried one, else a server-created token). Every
report's ``message`` is the full answer so far, not a delta. The command result is a JSON object whose
``answer`` is the full text; cancellation (``$/cancelRequest`` or ``window/workDoneProgress/cancel``)
closes the HTTP stream.
"""

from __future__ import annotations

import asyncio
import posixpath
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from aletheia.tasks import (
    ConfigReviewTask,
    Finding,
    LogAnalysisTask,
    QuestionTask,
    parse_config_review_answer,
    parse_log_answer,
)

from .assistant import ModelError, ModelUnavailable, stream_chat

if TYPE_CHECKING:
    from .server import AletheiaServer

REQUEST_FAILED = -32803  # LSP ErrorCodes.RequestFailed
MAX_CONTEXT_CHARS = 6_000  # what fits the small model's context next to the prompt and answer
MAX_STATIC_FINDINGS = 25
FENCE = {
    "dockerfile": "dockerfile",
    "kubernetes": "yaml",
    "compose": "yaml",
    "yaml": "yaml",
    "json": "json",
    "toml": "toml",
    "nginx": "nginx",
    "systemd": "ini",
    "log": "",
}


def first_argument(args: tuple, command: str, *, positional: tuple[str, ...] = ()) -> dict:
    """Commands take one object argument; bare positional values are accepted for the keys in ``positional``."""
    if len(args) == 1 and isinstance(args[0], dict):
        return dict(args[0])
    if args and all(not isinstance(a, (dict, list)) for a in args) and len(args) <= len(positional):
        return dict(zip(positional, args))
    raise JsonRpcInvalidParams(f"{command} expects one object argument, e.g. {{{', '.join(positional)}}}")


def display_path(uri: str) -> str:
    parsed = urlparse(uri)
    path = unquote(parsed.path) if parsed.scheme in ("file", "") else uri
    return posixpath.basename(path) or path


def clip(text: str, limit: int = MAX_CONTEXT_CHARS) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    return cut[: cut.rfind("\n")] if "\n" in cut else cut, True


def _range_text(text: str, rng: Any) -> str:
    try:
        start, end = rng["start"], rng["end"]
        lines = text.splitlines(keepends=True)
        (sl, sc), (el, ec) = (
            (int(start["line"]), int(start["character"])),
            (int(end["line"]), int(end["character"])),
        )
    except (KeyError, TypeError, ValueError):
        raise JsonRpcInvalidParams(
            "range must be {start: {line, character}, end: {line, character}}"
        ) from None
    if sl > el or (sl == el and sc > ec):
        raise JsonRpcInvalidParams("range start is after its end")
    chunk = lines[sl : el + 1]
    if not chunk:
        return ""
    if len(chunk) == 1:
        return chunk[0][sc:ec]
    return chunk[0][sc:] + "".join(chunk[1:-1]) + chunk[-1][:ec]


# ------------------------------------------------------------------------------------------------
# Prompt builders (pure, testable without a client)
# ------------------------------------------------------------------------------------------------


def build_question(ls: AletheiaServer, arg: dict) -> QuestionTask:
    question = arg.get("question")
    if not isinstance(question, str) or not question.strip():
        raise JsonRpcInvalidParams("aletheia.ask needs a non-empty `question` string")
    uri = arg.get("uri")
    context, path, language = "", "", ""
    selection = arg.get("selection")
    if isinstance(selection, dict):  # a Range passed as `selection`
        arg = {**arg, "range": selection}
        selection = None
    if uri is not None and not isinstance(uri, str):
        raise JsonRpcInvalidParams("`uri` must be a string")
    if isinstance(selection, str) and selection.strip():
        context = selection
    elif uri:
        text = ls.document_text(uri)
        context = _range_text(text, arg["range"]) if arg.get("range") else text
    if uri:
        path = display_path(uri)
        try:
            language = FENCE.get(ls.document_kind(uri), "")
        except JsonRpcInvalidParams:  # an unsaved or deleted file: the selection is still worth asking about
            language = ""
    context, _ = clip(context)
    return QuestionTask(question=question.strip(), context=context, path=path, language=language)


def build_review(ls: AletheiaServer, arg: dict) -> tuple[ConfigReviewTask, list[dict]]:
    uri = arg.get("uri")
    if not isinstance(uri, str) or not uri:
        raise JsonRpcInvalidParams("aletheia.review needs the document `uri`")
    analysis = ls.analysis_for(uri)
    content, _ = clip(ls.document_text(uri))
    static = [f for f in analysis.findings if not f.rule.startswith("GEN")][:MAX_STATIC_FINDINGS]
    findings = tuple(Finding(line=f.span.line + 1, message=f.message, rule=f.rule) for f in static)
    kind = analysis.kind if analysis.kind != "log" else "other"
    task = ConfigReviewTask(kind=kind, content=content, path=display_path(uri), static_findings=findings)
    return task, [f.to_dict() for f in static]


def build_log_explanation(ls: AletheiaServer, arg: dict) -> tuple[LogAnalysisTask, dict]:
    from .logs import context_excerpt

    uri = arg.get("uri")
    if not isinstance(uri, str) or not uri:
        raise JsonRpcInvalidParams("aletheia.explainLogError needs the log's `uri`")
    text = ls.document_text(uri)
    report = ls.log_report_for(uri)
    group = None
    gid, line = arg.get("groupId", arg.get("group")), arg.get("line")
    if gid is not None:
        group = next((g for g in report.error_groups if str(g.id) == str(gid)), None)
        if group is None:
            raise JsonRpcInvalidParams(f"no error group {gid} in {display_path(uri)}")
    elif line is not None:
        try:
            line = int(line)
        except (TypeError, ValueError):
            raise JsonRpcInvalidParams("`line` must be a 1-based line number") from None
        group = next((g for g in report.error_groups if line in g.lines or line in g.stack_trace), None)
    elif report.error_groups:
        group = report.error_groups[0]
    else:
        raise JsonRpcInvalidParams(f"{display_path(uri)} has no error groups; pass a `line` to explain")
    focus = group.first_line if group else line
    after = 10
    if group and group.stack_trace:
        after = min(max(10, group.stack_trace[-1] - group.first_line + 2), 60)
    excerpt, first = context_excerpt(text, focus, before=10, after=after)
    excerpt, _ = clip(excerpt)
    summary = f"{group.count} occurrence(s) of: {group.template}" if group else ""
    focus_lines = tuple([focus] + (group.stack_trace[:3] if group else []))
    task = LogAnalysisTask(
        excerpt=excerpt,
        source=display_path(uri),
        first_line=first,
        error_summary=summary,
        focus_lines=focus_lines,
    )
    meta = {"groupId": group.id if group else None, "line": focus, "excerptFirstLine": first}
    return task, meta


# ------------------------------------------------------------------------------------------------
# Streaming through $/progress
# ------------------------------------------------------------------------------------------------


async def run_streamed(ls: AletheiaServer, title: str, messages: list[dict], token: Any = None) -> dict:
    """Stream the model's answer as work-done progress; return {answer, cancelled}."""
    progress = ls.work_done_progress
    if token is None and ls.client_supports_progress():
        token = f"aletheia-{uuid.uuid4()}"
        try:
            await progress.create_async(token)
        except Exception:  # noqa: BLE001 - the client refused the token: stream without progress
            token = None
    inner: asyncio.Task | None = None
    if token is not None:
        progress.begin(token, types.WorkDoneProgressBegin(title=title, cancellable=True, message=""))
        cancel_future = progress.tokens.get(token)
        if cancel_future is not None:
            loop = asyncio.get_running_loop()

            def on_cancel(f):
                if f.cancelled() and inner is not None:
                    loop.call_soon_threadsafe(inner.cancel)

            cancel_future.add_done_callback(on_cancel)

    def report(text: str) -> None:
        if token is not None:
            progress.report(token, types.WorkDoneProgressReport(message=text))

    answer, cancelled, end_message = "", False, "Done"
    partial = {"text": ""}

    def on_text(text: str) -> None:
        partial["text"] = text
        report(text)

    try:
        inner = asyncio.ensure_future(stream_chat(ls.settings, messages, on_text))
        try:
            answer = await inner
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():  # $/cancelRequest: the whole request goes
                end_message = "Cancelled"
                raise
            cancelled, answer, end_message = True, partial["text"], "Cancelled"  # the progress was cancelled
        ls.model_reachable()
        return {"answer": answer, "cancelled": cancelled}
    except ModelUnavailable as e:
        end_message = "Model server unreachable"
        ls.model_unreachable(str(e))
        raise JsonRpcException(str(e), code=REQUEST_FAILED, data={"reason": "unreachable"}) from None
    except ModelError as e:
        end_message = "Model error"
        ls.show_error(str(e))
        raise JsonRpcException(str(e), code=REQUEST_FAILED, data={"reason": "model-error"}) from None
    finally:
        if inner is not None and not inner.done():
            inner.cancel()
        if token is not None:
            progress.end(token, types.WorkDoneProgressEnd(message=end_message))
            progress.tokens.pop(token, None)


async def ask(ls: AletheiaServer, args: tuple, token: Any) -> dict:
    arg = first_argument(args, "aletheia.ask", positional=("question", "uri"))
    ls.require_enabled("ask")
    task = build_question(ls, arg)
    result = await run_streamed(ls, "Aletheia: answering", task.messages(), token or arg.get("workDoneToken"))
    return result


async def review(ls: AletheiaServer, args: tuple, token: Any) -> dict:
    arg = first_argument(args, "aletheia.review", positional=("uri",))
    ls.require_enabled("ask")
    task, static = build_review(ls, arg)
    result = await run_streamed(
        ls, f"Aletheia: reviewing {task.path}", task.messages(), token or arg.get("workDoneToken")
    )
    result["findings"] = [f.__dict__ for f in parse_config_review_answer(result["answer"])]
    result["staticFindings"] = static
    return result


async def explain_log_error(ls: AletheiaServer, args: tuple, token: Any) -> dict:
    arg = first_argument(args, "aletheia.explainLogError", positional=("uri", "line"))
    ls.require_enabled("logAnalysis")
    task, meta = build_log_explanation(ls, arg)
    result = await run_streamed(
        ls, f"Aletheia: explaining {task.source}", task.messages(), token or arg.get("workDoneToken")
    )
    parsed = parse_log_answer(result["answer"])
    result.update(meta)
    result["parsed"] = {
        "rootCause": parsed.root_cause,
        "evidenceLines": list(parsed.evidence_lines),
        "fix": parsed.fix,
    }
    return result
