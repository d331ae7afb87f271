// The answer view: one webview panel, reused for every answer, that renders the streamed markdown
// and offers a Stop button. Implements AnswerSink for runAnswerSession.

import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import { AnswerState } from './answerProgress';
import { AnswerStateMessage, buildAnswerPage, buildStateMessage, isPageMessage } from './answerPage';
import { AnswerSink } from './answerSession';

export const ANSWER_VIEW_TYPE = 'aletheia.answer';

export class AnswerPanel implements AnswerSink, vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private latest: AnswerStateMessage | undefined;
  private stopHandler: (() => void) | undefined;

  /** Sets what the Stop button does for the answer now shown. */
  onStop(handler: (() => void) | undefined): void {
    this.stopHandler = handler;
  }

  show(title: string, state: AnswerState): void {
    this.latest = buildStateMessage(title, state);
    if (!this.panel) {
      this.panel = this.createPanel(this.latest);
      return;
    }
    this.panel.title = `Aletheia: ${title}`;
    void this.panel.webview.postMessage(this.latest);
  }

  /** Brings the panel to the front without taking focus from the editor. */
  reveal(): void {
    this.panel?.reveal(vscode.ViewColumn.Beside, true);
  }

  dispose(): void {
    this.panel?.dispose();
    this.panel = undefined;
  }

  private createPanel(initial: AnswerStateMessage): vscode.WebviewPanel {
    const panel = vscode.window.createWebviewPanel(
      ANSWER_VIEW_TYPE,
      `Aletheia: ${initial.title}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [], retainContextWhenHidden: true },
    );
    panel.webview.html = buildAnswerPage(
      { cspSource: panel.webview.cspSource, nonce: randomBytes(16).toString('hex') },
      initial,
    );
    panel.webview.onDidReceiveMessage((message: unknown) => {
      if (!isPageMessage(message)) {
        return;
      }
      if (message.type === 'stop') {
        this.stopHandler?.();
      } else if (message.type === 'ready' && this.latest) {
        // The page may have missed updates posted while it was loading.
        void panel.webview.postMessage(this.latest);
      }
    });
    panel.onDidDispose(() => {
      if (this.panel === panel) {
        this.panel = undefined;
        // Closing the view stops the answer it was showing.
        this.stopHandler?.();
      }
    });
    return panel;
  }
}
