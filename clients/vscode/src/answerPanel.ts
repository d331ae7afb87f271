// The answer view: one webview panel, reused for every answer, that renders the streamed markdown
// and offers a Stop button. Each answer gets its own sink from begin(); a sink whose answer has been
// superseded by a newer one, or whose panel the user closed, no longer draws anything.

import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import { AnswerState } from './answerProgress';
import { AnswerStateMessage, buildAnswerPage, buildStateMessage, isPageMessage } from './answerPage';
import { AnswerSink } from './answerSession';

export const ANSWER_VIEW_TYPE = 'aletheia.answer';

export class AnswerPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private latest: AnswerStateMessage | undefined;
  private stopHandler: (() => void) | undefined;
  /** Increases with every answer; only the newest answer's sink may draw. */
  private generation = 0;
  /** The user closed the panel while the current answer was running. */
  private dismissed = false;

  /** Starts showing a new answer; `onStop` runs when the user presses Stop or closes the panel. */
  begin(onStop: () => void): AnswerSink {
    this.generation += 1;
    const generation = this.generation;
    this.dismissed = false;
    this.stopHandler = onStop;
    return {
      show: (title: string, state: AnswerState) => {
        if (generation === this.generation && !this.dismissed) {
          this.render(buildStateMessage(title, state));
        }
      },
    };
  }

  dispose(): void {
    this.panel?.dispose();
    this.panel = undefined;
  }

  private render(message: AnswerStateMessage): void {
    this.latest = message;
    if (!this.panel) {
      this.panel = this.createPanel(message);
      return;
    }
    this.panel.title = `Aletheia: ${message.title}`;
    if (!this.panel.visible) {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    void this.panel.webview.postMessage(message);
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
        // Closing the view stops the answer it was showing, without reopening it.
        this.dismissed = true;
        this.stopHandler?.();
      }
    });
    return panel;
  }
}
