// Runs one streamed server command: subscribes to `$/progress` for a fresh work-done token, sends
// workspace/executeCommand with that token and a cancellation token, and pushes every new answer
// state to a sink (the answer view). Cancelling stops at once, keeping the partial answer; the
// language client forwards the cancellation to the server as `$/cancelRequest`.
// Depends only on small structural interfaces, so tests drive it with fakes.

import {
  AnswerState,
  ProgressValue,
  applyProgress,
  completeAnswer,
  failAnswer,
  initialAnswerState,
  stopAnswer,
} from './answerProgress';
import { ServerCommandRequest } from './commandArguments';

export interface Disposable {
  dispose(): void;
}

/** Structural subset of vscode.CancellationToken. */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): Disposable;
}

/** What the session needs from the language client. */
export interface StreamingCommandClient {
  onWorkDoneProgress(token: string, handler: (value: ProgressValue) => void): Disposable;
  executeCommand(command: string, args: unknown[], workDoneToken: string, cancellation: Cancellation): Promise<unknown>;
}

/** Receives every state change of the answer. */
export interface AnswerSink {
  show(title: string, state: AnswerState): void;
}

/** JSON-RPC error code for a request the client cancelled (LSP RequestCancelled). */
export const REQUEST_CANCELLED = -32800;

let tokenCounter = 0;

/** A work-done token unique within this extension host. */
export function newWorkDoneToken(): string {
  tokenCounter += 1;
  return `aletheia-${Date.now().toString(36)}-${tokenCounter}`;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  if (error !== null && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return String(error);
}

function isCancellationError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') {
    return false;
  }
  const { code, name } = error as { code?: unknown; name?: unknown };
  return code === REQUEST_CANCELLED || name === 'Canceled';
}

export async function runAnswerSession(
  request: ServerCommandRequest,
  client: StreamingCommandClient,
  sink: AnswerSink,
  cancellation: Cancellation,
  workDoneToken: string = newWorkDoneToken(),
): Promise<AnswerState> {
  let state = initialAnswerState();
  const update = (next: AnswerState) => {
    if (next !== state) {
      state = next;
      sink.show(request.title, state);
    }
  };
  sink.show(request.title, state);

  if (cancellation.isCancellationRequested) {
    update(stopAnswer(state));
    return state;
  }

  const progress = client.onWorkDoneProgress(workDoneToken, (value) => update(applyProgress(state, value)));
  let stopListener: Disposable | undefined;
  const stopped = new Promise<'stopped'>((resolve) => {
    stopListener = cancellation.onCancellationRequested(() => resolve('stopped'));
  });
  try {
    const outcome = await Promise.race([
      client.executeCommand(request.command, request.arguments, workDoneToken, cancellation).then(
        (result) => ({ result }),
      ),
      stopped,
    ]);
    if (outcome === 'stopped') {
      update(stopAnswer(state));
    } else {
      update(completeAnswer(state, outcome.result));
    }
  } catch (error) {
    if (cancellation.isCancellationRequested || isCancellationError(error)) {
      update(stopAnswer(state));
    } else {
      update(failAnswer(state, describeError(error)));
    }
  } finally {
    progress.dispose();
    stopListener?.dispose();
  }
  return state;
}
