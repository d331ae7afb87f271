// Contract test against the real Aletheia language server (`<python> -m lsp` from the repository),
// speaking LSP over stdio the way vscode-languageclient does, with a fake OpenAI-compatible model
// server. Run with `npm run test:lsp` (needs a Python with the aletheia package and its lsp extra:
// ALETHEIA_PYTHON, else ../../.venv/bin/python, else python3). Not part of `npm test`, which must
// pass without Python; every check here runs or the run fails.

import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import {
  CancellationTokenSource,
  CodeActionRequest,
  ConfigurationRequest,
  Diagnostic,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializeRequest,
  InitializeResult,
  InitializedNotification,
  LogMessageNotification,
  ProtocolConnection,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShowMessageNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgressCreateRequest,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { ProgressValue } from '../../src/answerProgress';
import { runAnswerSession } from '../../src/answerSession';
import { buildAskRequest, buildExplainLogErrorRequest, requestForServerCommand } from '../../src/commandArguments';
import { ClientCommand, ServerCommand } from '../../src/commandIds';
import { streamingCommandClient } from '../../src/commandTransport';
import { SETTING_DEFAULTS } from '../../src/settings';
import { RecordingSink } from '../support/fakes';
import { FakeModelServer } from './fakeModelServer';

const extensionRoot = path.resolve(__dirname, '..', '..', '..');
const repoRoot = path.resolve(extensionRoot, '..', '..');

function pythonInterpreter(): string {
  if (process.env.ALETHEIA_PYTHON) {
    return process.env.ALETHEIA_PYTHON;
  }
  const venv = path.join(repoRoot, '.venv', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

/** The `aletheia` section as VS Code returns it: nested objects for dotted keys. */
function settingsSection(overrides: Record<string, unknown>): Record<string, unknown> {
  const section: Record<string, any> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const [key, value] of Object.entries({ ...SETTING_DEFAULTS, ...overrides })) {
    const parts = key.split('.');
    let node = section;
    for (const part of parts.slice(0, -1)) {
      node = node[part] ??= {};
    }
    node[parts[parts.length - 1]] = value;
  }
  return section;
}

function lookup(section: Record<string, unknown>, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], section);
}

class DiagnosticsLog {
  private readonly byUri = new Map<string, Diagnostic[]>();
  private waiters: (() => void)[] = [];
  record(uri: string, diagnostics: Diagnostic[]): void {
    this.byUri.set(uri, diagnostics);
    for (const waiter of this.waiters.splice(0)) {
      waiter();
    }
  }
  async waitFor(uri: string, limitMs: number): Promise<Diagnostic[]> {
    const deadline = Date.now() + limitMs;
    while (Date.now() < deadline) {
      const found = this.byUri.get(uri);
      if (found && found.length > 0) {
        return found;
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    assert.fail(`no diagnostics for ${uri} within ${limitMs} ms`);
  }
}

describe('Aletheia language server contract (python -m lsp)', function () {
  this.timeout(30000);

  const model = new FakeModelServer();
  const diagnostics = new DiagnosticsLog();
  const serverStderr: string[] = [];
  let server: ChildProcess;
  let connection: ProtocolConnection;
  let initializeResult: InitializeResult;
  let settings: Record<string, unknown>;
  let workDir: string;
  let anyFailed = false;

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      anyFailed = true;
    }
  });

  function openDocument(name: string, languageId: string, text: string): string {
    const file = path.join(workDir, name);
    fs.writeFileSync(file, text);
    const uri = pathToFileURL(file).toString();
    void connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId, version: 1, text },
    });
    return uri;
  }

  before(async () => {
    const endpoint = await model.start();
    settings = settingsSection({ endpoint, apiKeyEnv: 'CONTRACT_API_KEY', model: 'contract-model' });
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aletheia-contract-'));
    server = spawn(pythonInterpreter(), ['-m', 'lsp'], {
      cwd: repoRoot,
      env: { ...process.env, CONTRACT_API_KEY: 'sk-contract', PYTHONUNBUFFERED: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    server.stderr!.on('data', (chunk: Buffer) => serverStderr.push(chunk.toString()));
    const exited = new Promise<never>((_, reject) => {
      server.on('error', (error) => reject(new Error(`could not run ${pythonInterpreter()}: ${error.message}`)));
      server.on('exit', (code) =>
        reject(new Error(`${pythonInterpreter()} -m lsp exited with code ${code}:\n${serverStderr.join('')}`)),
      );
    });
    connection = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
    connection.onRequest(ConfigurationRequest.type, (params) =>
      params.items.map((item) =>
        item.section === undefined || item.section === 'aletheia'
          ? settings
          : item.section.startsWith('aletheia.')
            ? lookup(settings, item.section.slice('aletheia.'.length))
            : null,
      ),
    );
    connection.onRequest(RegistrationRequest.type, () => null);
    connection.onRequest(WorkDoneProgressCreateRequest.type, () => null);
    connection.onNotification(PublishDiagnosticsNotification.type, (params) =>
      diagnostics.record(params.uri, params.diagnostics),
    );
    connection.onNotification(LogMessageNotification.type, (params) => serverStderr.push(`[log] ${params.message}\n`));
    connection.onNotification(ShowMessageNotification.type, (params) => serverStderr.push(`[show] ${params.message}\n`));
    connection.listen();

    const initialize = connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(workDir).toString(),
      workspaceFolders: [{ uri: pathToFileURL(workDir).toString(), name: 'contract' }],
      capabilities: {
        workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true }, executeCommand: {} },
        window: { workDoneProgress: true },
        textDocument: {
          synchronization: { didSave: true },
          publishDiagnostics: { relatedInformation: true },
          codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'source'] } } },
        },
      },
    });
    initializeResult = await Promise.race([initialize, exited]);
    exited.catch(() => undefined); // a later exit (after shutdown) is expected
    await connection.sendNotification(InitializedNotification.type, {});
  });

  after(async () => {
    try {
      await Promise.race([connection.sendRequest(ShutdownRequest.type), new Promise((r) => setTimeout(r, 2000))]);
      await connection.sendNotification(ExitNotification.type);
    } catch {
      // the server may already be gone
    }
    connection?.dispose();
    server?.kill();
    await model.stop();
    if (anyFailed || process.env.ALETHEIA_CONTRACT_VERBOSE) {
      process.stderr.write(serverStderr.join(''));
    }
  });

  it('advertises the three server commands, none of them a client command id', () => {
    const commands = initializeResult.capabilities.executeCommandProvider?.commands ?? [];
    for (const id of Object.values(ServerCommand)) {
      assert.ok(commands.includes(id), `server does not advertise ${id}: ${JSON.stringify(commands)}`);
    }
    for (const id of Object.values(ClientCommand)) {
      assert.ok(!commands.includes(id), `server claims client command ${id}`);
    }
  });

  it('publishes diagnostics for a Dockerfile and offers a quick fix', async () => {
    const uri = openDocument('Dockerfile', 'dockerfile', 'FROM ubuntu\nADD app.py /app/app.py\nCMD python /app/app.py\n');
    const found = await diagnostics.waitFor(uri, 15000);
    const onAdd = found.filter((d) => d.range.start.line === 1);
    assert.ok(onAdd.length > 0, `no diagnostic on the ADD line: ${JSON.stringify(found)}`);
    const actions = await connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: onAdd[0].range,
      context: { diagnostics: onAdd, only: ['quickfix'] },
    });
    assert.ok(actions && actions.length > 0, 'no code action for the ADD diagnostic');
    const edits = JSON.stringify(actions);
    assert.match(edits, /COPY/, edits);
  });

  it('publishes error-group diagnostics for a .log file', async () => {
    const lines = [
      '2026-11-25 10:00:00 INFO server started on :8080',
      '2026-11-25 10:00:01 ERROR database connection refused host=db port=5432',
      '2026-11-25 10:00:02 INFO request GET /health 200',
      '2026-11-25 10:00:03 ERROR database connection refused host=db port=5432',
    ];
    const uri = openDocument('app.log', 'log', lines.join('\n') + '\n');
    const found = await diagnostics.waitFor(uri, 15000);
    assert.ok(found.some((d) => d.range.start.line === 1 || d.range.start.line === 3), JSON.stringify(found));
  });

  it('a log diagnostic\'s code action command, run the way the extension\'s middleware runs it, streams an answer', async () => {
    model.script = { pieces: ['Postgres ', 'is down.'], delayMs: 10 };
    const uri = pathToFileURL(path.join(workDir, 'app.log')).toString();
    const found = await diagnostics.waitFor(uri, 15000);
    const actions = await connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: found[0].range,
      context: { diagnostics: found },
    });
    const withCommand = (actions ?? []).flatMap((action) =>
      'command' in action && action.command && typeof action.command === 'object' ? [action.command] : [],
    );
    const explain = withCommand.find((command) => command.command === 'aletheia.explainLogError');
    assert.ok(explain, `no explain command among ${JSON.stringify(actions)}`);
    const request = requestForServerCommand(explain.command, explain.arguments);
    assert.ok(request);
    const before = model.requests.length;
    const final = await runAnswerSession(
      request,
      streamingCommandClient(connection),
      new RecordingSink(),
      new CancellationTokenSource().token,
    );
    assert.deepStrictEqual([final.status, final.text], ['done', 'Postgres is down.'], final.note);
    assert.match(JSON.stringify(model.requests[before].body.messages), /database connection refused/);
  });

  it('aletheia.ask streams full-text progress and returns {answer}, with the key from apiKeyEnv', async () => {
    model.script = { pieces: ['Use ', '`COPY`', ' for ', 'local files.'], delayMs: 80 };
    const before = model.requests.length;
    const sink = new RecordingSink();
    const reports: ProgressValue[] = [];
    const client = streamingCommandClient(connection);
    const recordingClient = {
      ...client,
      onWorkDoneProgress: (token: string, handler: (value: ProgressValue) => void) =>
        client.onWorkDoneProgress(token, (value) => {
          reports.push(value);
          handler(value);
        }),
    };
    const final = await runAnswerSession(
      buildAskRequest({ question: 'ADD or COPY?', selection: 'ADD app.py /app/app.py' }),
      recordingClient,
      sink,
      new CancellationTokenSource().token,
    );
    assert.deepStrictEqual([final.status, final.text], ['done', 'Use `COPY` for local files.'], final.note);
    const texts = reports.filter((r) => r.kind === 'report' && r.message).map((r) => (r as { message: string }).message);
    assert.ok(texts.length >= 2, `expected several reports, got ${JSON.stringify(reports)}`);
    for (let i = 1; i < texts.length; i++) {
      assert.ok(texts[i].startsWith(texts[i - 1]), `report ${i} is not the full text so far: ${JSON.stringify(texts)}`);
    }
    assert.strictEqual(texts[texts.length - 1], 'Use `COPY` for local files.');
    const request = model.requests[before];
    assert.ok(request, 'the model server got no request');
    assert.strictEqual(request.authorization, 'Bearer sk-contract');
    assert.strictEqual(request.body.model, 'contract-model');
    assert.strictEqual(request.body.stream, true);
    assert.match(JSON.stringify(request.body.messages), /ADD or COPY\?/);
  });

  it('aletheia.explainLogError sends the error line to the model', async () => {
    model.script = { pieces: ['The database ', 'refused the connection.'], delayMs: 10 };
    const before = model.requests.length;
    const uri = pathToFileURL(path.join(workDir, 'app.log')).toString();
    const final = await runAnswerSession(
      buildExplainLogErrorRequest(uri, 1),
      streamingCommandClient(connection),
      new RecordingSink(),
      new CancellationTokenSource().token,
    );
    assert.deepStrictEqual([final.status, final.text], ['done', 'The database refused the connection.'], final.note);
    assert.match(JSON.stringify(model.requests[before].body.messages), /database connection refused/);
  });

  it('cancelling a request makes the server hang up on the model server', async () => {
    model.script = { pieces: Array.from({ length: 400 }, (_, i) => `word${i} `), delayMs: 25 };
    const source = new CancellationTokenSource();
    const sink = new RecordingSink();
    const session = runAnswerSession(
      buildAskRequest({ question: 'Write a long essay about inodes.' }),
      streamingCommandClient(connection),
      {
        show: (title, state) => {
          sink.show(title, state);
          if (state.text.length > 0) {
            source.cancel();
          }
        },
      },
      source.token,
    );
    const final = await session;
    assert.strictEqual(final.status, 'stopped');
    assert.ok(await model.waitForEarlyDisconnect(5000), 'the model stream was not closed after cancellation');
  });
});
