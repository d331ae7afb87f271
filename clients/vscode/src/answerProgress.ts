// Folds the language server's work-done progress notifications for one command into the answer
// shown so far. The server's contract: each `report` carries the FULL answer text so far in
// `message` (not a delta); `begin` may carry a title; `end` closes the stream. The final command
// result `{answer}` is authoritative and replaces whatever was streamed.

export type AnswerStatus = 'waiting' | 'streaming' | 'done' | 'stopped' | 'failed';

export interface AnswerState {
  status: AnswerStatus;
  /** Markdown text of the answer so far. */
  text: string;
  /** Server-side title from the `begin` notification, if any. */
  serverTitle?: string;
  /** Error or stop message shown under the answer. */
  note?: string;
}

/** Structural copies of the LSP WorkDoneProgress value shapes (no protocol import needed). */
export interface ProgressBegin {
  kind: 'begin';
  title: string;
  message?: string;
  percentage?: number;
  cancellable?: boolean;
}
export interface ProgressReport {
  kind: 'report';
  message?: string;
  percentage?: number;
  cancellable?: boolean;
}
export interface ProgressEnd {
  kind: 'end';
  message?: string;
}
export type ProgressValue = ProgressBegin | ProgressReport | ProgressEnd;

export function initialAnswerState(): AnswerState {
  return { status: 'waiting', text: '' };
}

function isFinished(state: AnswerState): boolean {
  return state.status === 'done' || state.status === 'stopped' || state.status === 'failed';
}

/** Applies one `$/progress` value. Notifications arriving after the answer finished are ignored. */
export function applyProgress(state: AnswerState, value: ProgressValue): AnswerState {
  if (isFinished(state)) {
    return state;
  }
  switch (value.kind) {
    case 'begin':
      return {
        ...state,
        status: 'streaming',
        serverTitle: value.title || state.serverTitle,
        text: value.message !== undefined && value.message !== '' ? value.message : state.text,
      };
    case 'report':
      // A report without a message (e.g. only a percentage) keeps the text already shown.
      return {
        ...state,
        status: 'streaming',
        text: typeof value.message === 'string' ? value.message : state.text,
      };
    case 'end':
      // The stream is over; the answer is complete once the command result arrives.
      return state;
    default:
      return state;
  }
}

/** Extracts the answer text from a command result, accepting `{answer}` or a plain string. */
export function answerFromResult(result: unknown): string | undefined {
  if (typeof result === 'string') {
    return result;
  }
  if (result !== null && typeof result === 'object' && typeof (result as { answer?: unknown }).answer === 'string') {
    return (result as { answer: string }).answer;
  }
  return undefined;
}

export function completeAnswer(state: AnswerState, result: unknown): AnswerState {
  if (isFinished(state)) {
    return state;
  }
  const answer = answerFromResult(result);
  if (answer === undefined) {
    return {
      ...state,
      status: 'failed',
      note: 'The language server returned no answer.',
    };
  }
  return { ...state, status: 'done', text: answer };
}

export function stopAnswer(state: AnswerState): AnswerState {
  if (isFinished(state)) {
    return state;
  }
  return { ...state, status: 'stopped', note: 'Stopped.' };
}

export function failAnswer(state: AnswerState, message: string): AnswerState {
  if (isFinished(state)) {
    return state;
  }
  return { ...state, status: 'failed', note: message };
}

export function isAnswerFinished(state: AnswerState): boolean {
  return isFinished(state);
}
