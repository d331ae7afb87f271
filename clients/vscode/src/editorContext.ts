// Reads what the commands need from the active editor: the document uri, the selected text and its
// range (as an LSP range), and the cursor line. The only place that converts vscode types for them.

import * as vscode from 'vscode';
import { LspRange } from './commandArguments';

export interface EditorFacts {
  uri: string;
  selection: string;
  range: LspRange;
  cursorLine: number;
  languageId: string;
}

export function toLspRange(range: vscode.Range): LspRange {
  return {
    start: { line: range.start.line, character: range.start.character },
    end: { line: range.end.line, character: range.end.character },
  };
}

export function activeEditorFacts(editor: vscode.TextEditor | undefined = vscode.window.activeTextEditor): EditorFacts | undefined {
  if (!editor) {
    return undefined;
  }
  const selection = editor.selection;
  return {
    uri: editor.document.uri.toString(),
    selection: selection.isEmpty ? '' : editor.document.getText(selection),
    range: toLspRange(selection),
    cursorLine: selection.active.line,
    languageId: editor.document.languageId,
  };
}

/** A uri passed by a menu (explorer or editor title) wins over the active editor's document. */
export function targetUri(menuArgument: unknown, editor: EditorFacts | undefined): string | undefined {
  if (menuArgument instanceof vscode.Uri) {
    return menuArgument.toString();
  }
  return editor?.uri;
}
