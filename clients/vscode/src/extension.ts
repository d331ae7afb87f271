// Entry point of the Aletheia VS Code extension: starts the language server (`python -m lsp`),
// registers the client commands and restarts the server when its launch settings change.

import * as vscode from 'vscode';
import { AnswerPanel } from './answerPanel';
import { ApiKeyStore } from './apiKeyStore';
import { AnswerCommands } from './commands';
import { CLIENT_NAME, LanguageServer } from './languageServer';
import { needsRestart } from './settings';

let server: LanguageServer | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel(CLIENT_NAME);
  const apiKeys = new ApiKeyStore(context.secrets);
  const panel = new AnswerPanel();
  // Server commands from code actions go to the answer view (the closure runs only after activation).
  const running: LanguageServer = new LanguageServer(
    apiKeys,
    output,
    (command: string, args: unknown[] | undefined): Promise<boolean> => commands.answerServerCommand(command, args),
  );
  const commands: AnswerCommands = new AnswerCommands(running, panel, apiKeys);
  server = running;

  context.subscriptions.push(
    output,
    panel,
    running,
    ...commands.register(),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (needsRestart((section) => event.affectsConfiguration(section))) {
        output.appendLine('Launch settings changed; restarting the language server.');
        running.restart().catch(() => undefined);
      }
    }),
    context.secrets.onDidChange((event) => {
      // A key changed in another window also needs the server's environment refreshed.
      if (event.key === 'aletheia.apiKey') {
        running.restart().catch(() => undefined);
      }
    }),
  );

  // Start in the background: diagnostics appear once it is up; a failure is reported by LanguageServer.
  running.ensureStarted().catch(() => undefined);
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
