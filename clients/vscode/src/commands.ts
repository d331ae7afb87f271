// The client-side commands (aletheia.client.*): gather input from the editor, build the server
// command request, and stream its answer into the answer view. Starting a new answer stops the
// one still running.

import * as vscode from 'vscode';
import { AnswerPanel } from './answerPanel';
import { describeError, runAnswerSession } from './answerSession';
import { ApiKeyStore } from './apiKeyStore';
import {
  ServerCommandRequest,
  buildAskRequest,
  buildExplainLogErrorRequest,
  buildReviewRequest,
  requestForServerCommand,
} from './commandArguments';
import { ClientCommand } from './commandIds';
import { activeEditorFacts, targetUri } from './editorContext';
import { LanguageServer, ServerStartError } from './languageServer';
import { SETTINGS_SECTION, readLaunchSettings } from './settings';

export class AnswerCommands {
  private running: vscode.CancellationTokenSource | undefined;

  constructor(
    private readonly server: LanguageServer,
    private readonly panel: AnswerPanel,
    private readonly apiKeys: ApiKeyStore,
  ) {}

  register(): vscode.Disposable[] {
    return [
      vscode.commands.registerCommand(ClientCommand.ask, () => this.ask()),
      vscode.commands.registerCommand(ClientCommand.review, (uri?: unknown) => this.review(uri)),
      vscode.commands.registerCommand(ClientCommand.explainLogError, (uri?: unknown) => this.explainLogError(uri)),
      vscode.commands.registerCommand(ClientCommand.setApiKey, () => this.setApiKey()),
    ];
  }

  async ask(): Promise<void> {
    const editor = activeEditorFacts();
    const question = await vscode.window.showInputBox({
      title: 'Aletheia: Ask',
      prompt: editor?.selection ? 'Ask about the selected text' : 'Ask a systems or backend engineering question',
      placeHolder: 'Why does this pod keep restarting?',
      ignoreFocusOut: true,
    });
    if (question === undefined || question.trim() === '') {
      return;
    }
    await this.answer(() =>
      buildAskRequest({ question, uri: editor?.uri, selection: editor?.selection, range: editor?.range }),
    );
  }

  async review(menuUri?: unknown): Promise<void> {
    const uri = targetUri(menuUri, activeEditorFacts());
    await this.answer(() => buildReviewRequest(uri ?? ''));
  }

  async explainLogError(menuUri?: unknown): Promise<void> {
    const editor = activeEditorFacts();
    const uri = targetUri(menuUri, editor);
    if (!editor || uri !== editor.uri) {
      void vscode.window.showErrorMessage('Aletheia: open the log file and put the cursor on the error line.');
      return;
    }
    await this.answer(() => buildExplainLogErrorRequest(uri, editor.cursorLine));
  }

  async setApiKey(): Promise<void> {
    const { apiKeyEnv } = readLaunchSettings(vscode.workspace.getConfiguration(SETTINGS_SECTION));
    const result = await this.apiKeys.promptAndStore(apiKeyEnv);
    if (result === 'unchanged') {
      return;
    }
    void vscode.window.showInformationMessage(
      result === 'stored' ? 'Aletheia: API key stored; restarting the language server.' : 'Aletheia: API key removed.',
    );
    try {
      await this.server.restart();
    } catch {
      // LanguageServer has already reported why it could not start.
    }
  }

  /**
   * Runs a server command that came from the server itself (a code action such as "Review with
   * Aletheia") with streaming into the answer view. Returns false for commands that are not answer
   * commands, which the caller then executes the ordinary way.
   */
  async answerServerCommand(command: string, args: unknown[] | undefined): Promise<boolean> {
    const request = requestForServerCommand(command, args);
    if (!request) {
      return false;
    }
    await this.answer(() => request);
    return true;
  }

  /** Stops the answer in progress, if any. */
  stop(): void {
    this.running?.cancel();
  }

  private async answer(buildRequest: () => ServerCommandRequest): Promise<void> {
    let request: ServerCommandRequest;
    try {
      request = buildRequest();
    } catch (error) {
      void vscode.window.showErrorMessage(`Aletheia: ${describeError(error)}`);
      return;
    }
    this.stop();
    const source = new vscode.CancellationTokenSource();
    this.running = source;
    const sink = this.panel.begin(() => source.cancel());
    try {
      const client = await this.server.streamingClient();
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'Aletheia: answering' },
        () => runAnswerSession(request, client, sink, source.token),
      );
    } catch (error) {
      if (!(error instanceof ServerStartError)) {
        void vscode.window.showErrorMessage(`Aletheia: ${describeError(error)}`);
      }
    } finally {
      if (this.running === source) {
        this.running = undefined;
      }
      source.dispose();
    }
  }
}
