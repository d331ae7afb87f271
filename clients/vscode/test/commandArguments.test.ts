// Tests for the server command argument builders (aletheia.ask / review / explainLogError).

import * as assert from 'assert';
import {
  buildAskRequest,
  buildExplainLogErrorRequest,
  buildReviewRequest,
  fileLabel,
  requestForServerCommand,
} from '../src/commandArguments';
import { ClientCommand, ServerCommand } from '../src/commandIds';

const range = { start: { line: 2, character: 0 }, end: { line: 4, character: 7 } };

describe('command arguments', () => {
  it('ask sends the trimmed question with uri, selection and range', () => {
    const request = buildAskRequest({
      question: '  why is this slow? ',
      uri: 'file:///etc/nginx/nginx.conf',
      selection: 'worker_connections 4;',
      range,
    });
    assert.strictEqual(request.command, 'aletheia.ask');
    assert.deepStrictEqual(request.arguments, [
      { question: 'why is this slow?', uri: 'file:///etc/nginx/nginx.conf', selection: 'worker_connections 4;', range },
    ]);
    assert.strictEqual(request.title, 'Ask: why is this slow?');
  });

  it('ask leaves out an empty selection and its range', () => {
    const request = buildAskRequest({ question: 'q', uri: 'file:///a.yaml', selection: '   ', range });
    assert.deepStrictEqual(request.arguments, [{ question: 'q', uri: 'file:///a.yaml' }]);
  });

  it('ask without an editor sends only the question', () => {
    assert.deepStrictEqual(buildAskRequest({ question: 'what is a cgroup?' }).arguments, [
      { question: 'what is a cgroup?' },
    ]);
  });

  it('ask rejects an empty question', () => {
    assert.throws(() => buildAskRequest({ question: '  \n' }), /empty/);
  });

  it('ask shortens long questions in the title only', () => {
    const question = 'x'.repeat(200);
    const request = buildAskRequest({ question });
    assert.ok(request.title.length < 70, request.title);
    assert.ok(request.title.endsWith('…'));
    assert.strictEqual((request.arguments[0] as { question: string }).question, question);
  });

  it('review sends the uri', () => {
    const request = buildReviewRequest('file:///srv/app/Dockerfile');
    assert.strictEqual(request.command, 'aletheia.review');
    assert.deepStrictEqual(request.arguments, [{ uri: 'file:///srv/app/Dockerfile' }]);
    assert.strictEqual(request.title, 'Review: Dockerfile');
  });

  it('review rejects a missing uri', () => {
    assert.throws(() => buildReviewRequest(''), /no file/);
  });

  it('explainLogError converts the 0-based cursor line to the 1-based error line', () => {
    const request = buildExplainLogErrorRequest('file:///var/log/app.log', 0);
    assert.strictEqual(request.command, 'aletheia.explainLogError');
    assert.deepStrictEqual(request.arguments, [{ uri: 'file:///var/log/app.log', line: 1 }]);
    assert.deepStrictEqual(buildExplainLogErrorRequest('file:///x.log', 41).arguments, [{ uri: 'file:///x.log', line: 42 }]);
    assert.strictEqual(buildExplainLogErrorRequest('file:///x.log', 41).title, 'Explain log error: x.log:42');
  });

  it('explainLogError rejects negative or fractional lines', () => {
    assert.throws(() => buildExplainLogErrorRequest('file:///x.log', -1), /Invalid line/);
    assert.throws(() => buildExplainLogErrorRequest('file:///x.log', 1.5), /Invalid line/);
  });

  it('fileLabel decodes the last path segment', () => {
    assert.strictEqual(fileLabel('file:///tmp/my%20app.service'), 'my app.service');
    assert.strictEqual(fileLabel('untitled:Untitled-1'), 'untitled:Untitled-1');
  });

  it('client and server command ids never collide', () => {
    const clientIds = new Set<string>(Object.values(ClientCommand));
    for (const id of Object.values(ServerCommand)) {
      assert.ok(!clientIds.has(id), `${id} is both a client and a server command`);
    }
  });

  it('passes a code action\'s server command through unchanged, with a title', () => {
    const args = [{ uri: 'file:///var/log/app.log', groupId: 3 }];
    assert.deepStrictEqual(requestForServerCommand('aletheia.explainLogError', args), {
      command: 'aletheia.explainLogError',
      arguments: args,
      title: 'Explain log error: app.log',
    });
    assert.strictEqual(requestForServerCommand('aletheia.review', [{ uri: 'file:///srv/Dockerfile' }])?.title, 'Review: Dockerfile');
    assert.strictEqual(requestForServerCommand('aletheia.ask', [{ question: 'why?' }])?.title, 'Ask: why?');
    assert.strictEqual(requestForServerCommand('aletheia.explainLogError', [{ uri: 'file:///x.log', line: 7 }])?.title, 'Explain log error: x.log:7');
  });

  it('leaves other commands alone', () => {
    assert.strictEqual(requestForServerCommand('aletheia.client.ask', []), undefined);
    assert.strictEqual(requestForServerCommand('editor.action.rename', [1]), undefined);
  });
});
