// Runs the answer page's inline script in a Node vm against a minimal fake DOM, to check what it
// does in the webview: announces itself, posts {type: 'stop'} from the Stop button, and applies
// state messages (title and note as text, never as HTML; the Stop button hidden when finished).

import * as assert from 'assert';
import * as vm from 'vm';
import { buildAnswerPage, buildStateMessage } from '../src/answerPage';

type Handler = (event: unknown) => void;

class FakeElement {
  textContent = '';
  innerHTML = '';
  hidden = false;
  disabled = false;
  readonly listeners = new Map<string, Handler>();
  addEventListener(type: string, handler: Handler): void {
    this.listeners.set(type, handler);
  }
}

function runPageScript() {
  const page = buildAnswerPage(
    { cspSource: 'vscode-webview://x', nonce: 'abc' },
    buildStateMessage('Ask: q', { status: 'waiting', text: '' }),
  );
  const script = /<script nonce="abc">([\s\S]*?)<\/script>/.exec(page)?.[1];
  assert.ok(script, 'page has a nonce script');
  const elements: Record<string, FakeElement> = {};
  for (const id of ['title', 'status', 'stop', 'answer', 'note']) {
    elements[id] = new FakeElement();
  }
  const posted: unknown[] = [];
  const windowListeners = new Map<string, Handler>();
  vm.runInNewContext(script, {
    // JSON round trip: objects made inside the vm have that context's prototypes.
    acquireVsCodeApi: () => ({ postMessage: (message: unknown) => posted.push(JSON.parse(JSON.stringify(message))) }),
    document: { getElementById: (id: string) => elements[id] ?? null },
    window: { addEventListener: (type: string, handler: Handler) => windowListeners.set(type, handler) },
  });
  const deliver = (data: unknown) => windowListeners.get('message')?.({ data });
  return { elements, posted, deliver };
}

describe('answer page script', () => {
  it('posts ready on load and stop when Stop is clicked', () => {
    const { elements, posted } = runPageScript();
    assert.deepStrictEqual(posted, [{ type: 'ready' }]);
    elements.stop.listeners.get('click')?.({});
    assert.deepStrictEqual(posted, [{ type: 'ready' }, { type: 'stop' }]);
    assert.strictEqual(elements.stop.disabled, true);
  });

  it('applies state messages: HTML only for the rendered answer, text for the rest', () => {
    const { elements, deliver } = runPageScript();
    deliver(buildStateMessage('<b>title</b>', { status: 'streaming', text: '**so far**' }));
    assert.strictEqual(elements.title.textContent, '<b>title</b>');
    assert.strictEqual(elements.title.innerHTML, '');
    assert.strictEqual(elements.answer.innerHTML, '<p><strong>so far</strong></p>\n');
    assert.strictEqual(elements.status.textContent, 'Answering…');
    assert.strictEqual(elements.stop.hidden, false);

    deliver(buildStateMessage('t', { status: 'failed', text: 'partial', note: '<img src=x> timed out' }));
    assert.strictEqual(elements.note.textContent, '<img src=x> timed out');
    assert.strictEqual(elements.note.innerHTML, '');
    assert.strictEqual(elements.stop.hidden, true);
    assert.strictEqual(elements.status.textContent, 'Failed');
  });

  it('ignores messages that are not state updates', () => {
    const { elements, deliver } = runPageScript();
    deliver({ type: 'other', html: '<script>x</script>' });
    deliver(null);
    assert.strictEqual(elements.answer.innerHTML, '');
  });
});
