// Small test doubles shared by the session tests: a cancellation source and a recording sink.

import { AnswerState } from '../../src/answerProgress';
import { AnswerSink, Cancellation, Disposable } from '../../src/answerSession';

export class FakeCancellation implements Cancellation {
  private listeners: (() => void)[] = [];
  isCancellationRequested = false;
  onCancellationRequested(listener: () => void): Disposable {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  }
  cancel(): void {
    if (!this.isCancellationRequested) {
      this.isCancellationRequested = true;
      for (const listener of [...this.listeners]) {
        listener();
      }
    }
  }
  get listenerCount(): number {
    return this.listeners.length;
  }
}

export class RecordingSink implements AnswerSink {
  readonly shown: { title: string; state: AnswerState }[] = [];
  show(title: string, state: AnswerState): void {
    this.shown.push({ title, state });
  }
  get last(): AnswerState {
    return this.shown[this.shown.length - 1].state;
  }
  get texts(): string[] {
    return this.shown.map((entry) => entry.state.text);
  }
}

/** Resolves after pending promise callbacks have run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
