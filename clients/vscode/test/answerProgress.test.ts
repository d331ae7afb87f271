// Tests for folding $/progress notifications and the final result into the answer state.

import * as assert from 'assert';
import {
  answerFromResult,
  applyProgress,
  completeAnswer,
  failAnswer,
  initialAnswerState,
  stopAnswer,
} from '../src/answerProgress';

describe('answer progress', () => {
  it('starts waiting with no text', () => {
    assert.deepStrictEqual(initialAnswerState(), { status: 'waiting', text: '' });
  });

  it('replaces the text with each report (reports carry the full answer so far)', () => {
    let state = applyProgress(initialAnswerState(), { kind: 'begin', title: 'Answering' });
    assert.strictEqual(state.status, 'streaming');
    assert.strictEqual(state.serverTitle, 'Answering');
    state = applyProgress(state, { kind: 'report', message: 'The pod' });
    state = applyProgress(state, { kind: 'report', message: 'The pod is OOMKilled' });
    assert.strictEqual(state.text, 'The pod is OOMKilled');
  });

  it('keeps the text when a report has no message', () => {
    let state = applyProgress(initialAnswerState(), { kind: 'report', message: 'abc' });
    state = applyProgress(state, { kind: 'report', percentage: 50 });
    assert.strictEqual(state.text, 'abc');
  });

  it('end does not finish the answer: the result does', () => {
    let state = applyProgress(initialAnswerState(), { kind: 'report', message: 'partial' });
    state = applyProgress(state, { kind: 'end' });
    assert.strictEqual(state.status, 'streaming');
    state = completeAnswer(state, { answer: 'final answer' });
    assert.deepStrictEqual([state.status, state.text], ['done', 'final answer']);
  });

  it('ignores progress after the answer finished', () => {
    const done = completeAnswer(initialAnswerState(), { answer: 'x' });
    assert.strictEqual(applyProgress(done, { kind: 'report', message: 'late' }), done);
  });

  it('fails on a result without an answer', () => {
    const state = completeAnswer(initialAnswerState(), { something: 1 });
    assert.strictEqual(state.status, 'failed');
    assert.match(state.note ?? '', /no answer/);
  });

  it('stopping keeps the partial text; a later result does not overwrite it', () => {
    let state = applyProgress(initialAnswerState(), { kind: 'report', message: 'half an' });
    state = stopAnswer(state);
    assert.deepStrictEqual([state.status, state.text], ['stopped', 'half an']);
    assert.strictEqual(completeAnswer(state, { answer: 'whole' }).text, 'half an');
    assert.strictEqual(failAnswer(state, 'boom').status, 'stopped');
  });

  it('accepts {answer} or a plain string as the result', () => {
    assert.strictEqual(answerFromResult({ answer: 'a' }), 'a');
    assert.strictEqual(answerFromResult('b'), 'b');
    assert.strictEqual(answerFromResult(null), undefined);
    assert.strictEqual(answerFromResult({ answer: 3 }), undefined);
  });
});
