// Tests for one streamed command: progress into the sink, result, stop, errors, cleanup.

import * as assert from 'assert';
import { ProgressValue } from '../src/answerProgress';
import { StreamingCommandClient, newWorkDoneToken, runAnswerSession } from '../src/answerSession';
import { buildAskRequest } from '../src/commandArguments';
import { FakeCancellation, RecordingSink, flush } from './support/fakes';

/** A client whose command completes when the test calls `finish` or `fail`. */
class ScriptedClient implements StreamingCommandClient {
  handlers = new Map<string, (value: ProgressValue) => void>();
  calls: { command: string; args: unknown[]; token: string; cancellation: unknown }[] = [];
  finish: (result: unknown) => void = () => undefined;
  fail: (error: unknown) => void = () => undefined;

  onWorkDoneProgress(token: string, handler: (value: ProgressValue) => void) {
    this.handlers.set(token, handler);
    return { dispose: () => this.handlers.delete(token) };
  }
  executeCommand(command: string, args: unknown[], token: string, cancellation: unknown): Promise<unknown> {
    this.calls.push({ command, args, token, cancellation });
    return new Promise((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
  }
  progress(value: ProgressValue): void {
    for (const handler of this.handlers.values()) {
      handler(value);
    }
  }
}

const request = buildAskRequest({ question: 'why OOMKilled?' });

describe('answer session', () => {
  it('streams reports into the sink and ends with the result', async () => {
    const client = new ScriptedClient();
    const sink = new RecordingSink();
    const cancellation = new FakeCancellation();
    const done = runAnswerSession(request, client, sink, cancellation, 'tok-1');

    assert.deepStrictEqual(client.calls.map((c) => [c.command, c.token]), [['aletheia.ask', 'tok-1']]);
    assert.deepStrictEqual(client.calls[0].args, [{ question: 'why OOMKilled?' }]);
    assert.strictEqual(client.calls[0].cancellation, cancellation);
    client.progress({ kind: 'begin', title: 'Aletheia' });
    client.progress({ kind: 'report', message: 'The container' });
    client.progress({ kind: 'report', message: 'The container hit its limit.' });
    client.progress({ kind: 'end' });
    client.finish({ answer: 'The container hit its memory limit.' });
    const final = await done;

    assert.strictEqual(final.status, 'done');
    assert.strictEqual(final.text, 'The container hit its memory limit.');
    assert.deepStrictEqual(sink.texts, [
      '',
      '',
      'The container',
      'The container hit its limit.',
      'The container hit its memory limit.',
    ]);
    assert.ok(sink.shown.every((entry) => entry.title === 'Ask: why OOMKilled?'));
    assert.strictEqual(client.handlers.size, 0, 'progress subscription disposed');
    assert.strictEqual(cancellation.listenerCount, 0, 'cancellation listener disposed');
  });

  it('stops at once on cancellation, keeping the partial answer, even if the server never replies', async () => {
    const client = new ScriptedClient();
    const sink = new RecordingSink();
    const cancellation = new FakeCancellation();
    const done = runAnswerSession(request, client, sink, cancellation, 'tok-2');
    client.progress({ kind: 'report', message: 'Check the' });
    cancellation.cancel();
    const final = await done;
    assert.deepStrictEqual([final.status, final.text], ['stopped', 'Check the']);

    // Late traffic from the server changes nothing.
    client.progress({ kind: 'report', message: 'Check the limits' });
    client.finish({ answer: 'full' });
    await flush();
    assert.strictEqual(sink.last.text, 'Check the');
    assert.strictEqual(sink.last.status, 'stopped');
  });

  it('treats a RequestCancelled error as a stop', async () => {
    const client = new ScriptedClient();
    const sink = new RecordingSink();
    const done = runAnswerSession(request, client, sink, new FakeCancellation(), 'tok-3');
    client.fail({ code: -32800, message: 'Request cancelled' });
    assert.strictEqual((await done).status, 'stopped');
  });

  it('reports other errors with their message', async () => {
    const client = new ScriptedClient();
    const sink = new RecordingSink();
    const done = runAnswerSession(request, client, sink, new FakeCancellation(), 'tok-4');
    client.fail(new Error('model server unreachable at http://127.0.0.1:8000/v1'));
    const final = await done;
    assert.strictEqual(final.status, 'failed');
    assert.match(final.note ?? '', /unreachable/);
    assert.strictEqual(client.handlers.size, 0);
  });

  it('does not send anything when already cancelled', async () => {
    const client = new ScriptedClient();
    const cancellation = new FakeCancellation();
    cancellation.cancel();
    const final = await runAnswerSession(request, client, new RecordingSink(), cancellation, 'tok-5');
    assert.strictEqual(final.status, 'stopped');
    assert.strictEqual(client.calls.length, 0);
  });

  it('ignores progress for other tokens', async () => {
    const client = new ScriptedClient();
    const sink = new RecordingSink();
    const done = runAnswerSession(request, client, sink, new FakeCancellation(), 'mine');
    client.handlers.get('other')?.({ kind: 'report', message: 'not mine' });
    assert.ok(!client.handlers.has('other'));
    client.finish({ answer: 'mine' });
    assert.strictEqual((await done).text, 'mine');
  });

  it('makes unique work-done tokens', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => newWorkDoneToken()));
    assert.strictEqual(tokens.size, 100);
  });
});
