// Owns the vscode-languageclient LanguageClient for `python -m lsp`: starts it with the launch
// settings and the API key in its environment, restarts it when those change, and adapts it to the
// StreamingCommandClient interface used by answer sessions.

import * as os from 'os';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';
import { ApiKeyStore } from './apiKeyStore';
import { StreamingCommandClient } from './answerSession';
import { streamingCommandClient } from './commandTransport';
import { serverDocumentSelector } from './documentSelector';
import { SETTINGS_SECTION, readLaunchSettings } from './settings';
import { buildServerLaunch, describeLaunch } from './serverLaunch';

export const CLIENT_ID = 'aletheia';
export const CLIENT_NAME = 'Aletheia Language Server';

/**
 * Runs a server command through the answer view; resolves false when it is not an answer command.
 * Used for commands the server attaches to code actions, which would otherwise run without a
 * workDoneToken and with nowhere to show the answer.
 */
export type ServerCommandRunner = (command: string, args: unknown[] | undefined) => Promise<boolean>;

/** The server process could not be started; the user has already been told why. */
export class ServerStartError extends Error {}

export class LanguageServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient> | undefined;
  private restartQueue: Promise<void> = Promise.resolve();
  private restartPending = false;

  constructor(
    private readonly apiKeys: ApiKeyStore,
    private readonly output: vscode.OutputChannel,
    private readonly runServerCommand: ServerCommandRunner,
  ) {}

  /** Starts the server if it is not running; concurrent callers share one start. */
  async ensureStarted(): Promise<LanguageClient> {
    if (this.client?.isRunning()) {
      return this.client;
    }
    if (this.client && !this.starting) {
      // vscode-languageclient gave up on a crashing server: replace it with a fresh one.
      const stale = this.client;
      this.client = undefined;
      void stale.dispose().catch(() => undefined);
    }
    if (!this.starting) {
      this.starting = this.start().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  /**
   * Stops and starts the server. Restart requests made before a queued restart begins share it;
   * one made while a restart runs queues another, so the newest settings always win.
   */
  restart(): Promise<void> {
    if (!this.restartPending) {
      this.restartPending = true;
      this.restartQueue = this.restartQueue
        .catch(() => undefined)
        .then(async () => {
          this.restartPending = false;
          await this.stop();
          await this.ensureStarted();
        });
    }
    return this.restartQueue;
  }

  async stop(): Promise<void> {
    if (this.starting) {
      await this.starting.catch(() => undefined);
    }
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop();
      } catch (error) {
        this.output.appendLine(`Stopping the language server failed: ${String(error)}`);
      }
      await client.dispose();
    }
  }

  dispose(): void {
    void this.stop();
  }

  /** The running client as the narrow interface answer sessions use. */
  async streamingClient(): Promise<StreamingCommandClient> {
    return streamingCommandClient(await this.ensureStarted());
  }

  private async start(): Promise<LanguageClient> {
    const settings = readLaunchSettings(vscode.workspace.getConfiguration(SETTINGS_SECTION));
    for (const problem of settings.problems) {
      void vscode.window.showWarningMessage(`Aletheia: ${problem}`);
    }
    const launch = buildServerLaunch(settings, {
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      homeDir: os.homedir(),
      baseEnv: process.env,
      apiKey: await this.apiKeys.get(),
    });
    this.output.appendLine(`Starting: ${describeLaunch(launch)} (cwd: ${launch.cwd ?? 'none'})`);

    const serverOptions: ServerOptions = {
      command: launch.command,
      args: launch.args,
      transport: TransportKind.stdio,
      options: { cwd: launch.cwd, env: launch.env },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: serverDocumentSelector(),
      synchronize: { configurationSection: SETTINGS_SECTION },
      outputChannel: this.output,
      middleware: {
        executeCommand: async (command, args, next) =>
          (await this.runServerCommand(command, args)) ? undefined : next(command, args),
      },
    };
    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    try {
      await client.start();
    } catch (error) {
      await client.dispose().catch(() => undefined);
      const message =
        `Aletheia: could not start the language server with "${describeLaunch(launch)}". ` +
        `Set aletheia.pythonPath to an interpreter that has the aletheia package installed. (${String(error)})`;
      void vscode.window.showErrorMessage(message, 'Open Settings').then((choice) => {
        if (choice === 'Open Settings') {
          void vscode.commands.executeCommand('workbench.action.openSettings', 'aletheia.pythonPath');
        }
      });
      throw new ServerStartError(message);
    }
    this.client = client;
    return client;
  }
}
