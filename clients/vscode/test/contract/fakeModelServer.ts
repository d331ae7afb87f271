// A tiny OpenAI-compatible model server for the language-server contract test: streams scripted
// chat-completion chunks over SSE, records each request (body and Authorization header), and
// notices when the client hangs up before the stream is finished.

import * as http from 'http';
import { AddressInfo } from 'net';

export interface RecordedRequest {
  path: string;
  authorization: string | undefined;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface ModelScript {
  pieces: string[];
  delayMs: number;
}

export class FakeModelServer {
  readonly requests: RecordedRequest[] = [];
  script: ModelScript = { pieces: ['Hello'], delayMs: 0 };
  /** Resolves when a client disconnects from a stream that had not finished. */
  private disconnectWaiters: (() => void)[] = [];
  disconnectedEarly = 0;
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  waitForEarlyDisconnect(limitMs: number): Promise<boolean> {
    if (this.disconnectedEarly > 0) {
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), limitMs);
      this.disconnectWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? JSON.parse(text) : undefined;
      this.requests.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
      if (req.method === 'POST' && req.url?.endsWith('/chat/completions')) {
        void this.stream(body, res);
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      }
    });
  }

  private async stream(body: { model?: string }, res: http.ServerResponse): Promise<void> {
    let finished = false;
    res.on('close', () => {
      if (!finished) {
        this.disconnectedEarly += 1;
        for (const waiter of this.disconnectWaiters.splice(0)) {
          waiter();
        }
      }
    });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunk = (delta: object, finishReason: string | null) =>
      `data: ${JSON.stringify({
        id: 'chatcmpl-contract',
        object: 'chat.completion.chunk',
        created: 0,
        model: body.model ?? 'fake',
        choices: [{ index: 0, delta, finish_reason: finishReason }],
      })}\n\n`;
    res.write(chunk({ role: 'assistant', content: '' }, null));
    for (const piece of this.script.pieces) {
      if (res.destroyed) {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, this.script.delayMs));
      res.write(chunk({ content: piece }, null));
    }
    res.write(chunk({}, 'stop'));
    res.write('data: [DONE]\n\n');
    finished = true;
    res.end();
  }
}
