// Adapts anything that speaks LSP requests and progress (vscode-languageclient's LanguageClient,
// or a bare vscode-languageserver-protocol connection in tests) to the StreamingCommandClient that
// answer sessions use: workspace/executeCommand with a workDoneToken, `$/progress` subscriptions,
// and cancellation passed through so the client sends `$/cancelRequest`.

import {
  CancellationToken,
  Disposable,
  ExecuteCommandParams,
  ExecuteCommandRequest,
  ProgressType,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from 'vscode-languageserver-protocol';
import { StreamingCommandClient } from './answerSession';

type WorkDoneValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

/** The two methods both LanguageClient and ProtocolConnection provide. */
export interface LspRequester {
  onProgress(type: ProgressType<WorkDoneValue>, token: string | number, handler: (value: WorkDoneValue) => void): Disposable;
  sendRequest(type: typeof ExecuteCommandRequest.type, params: ExecuteCommandParams, token?: CancellationToken): Promise<unknown>;
}

export function streamingCommandClient(requester: LspRequester): StreamingCommandClient {
  return {
    onWorkDoneProgress: (token, handler) => requester.onProgress(WorkDoneProgress.type, token, handler),
    executeCommand: (command, args, workDoneToken, cancellation) =>
      requester.sendRequest(
        ExecuteCommandRequest.type,
        { command, arguments: args, workDoneToken },
        cancellation as CancellationToken,
      ),
  };
}
