// End-to-end over real JSON-RPC: the extension's command transport and answer session talk to an
// in-process LSP peer (vscode-languageserver-protocol connections over in-memory streams) that
// streams `$/progress` like the Aletheia language server and honours `$/cancelRequest`.

import * as assert from 'assert';
import { PassThrough } from 'stream';
import {
  CancellationToken,
  CancellationTokenSource,
  ExecuteCommandRequest,
  ProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgress,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { runAnswerSession } from '../src/answerSession';
import { buildExplainLogErrorRequest, buildReviewRequest } from '../src/commandArguments';
import { streamingCommandClient } from '../src/commandTransport';
import { RecordingSink } from './support/fakes';

interface Peer {
  client: ProtocolConnection;
  server: ProtocolConnection;
  dispose(): void;
}

function connectPeers(): Peer {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const client = createProtocolConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  const server = createProtocolConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  return {
    client,
    server,
    dispose() {
      client.dispose();
      server.dispose();
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function waitForCancellation(token: CancellationToken, limitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (token.isCancellationRequested) {
      resolve(true);
      return;
    }
    const timer = setTimeout(() => resolve(false), limitMs);
    token.onCancellationRequested(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('command transport over JSON-RPC', () => {
  let peer: Peer;
  afterEach(() => peer.dispose());

  it('sends executeCommand with a workDoneToken and streams full-text reports', async () => {
    peer = connectPeers();
    const received: unknown[] = [];
    peer.server.onRequest(ExecuteCommandRequest.type, async (params) => {
      received.push(params);
      const token = params.workDoneToken!;
      const words = ['Port', ' 80', ' is', ' taken.'];
      await peer.server.sendProgress(WorkDoneProgress.type, token, { kind: 'begin', title: 'Aletheia' });
      let text = '';
      for (const word of words) {
        text += word;
        await peer.server.sendProgress(WorkDoneProgress.type, token, { kind: 'report', message: text });
      }
      await peer.server.sendProgress(WorkDoneProgress.type, token, { kind: 'end' });
      return { answer: text };
    });
    peer.server.listen();
    peer.client.listen();

    const sink = new RecordingSink();
    const request = buildExplainLogErrorRequest('file:///var/log/nginx/error.log', 11);
    const final = await runAnswerSession(
      request,
      streamingCommandClient(peer.client),
      sink,
      new CancellationTokenSource().token,
      'wd-1',
    );

    assert.deepStrictEqual(received, [
      {
        command: 'aletheia.explainLogError',
        arguments: [{ uri: 'file:///var/log/nginx/error.log', line: 12 }],
        workDoneToken: 'wd-1',
      },
    ]);
    assert.deepStrictEqual([final.status, final.text], ['done', 'Port 80 is taken.']);
    assert.deepStrictEqual(sink.texts.slice(2, 6), ['Port', 'Port 80', 'Port 80 is', 'Port 80 is taken.']);
  });

  it('cancelling sends $/cancelRequest, so the server stops generating', async () => {
    peer = connectPeers();
    let serverSawCancel: Promise<boolean> | undefined;
    let started: () => void = () => undefined;
    const firstReport = new Promise<void>((resolve) => (started = resolve));
    peer.server.onRequest(ExecuteCommandRequest.type, async (params, token) => {
      serverSawCancel = waitForCancellation(token, 2000);
      await peer.server.sendProgress(WorkDoneProgress.type, params.workDoneToken!, {
        kind: 'report',
        message: 'The unit',
      });
      started();
      await serverSawCancel;
      return { answer: 'should not be shown' };
    });
    peer.server.listen();
    peer.client.listen();

    const source = new CancellationTokenSource();
    const sink = new RecordingSink();
    const session = runAnswerSession(
      buildReviewRequest('file:///etc/systemd/system/app.service'),
      streamingCommandClient(peer.client),
      sink,
      source.token,
      'wd-2',
    );
    await firstReport;
    await sleep(10);
    source.cancel();
    const final = await session;
    assert.deepStrictEqual([final.status, final.text], ['stopped', 'The unit']);
    assert.strictEqual(await serverSawCancel, true, 'server received $/cancelRequest');
  });
});
