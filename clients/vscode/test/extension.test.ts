// Tests of the activated extension against the vscode and languageclient stubs: command
// registration, server process launch with the API key, restarts, and the answer commands.

import * as assert from 'assert';
import { activate, deactivate } from '../src/extension';
import { API_KEY_SECRET } from '../src/apiKeyStore';
import { ClientCommand, ServerCommand } from '../src/commandIds';
import { LanguageClient, TransportKind, clientScript, createdClients, resetLanguageClientStub } from './support/languageClientStub';
import {
  FakeSecretStorage,
  Position,
  Selection,
  Uri,
  changeSettings,
  commands,
  fakeEditor,
  resetVscodeStub,
  stubState,
} from './support/vscodeStub';

/* eslint-disable @typescript-eslint/no-explicit-any */

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) {
      return;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface Activated {
  secrets: FakeSecretStorage;
  subscriptions: { dispose(): unknown }[];
}

async function activateExtension(secrets = new FakeSecretStorage()): Promise<Activated> {
  const context = { subscriptions: [] as { dispose(): unknown }[], secrets };
  await activate(context as any);
  await waitFor(() => createdClients.some((c) => c.isRunning()), 'the language client to start');
  return context;
}

function latestClient(): LanguageClient {
  return createdClients[createdClients.length - 1];
}

function logEditor(line: number) {
  return fakeEditor({
    uri: Uri.file('/var/log/app.log'),
    lines: ['ok', 'ERROR db timeout', 'ok'],
    selection: new Selection(new Position(line, 3), new Position(line, 3)),
    languageId: 'log',
  });
}

describe('extension', () => {
  let context: Activated | undefined;

  beforeEach(() => {
    resetVscodeStub();
    resetLanguageClientStub();
    context = undefined;
  });

  afterEach(async () => {
    await deactivate();
    for (const disposable of context?.subscriptions ?? []) {
      disposable.dispose();
    }
  });

  it('registers exactly the four client commands and none of the server ids', async () => {
    context = await activateExtension();
    assert.deepStrictEqual([...stubState.commands.keys()].sort(), Object.values(ClientCommand).sort());
    for (const id of Object.values(ServerCommand)) {
      assert.ok(!stubState.commands.has(id), id);
    }
  });

  it('starts `python3 -m lsp` over stdio with the aletheia configuration synced', async () => {
    stubState.workspaceFolders = [{ uri: Uri.file('/work/repo') }];
    context = await activateExtension();
    assert.strictEqual(createdClients.length, 1);
    const client = latestClient();
    assert.strictEqual(client.id, 'aletheia');
    assert.strictEqual(client.serverOptions.command, 'python3');
    assert.deepStrictEqual(client.serverOptions.args, ['-m', 'lsp']);
    assert.strictEqual(client.serverOptions.transport, TransportKind.stdio);
    assert.strictEqual(client.serverOptions.options.cwd, '/work/repo');
    assert.deepStrictEqual(client.clientOptions.synchronize, { configurationSection: 'aletheia' });
    const languages = client.clientOptions.documentSelector.map((f: any) => f.language).filter(Boolean);
    for (const language of ['dockerfile', 'yaml', 'nginx', 'ini', 'log', 'json', 'toml']) {
      assert.ok(languages.includes(language), language);
    }
    // No stored key: the variable is whatever the extension host inherited (usually unset).
    assert.strictEqual(client.serverOptions.options.env.ALETHEIA_API_KEY, process.env.ALETHEIA_API_KEY);
  });

  it('passes the stored key in the env var named by aletheia.apiKeyEnv', async () => {
    const secrets = new FakeSecretStorage();
    secrets.values.set(API_KEY_SECRET, 'sk-stored');
    stubState.settings['aletheia.apiKeyEnv'] = 'TEAM_KEY';
    context = await activateExtension(secrets);
    assert.strictEqual(latestClient().serverOptions.options.env.TEAM_KEY, 'sk-stored');
    assert.ok(!JSON.stringify(latestClient().serverOptions.args).includes('sk-stored'));
  });

  it('Set API key stores the key in secret storage, not settings, and restarts the server with it', async () => {
    context = await activateExtension();
    const first = latestClient();
    stubState.inputBoxAnswers.push('  sk-new  ');
    await commands.executeCommand(ClientCommand.setApiKey);
    assert.strictEqual(stubState.inputBoxOptions[0].password, true);
    assert.strictEqual(context.secrets.values.get(API_KEY_SECRET), 'sk-new');
    assert.ok(!JSON.stringify(stubState.settings).includes('sk-new'));
    await waitFor(() => latestClient() !== first && latestClient().isRunning(), 'the restarted client');
    assert.strictEqual(first.state, 'stopped');
    assert.strictEqual(latestClient().serverOptions.options.env.ALETHEIA_API_KEY, 'sk-new');
    assert.strictEqual(createdClients.filter((c) => c.isRunning()).length, 1);
  });

  it('Set API key with an empty entry removes the key; Escape changes nothing', async () => {
    const secrets = new FakeSecretStorage();
    secrets.values.set(API_KEY_SECRET, 'sk-old');
    context = await activateExtension(secrets);
    stubState.inputBoxAnswers.push(undefined);
    await commands.executeCommand(ClientCommand.setApiKey);
    assert.strictEqual(secrets.values.get(API_KEY_SECRET), 'sk-old');
    stubState.inputBoxAnswers.push('');
    await commands.executeCommand(ClientCommand.setApiKey);
    assert.ok(!secrets.values.has(API_KEY_SECRET));
  });

  it('restarts the server when pythonPath changes, not when the model changes', async () => {
    context = await activateExtension();
    changeSettings({ 'aletheia.model': 'other' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.strictEqual(createdClients.length, 1);
    changeSettings({ 'aletheia.pythonPath': '/opt/venv/bin/python' });
    await waitFor(() => createdClients.length === 2 && latestClient().isRunning(), 'the restarted client');
    assert.strictEqual(latestClient().serverOptions.command, '/opt/venv/bin/python');
    assert.strictEqual(createdClients[0].state, 'stopped');
  });

  it('Ask streams the answer for the selection into the answer view', async () => {
    context = await activateExtension();
    stubState.activeTextEditor = fakeEditor({
      uri: Uri.file('/srv/app/Dockerfile'),
      lines: ['FROM python:3.12', 'RUN pip install -r requirements.txt'],
      selection: new Selection(new Position(1, 0), new Position(1, 35)),
      languageId: 'dockerfile',
    });
    stubState.inputBoxAnswers.push('Is this layer cached?');
    clientScript.onRequest = async (_method, params, _token, client) => {
      client.sendProgress(params.workDoneToken, { kind: 'begin', title: 'Aletheia' });
      client.sendProgress(params.workDoneToken, { kind: 'report', message: 'Only if' });
      client.sendProgress(params.workDoneToken, { kind: 'report', message: 'Only if requirements.txt' });
      client.sendProgress(params.workDoneToken, { kind: 'end' });
      return { answer: 'Only if `requirements.txt` is copied first.' };
    };
    await commands.executeCommand(ClientCommand.ask);

    const request = latestClient().requests[0];
    assert.strictEqual(request.method, 'workspace/executeCommand');
    assert.strictEqual(request.params.command, 'aletheia.ask');
    assert.deepStrictEqual(request.params.arguments, [
      {
        question: 'Is this layer cached?',
        uri: 'file:///srv/app/Dockerfile',
        selection: 'RUN pip install -r requirements.txt',
        range: { start: { line: 1, character: 0 }, end: { line: 1, character: 35 } },
      },
    ]);
    assert.strictEqual(typeof request.params.workDoneToken, 'string');

    assert.strictEqual(stubState.panels.length, 1);
    const webview = stubState.panels[0].webview;
    assert.match(webview.html, /Content-Security-Policy/);
    assert.strictEqual(stubState.panels[0].options.enableScripts, true);
    const htmls = webview.posted.map((m: any) => m.html);
    assert.ok(htmls.includes('<p>Only if</p>\n'), JSON.stringify(htmls));
    const last = webview.posted[webview.posted.length - 1];
    assert.strictEqual(last.streaming, false);
    assert.strictEqual(last.statusLabel, 'Done');
    assert.strictEqual(last.html, '<p>Only if <code>requirements.txt</code> is copied first.</p>\n');
  });

  it('the Stop button cancels the request and keeps the partial answer', async () => {
    context = await activateExtension();
    stubState.inputBoxAnswers.push('Explain cgroups');
    let requestToken: any;
    clientScript.onRequest = (_method, params, token, client) => {
      requestToken = token;
      client.sendProgress(params.workDoneToken, { kind: 'report', message: 'cgroups limit' });
      return new Promise(() => undefined); // a server that never answers on its own
    };
    const running = commands.executeCommand(ClientCommand.ask);
    await waitFor(() => requestToken !== undefined, 'the request');
    const webview = stubState.panels[0].webview;
    webview.sendFromPage({ type: 'stop' });
    await running;
    assert.strictEqual(requestToken.isCancellationRequested, true);
    const last = webview.posted[webview.posted.length - 1];
    assert.strictEqual(last.statusLabel, 'Stopped');
    assert.strictEqual(last.html, '<p>cgroups limit</p>\n');
  });

  it('closing the answer panel cancels the request and does not reopen it', async () => {
    context = await activateExtension();
    stubState.inputBoxAnswers.push('Explain cgroups');
    let requestToken: any;
    clientScript.onRequest = (_method, params, token, client) => {
      requestToken = token;
      client.sendProgress(params.workDoneToken, { kind: 'report', message: 'cgroups' });
      return new Promise(() => undefined);
    };
    const running = commands.executeCommand(ClientCommand.ask);
    await waitFor(() => requestToken !== undefined, 'the request');
    stubState.panels[0].dispose();
    await running;
    assert.strictEqual(requestToken.isCancellationRequested, true);
    assert.strictEqual(stubState.panels.length, 1, 'no new panel after the user closed it');
  });

  it('a new question stops the running one, whose late states no longer draw', async () => {
    context = await activateExtension();
    stubState.inputBoxAnswers.push('first question', 'second question');
    const tokens: any[] = [];
    let finishSecond: (value: unknown) => void = () => undefined;
    clientScript.onRequest = (_method, params, token, client) => {
      tokens.push(token);
      if (tokens.length === 1) {
        client.sendProgress(params.workDoneToken, { kind: 'report', message: 'first partial' });
        return new Promise(() => undefined);
      }
      return new Promise((resolve) => (finishSecond = resolve));
    };
    const first = commands.executeCommand(ClientCommand.ask);
    await waitFor(() => tokens.length === 1, 'the first request');
    const second = commands.executeCommand(ClientCommand.ask);
    await waitFor(() => tokens.length === 2, 'the second request');
    await first;
    assert.strictEqual(tokens[0].isCancellationRequested, true);
    const webview = stubState.panels[0].webview;
    let last = webview.posted[webview.posted.length - 1];
    assert.strictEqual(last.title, 'Ask: second question');
    assert.strictEqual(last.statusLabel, 'Waiting for the model…');
    finishSecond({ answer: 'second answer' });
    await second;
    last = webview.posted[webview.posted.length - 1];
    assert.deepStrictEqual([last.title, last.html], ['Ask: second question', '<p>second answer</p>\n']);
    assert.ok(!webview.posted.some((m: any) => m.title === 'Ask: first question' && m.statusLabel === 'Stopped'));
  });

  it('Explain this log error sends the 1-based line under the cursor', async () => {
    context = await activateExtension();
    stubState.activeTextEditor = logEditor(1);
    clientScript.onRequest = async () => ({ answer: 'The database did not answer in time.' });
    await commands.executeCommand(ClientCommand.explainLogError, Uri.file('/var/log/app.log'));
    const request = latestClient().requests[0];
    assert.strictEqual(request.params.command, 'aletheia.explainLogError');
    assert.deepStrictEqual(request.params.arguments, [{ uri: 'file:///var/log/app.log', line: 2 }]);
  });

  it('Review this file without an open file shows an error and sends nothing', async () => {
    context = await activateExtension();
    await commands.executeCommand(ClientCommand.review);
    assert.strictEqual(latestClient().requests.length, 0);
    assert.ok(stubState.messages.some((m) => m.level === 'error' && /no file/.test(m.text)));
  });

  it('Review uses the uri a menu passes', async () => {
    context = await activateExtension();
    clientScript.onRequest = async () => ({ answer: 'Looks fine.' });
    await commands.executeCommand(ClientCommand.review, Uri.file('/etc/nginx/nginx.conf'));
    assert.deepStrictEqual(latestClient().requests[0].params.arguments, [{ uri: 'file:///etc/nginx/nginx.conf' }]);
  });

  it('a server error is shown in the answer view', async () => {
    context = await activateExtension();
    stubState.activeTextEditor = logEditor(0);
    clientScript.onRequest = async () => {
      throw Object.assign(new Error('model server timed out after 120 s'), { code: -32603 });
    };
    await commands.executeCommand(ClientCommand.explainLogError);
    const posted = stubState.panels[0].webview.posted;
    const last = posted[posted.length - 1];
    assert.strictEqual(last.statusLabel, 'Failed');
    assert.match(last.note, /timed out/);
  });

  it('a server code action command ("Review with Aletheia") streams into the answer view', async () => {
    context = await activateExtension();
    clientScript.onRequest = async (_method, params, _token, client) => {
      client.sendProgress(params.workDoneToken, { kind: 'report', message: 'Pin the base image.' });
      return { answer: 'Pin the base image.' };
    };
    const middleware = latestClient().clientOptions.middleware;
    let nextCalls = 0;
    const next = async () => {
      nextCalls += 1;
    };
    await middleware.executeCommand('aletheia.review', [{ uri: 'file:///srv/Dockerfile' }], next);
    assert.strictEqual(nextCalls, 0);
    const request = latestClient().requests[0];
    assert.deepStrictEqual(request.params.arguments, [{ uri: 'file:///srv/Dockerfile' }]);
    assert.strictEqual(typeof request.params.workDoneToken, 'string');
    const posted = stubState.panels[0].webview.posted;
    assert.deepStrictEqual(
      [posted[posted.length - 1].title, posted[posted.length - 1].html],
      ['Review: Dockerfile', '<p>Pin the base image.</p>\n'],
    );

    await middleware.executeCommand('other.command', [1], next);
    assert.strictEqual(nextCalls, 1, 'other commands go to the default handler');
    assert.strictEqual(latestClient().requests.length, 1);
  });

  it('reports a server that cannot start and points at aletheia.pythonPath', async () => {
    clientScript.startError = new Error('spawn python3 ENOENT');
    const ctx = { subscriptions: [] as { dispose(): unknown }[], secrets: new FakeSecretStorage() };
    context = ctx;
    await activate(ctx as any);
    await waitFor(() => stubState.messages.some((m) => m.level === 'error'), 'the error message');
    assert.match(stubState.messages[0].text, /pythonPath/);
    assert.match(stubState.messages[0].text, /ENOENT/);
    assert.ok(createdClients[0].disposed);

    // A command tries again, and the failure is reported once more, not twice.
    stubState.messages.length = 0;
    stubState.inputBoxAnswers.push('anything');
    await commands.executeCommand(ClientCommand.ask);
    assert.strictEqual(createdClients.length, 2);
    assert.strictEqual(stubState.messages.filter((m) => m.level === 'error').length, 1);
  });

  it('replaces a client that stopped running (crashed server) on the next command', async () => {
    context = await activateExtension();
    createdClients[0].state = 'stopped';
    clientScript.onRequest = async () => ({ answer: 'ok' });
    await commands.executeCommand(ClientCommand.review, Uri.file('/srv/Dockerfile'));
    assert.strictEqual(createdClients.length, 2);
    assert.ok(createdClients[0].disposed);
    assert.strictEqual(createdClients[1].requests.length, 1);
  });
});
