// Stand-in for `vscode-languageclient/node` in unit tests: a LanguageClient that records how it
// was constructed and lets each test script the server's answers to requests and its progress.

/* eslint-disable @typescript-eslint/no-explicit-any */

export enum TransportKind {
  stdio = 0,
  ipc = 1,
  pipe = 2,
  socket = 3,
}

export type ProgressHandler = (value: any) => void;
export type RequestHandler = (
  method: string,
  params: any,
  token: any,
  client: LanguageClient,
) => Promise<unknown>;

interface ClientScript {
  /** Answers sendRequest; by default rejects. */
  onRequest: RequestHandler;
  /** Makes start() reject with this error. */
  startError: Error | undefined;
}

export const clientScript: ClientScript = {
  onRequest: async () => {
    throw new Error('no request handler scripted');
  },
  startError: undefined,
};

export const createdClients: LanguageClient[] = [];

export function resetLanguageClientStub(): void {
  createdClients.length = 0;
  clientScript.onRequest = async () => {
    throw new Error('no request handler scripted');
  };
  clientScript.startError = undefined;
}

export class LanguageClient {
  state: 'created' | 'running' | 'stopped' | 'failed' = 'created';
  disposed = false;
  readonly progressHandlers = new Map<string | number, ProgressHandler>();
  readonly requests: { method: string; params: any; token: any }[] = [];

  constructor(
    readonly id: string,
    readonly name: string,
    readonly serverOptions: any,
    readonly clientOptions: any,
  ) {
    createdClients.push(this);
  }

  async start(): Promise<void> {
    if (clientScript.startError) {
      this.state = 'failed';
      throw clientScript.startError;
    }
    this.state = 'running';
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.state = 'stopped';
  }

  isRunning(): boolean {
    return this.state === 'running';
  }

  onProgress(_type: unknown, token: string | number, handler: ProgressHandler): { dispose(): void } {
    this.progressHandlers.set(token, handler);
    return { dispose: () => this.progressHandlers.delete(token) };
  }

  /** Delivers a `$/progress` notification as the server would. */
  sendProgress(token: string | number, value: unknown): void {
    this.progressHandlers.get(token)?.(value);
  }

  sendRequest(type: any, params: any, token?: any): Promise<unknown> {
    const method = typeof type === 'string' ? type : type.method;
    this.requests.push({ method, params, token });
    return clientScript.onRequest(method, params, token, this);
  }
}
