"""The pygls language server: one small handler per LSP feature, state on the server object.

Features: diagnostics on open and (debounced) change for config files and logs, quick fixes, the
"Review with Aletheia" / "Explain this error with Aletheia" code actions, and the commands aletheia.ask,
aletheia.review and aletheia.explainLogError (lsp/commands.py). Settings come from the client's
`aletheia` configuration section (lsp/settings.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification
from pygls.protocol.language_server import lsp_method

from . import commands
from .analysers import Analysis, analyse
from .diagnostics import LOG_GROUP_CODE, config_diagnostics, log_diagnostics, quick_fixes
from .settings import Settings, parse_settings

logger = logging.getLogger(__name__)
VERSION = "0.1.0"
ASK, REVIEW, EXPLAIN_LOG = "aletheia.ask", "aletheia.review", "aletheia.explainLogError"
_ANSWERED = "$/aletheia/answeredInvalidRequest"  # a no-op notification standing in for an answered request
_WORK_DONE_TOKEN: contextvars.ContextVar[Any] = contextvars.ContextVar("work_done_token", default=None)


class AletheiaProtocol(LanguageServerProtocol):
    """pygls' protocol plus two things it does not do for commands: hand the request's ``workDoneToken`` to
    the handler, and cancel a running command's task on ``$/cancelRequest`` (pygls only cancels requests
    that have not started)."""

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams):
        _WORK_DONE_TOKEN.set(params.work_done_token)
        return (yield from super().lsp_workspace__execute_command(params))

    def structure_message(self, data: dict):
        """A request whose params do not fit its method gets an InvalidParams error answer. pygls raises out of
        its reader and only logs, so the client would wait for that request forever."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise
            self._send_response(data["id"], error=exc.to_response_error())
            return JsonRPCNotification(method=_ANSWERED, jsonrpc=self.VERSION, params=None)

    def _handle_cancel_notification(self, msg_id):
        super()._handle_cancel_notification(msg_id)
        task = self._server.running_commands.pop(msg_id, None)
        if task is not None:
            task.cancel()


@dataclass
class DocumentState:
    version: int | None
    kind: str
    analysis: Analysis | None = None
    log_report: Any = None


class AletheiaServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "aletheia-lsp",
            VERSION,
            protocol_cls=AletheiaProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.settings = Settings()
        self.states: dict[str, DocumentState] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.running_commands: dict[Any, asyncio.Task] = {}
        self.unreachable_reported = False

    # -- settings ---------------------------------------------------------------------------------

    def client_supports_configuration(self) -> bool:
        ws = self.client_capabilities.workspace if self.protocol.client_capabilities else None
        return bool(ws and ws.configuration)

    def client_supports_progress(self) -> bool:
        win = self.client_capabilities.window if self.protocol.client_capabilities else None
        return bool(win and win.work_done_progress)

    def apply_settings(self, raw: Any) -> None:
        self.settings, problems = parse_settings(raw, Settings())
        for p in problems:
            self.show_error(p, types.MessageType.Warning)

    async def refresh_settings(self) -> None:
        if not self.client_supports_configuration():
            return
        try:
            result = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="aletheia")])
            )
        except Exception as e:  # noqa: BLE001 - a client that fails the request keeps the current settings
            logger.warning("workspace/configuration failed: %s", e)
            return
        self.apply_settings(result[0] if result else None)

    # -- messages ---------------------------------------------------------------------------------

    def show_error(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def model_unreachable(self, message: str) -> None:
        """One message per outage, not one per request; the request itself still fails with the reason."""
        if not self.unreachable_reported:
            self.unreachable_reported = True
            self.show_error(message)

    def model_reachable(self) -> None:
        self.unreachable_reported = False

    def require_enabled(self, feature: str) -> None:
        enabled = {"ask": self.settings.ask_enabled, "logAnalysis": self.settings.log_analysis_enabled}[
            feature
        ]
        if not enabled:
            raise JsonRpcException(
                f"aletheia.{feature}.enabled is false",
                code=commands.REQUEST_FAILED,
                data={"reason": "disabled"},
            )

    # -- documents --------------------------------------------------------------------------------

    def document_text(self, uri: str) -> str:
        try:
            return self.workspace.get_text_document(uri).source
        except (OSError, ValueError) as e:
            raise JsonRpcInvalidParams(f"cannot read {uri}: {e}") from None

    def document_kind(self, uri: str) -> str:
        state = self.states.get(uri)
        if state:
            return state.kind
        return self.analysis_for(uri).kind

    def _path(self, uri: str) -> str:
        parsed = urlparse(uri)
        return unquote(parsed.path) if parsed.path else uri

    def analysis_for(self, uri: str) -> Analysis:
        """The cached analysis of the document's current version, computed if stale."""
        doc = self.workspace.get_text_document(uri)
        state = self.states.get(uri)
        if state and state.analysis is not None and state.version == doc.version:
            return state.analysis
        text = self.document_text(uri)
        result = analyse(text, self._path(uri), doc.language_id or "")
        self.states[uri] = DocumentState(doc.version, result.kind, analysis=result)
        return result

    def log_report_for(self, uri: str):
        from .logs import analyse_log

        doc = self.workspace.get_text_document(uri)
        state = self.states.get(uri)
        if state and state.log_report is not None and state.version == doc.version:
            return state.log_report
        report = analyse_log(self.document_text(uri), source=self._path(uri))
        self.states[uri] = DocumentState(doc.version, "log", log_report=report)
        return report

    def schedule(self, uri: str, delay: float) -> None:
        """(Re)start the analysis of ``uri`` after ``delay`` seconds; a newer edit restarts the wait."""
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()
        self.pending[uri] = asyncio.ensure_future(self._analyse_and_publish(uri, delay))

    async def _analyse_and_publish(self, uri: str, delay: float) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            doc = self.workspace.get_text_document(uri)
            version, text, path, lang = doc.version, doc.source, self._path(uri), doc.language_id or ""
            from .analysers import detect_kind

            kind = detect_kind(path, text, lang)
            diagnostics: list[types.Diagnostic] = []
            if kind == "log":
                if self.settings.log_analysis_enabled:
                    from .logs.passes import analyse_in_passes

                    # A big log: the first lines' error groups are published first, the whole log's next.
                    passes = analyse_in_passes(text, source=path)
                    while (report := await asyncio.to_thread(next, passes, None)) is not None:
                        if self.workspace.get_text_document(uri).version != version:
                            return  # a newer edit is on its way
                        diagnostics = log_diagnostics(doc, report)
                        if report.partial:
                            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                                uri=uri, diagnostics=diagnostics, version=version))
                        else:
                            self.states[uri] = DocumentState(version, kind, log_report=report)
            elif self.settings.diagnostics_enabled:
                result = await asyncio.to_thread(analyse, text, path, lang, kind=kind)
                self.states[uri] = DocumentState(version, result.kind, analysis=result)
                diagnostics = config_diagnostics(doc, result)
            if self.workspace.get_text_document(uri).version != version:
                return  # a newer edit is on its way
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
            )
        except asyncio.CancelledError:
            raise
        except Exception as e:  # never let one document take the server down
            logger.exception("analysis of %s failed", uri)
            self.show_error(
                f"Aletheia could not analyse {uri}: {type(e).__name__}: {e}", types.MessageType.Warning
            )
        finally:
            if self.pending.get(uri) is asyncio.current_task():
                del self.pending[uri]


def build_server() -> AletheiaServer:
    server = AletheiaServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: AletheiaServer, params: types.InitializeParams) -> None:
        opts = params.initialization_options
        if isinstance(opts, dict):  # clients without workspace/configuration can pass settings here
            ls.apply_settings(opts.get("aletheia", opts))

    @server.feature(types.INITIALIZED)
    async def initialized(ls: AletheiaServer, params: types.InitializedParams) -> None:
        await ls.refresh_settings()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: AletheiaServer, params: types.DidChangeConfigurationParams
    ) -> None:
        raw = params.settings.get("aletheia") if isinstance(params.settings, dict) else None
        if raw is not None:
            ls.apply_settings(raw)
        else:
            await ls.refresh_settings()
        for uri in list(ls.workspace.text_documents):
            ls.schedule(uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AletheiaServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AletheiaServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.settings.debounce_ms / 1000)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: AletheiaServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: AletheiaServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        task = ls.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        ls.states.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.Refactor]
        ),
    )
    def code_action(ls: AletheiaServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        doc = ls.workspace.get_text_document(uri)
        state = ls.states.get(uri)
        if state is not None and state.kind == "log" or (state is None and doc.uri.endswith(".log")):
            actions = []
            for diag in params.context.diagnostics:
                if diag.code == LOG_GROUP_CODE and isinstance(diag.data, dict) and "groupId" in diag.data:
                    actions.append(
                        types.CodeAction(
                            title="Explain this error with Aletheia",
                            kind=types.CodeActionKind.QuickFix,
                            diagnostics=[diag],
                            command=types.Command(
                                title="Explain this error with Aletheia",
                                command=EXPLAIN_LOG,
                                arguments=[{"uri": uri, "groupId": diag.data["groupId"]}],
                            ),
                        )
                    )
            return actions
        analysis = ls.analysis_for(uri)
        actions = quick_fixes(doc, analysis, params.range) if ls.settings.diagnostics_enabled else []
        if ls.settings.ask_enabled and analysis.kind != "other":
            actions.append(
                types.CodeAction(
                    title="Review with Aletheia",
                    kind=types.CodeActionKind.Refactor,
                    command=types.Command(
                        title="Review with Aletheia", command=REVIEW, arguments=[{"uri": uri}]
                    ),
                )
            )
        return actions

    def command(name: str, impl):
        @server.command(name)
        async def run(ls: AletheiaServer, *args):
            msg_id = ls.protocol._ctx_msg_id.get(None)
            token = _WORK_DONE_TOKEN.get()
            if msg_id is not None:
                ls.running_commands[msg_id] = asyncio.current_task()
            try:
                await ls.refresh_settings()
                return await impl(ls, args, token)
            finally:
                if msg_id is not None:
                    ls.running_commands.pop(msg_id, None)

        return run

    command(ASK, commands.ask)
    command(REVIEW, commands.review)
    command(EXPLAIN_LOG, commands.explain_log_error)
    return server
