// The answer webview's HTML document and the messages exchanged with it. The page has a strict
// Content-Security-Policy (no network, only the nonce'd inline script and style), a Stop button
// that posts {type: 'stop'}, and updates itself from {type: 'state'} messages. Pure, unit-tested.

import { AnswerState, AnswerStatus } from './answerProgress';
import { escapeHtml, renderMarkdown } from './markdownRender';

/** Message the extension posts to the page. */
export interface AnswerStateMessage {
  type: 'state';
  title: string;
  statusLabel: string;
  streaming: boolean;
  /** Sanitised HTML of the answer. */
  html: string;
  note: string;
}

/** Messages the page posts to the extension. */
export type PageMessage = { type: 'stop' } | { type: 'ready' };

const STATUS_LABELS: Record<AnswerStatus, string> = {
  waiting: 'Waiting for the model…',
  streaming: 'Answering…',
  done: 'Done',
  stopped: 'Stopped',
  failed: 'Failed',
};

export function statusLabel(status: AnswerStatus): string {
  return STATUS_LABELS[status];
}

export function buildStateMessage(title: string, state: AnswerState): AnswerStateMessage {
  return {
    type: 'state',
    title,
    statusLabel: statusLabel(state.status),
    streaming: state.status === 'waiting' || state.status === 'streaming',
    html: renderMarkdown(state.text),
    note: state.note ?? '',
  };
}

export function isPageMessage(value: unknown): value is PageMessage {
  if (value === null || typeof value !== 'object') {
    return false;
  }
  const type = (value as { type?: unknown }).type;
  return type === 'stop' || type === 'ready';
}

export interface PageOptions {
  /** `webview.cspSource`. */
  cspSource: string;
  /** Random nonce for the inline script and style, fresh for every page. */
  nonce: string;
}

export function contentSecurityPolicy(options: PageOptions): string {
  return [
    "default-src 'none'",
    `style-src ${options.cspSource} 'nonce-${options.nonce}'`,
    `script-src 'nonce-${options.nonce}'`,
    `img-src ${options.cspSource}`,
    `font-src ${options.cspSource}`,
  ].join('; ');
}

const PAGE_STYLE = `
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size);
         color: var(--vscode-foreground); padding: 0 16px 24px; line-height: 1.5; }
  header { position: sticky; top: 0; display: flex; align-items: center; gap: 12px;
           padding: 8px 0; background: var(--vscode-editor-background);
           border-bottom: 1px solid var(--vscode-panel-border); }
  header h1 { font-size: 1.1em; margin: 0; flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  #status { opacity: 0.8; }
  button { background: var(--vscode-button-background); color: var(--vscode-button-foreground);
           border: none; padding: 4px 12px; cursor: pointer; }
  button:hover { background: var(--vscode-button-hoverBackground); }
  button[hidden] { display: none; }
  pre { background: var(--vscode-textCodeBlock-background); padding: 8px; overflow-x: auto; }
  code { font-family: var(--vscode-editor-font-family); }
  #note { color: var(--vscode-errorForeground); }
`;

const PAGE_SCRIPT = `
  (function () {
    const vscode = acquireVsCodeApi();
    const title = document.getElementById('title');
    const status = document.getElementById('status');
    const stop = document.getElementById('stop');
    const answer = document.getElementById('answer');
    const note = document.getElementById('note');
    stop.addEventListener('click', function () {
      stop.disabled = true;
      vscode.postMessage({ type: 'stop' });
    });
    window.addEventListener('message', function (event) {
      const message = event.data;
      if (!message || message.type !== 'state') { return; }
      title.textContent = message.title;
      status.textContent = message.statusLabel;
      stop.hidden = !message.streaming;
      stop.disabled = false;
      answer.innerHTML = message.html;
      note.textContent = message.note;
    });
    vscode.postMessage({ type: 'ready' });
  })();
`;

/** The full page, pre-filled with `initial` so it shows the right thing before any message. */
export function buildAnswerPage(options: PageOptions, initial: AnswerStateMessage): string {
  const nonce = escapeHtml(options.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(options))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Aletheia</title>
<style nonce="${nonce}">${PAGE_STYLE}</style>
</head>
<body>
<header>
<h1 id="title">${escapeHtml(initial.title)}</h1>
<span id="status">${escapeHtml(initial.statusLabel)}</span>
<button id="stop" type="button"${initial.streaming ? '' : ' hidden'}>Stop</button>
</header>
<main id="answer">${initial.html}</main>
<p id="note">${escapeHtml(initial.note)}</p>
<script nonce="${nonce}">${PAGE_SCRIPT}</script>
</body>
</html>`;
}
