// Builds the `arguments` array of each server command from plain editor facts (uri strings,
// 0-based positions, selected text). Pure: no vscode import, so it is unit-tested directly.

import { ServerCommand, ServerCommandId } from './commandIds';

/** An LSP position/range: 0-based line and UTF-16 character offsets. */
export interface LspPosition {
  line: number;
  character: number;
}
export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

export interface AskInput {
  question: string;
  uri?: string;
  /** Selected text; ignored when empty or whitespace only. */
  selection?: string;
  range?: LspRange;
}

export interface AskArgument {
  question: string;
  uri?: string;
  selection?: string;
  range?: LspRange;
}

export interface ServerCommandRequest {
  command: ServerCommandId;
  arguments: unknown[];
  /** Short human title for the answer view. */
  title: string;
}

const TITLE_QUESTION_CHARS = 60;

function isEmptyRange(range: LspRange): boolean {
  return range.start.line === range.end.line && range.start.character === range.end.character;
}

function shortened(text: string, limit: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= limit ? oneLine : `${oneLine.slice(0, limit - 1)}…`;
}

/** Last path segment of a uri string, decoded, for titles. */
export function fileLabel(uri: string): string {
  const path = uri.split(/[?#]/, 1)[0];
  const last = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(last) || uri;
  } catch {
    return last || uri;
  }
}

/** `aletheia.ask`: the question, plus the file and selection as context when there is one. */
export function buildAskRequest(input: AskInput): ServerCommandRequest {
  const question = input.question.trim();
  if (question.length === 0) {
    throw new Error('The question is empty.');
  }
  const argument: AskArgument = { question };
  if (input.uri) {
    argument.uri = input.uri;
  }
  if (input.selection !== undefined && input.selection.trim().length > 0) {
    argument.selection = input.selection;
    if (input.range && !isEmptyRange(input.range)) {
      argument.range = input.range;
    }
  }
  return {
    command: ServerCommand.ask,
    arguments: [argument],
    title: `Ask: ${shortened(question, TITLE_QUESTION_CHARS)}`,
  };
}

/** `aletheia.review`: review the whole file. */
export function buildReviewRequest(uri: string): ServerCommandRequest {
  if (!uri) {
    throw new Error('There is no file to review.');
  }
  return {
    command: ServerCommand.review,
    arguments: [{ uri }],
    title: `Review: ${fileLabel(uri)}`,
  };
}

/**
 * `aletheia.explainLogError`: `zeroBasedLine` is the editor's cursor line; the server wants the
 * 1-based line of the error.
 */
export function buildExplainLogErrorRequest(uri: string, zeroBasedLine: number): ServerCommandRequest {
  if (!uri) {
    throw new Error('There is no log file open.');
  }
  if (!Number.isInteger(zeroBasedLine) || zeroBasedLine < 0) {
    throw new Error(`Invalid line number: ${zeroBasedLine}`);
  }
  const line = zeroBasedLine + 1;
  return {
    command: ServerCommand.explainLogError,
    arguments: [{ uri, line }],
    title: `Explain log error: ${fileLabel(uri)}:${line}`,
  };
}

function isServerCommand(command: string): command is ServerCommandId {
  return (Object.values(ServerCommand) as string[]).includes(command);
}

function stringField(value: unknown, field: string): string | undefined {
  if (value !== null && typeof value === 'object') {
    const found = (value as Record<string, unknown>)[field];
    return typeof found === 'string' ? found : undefined;
  }
  return undefined;
}

/**
 * A server command that arrives with ready-made arguments (a code action's or code lens's command,
 * e.g. "Review with Aletheia"), passed through unchanged and given a title for the answer view.
 * Undefined for commands that are not Aletheia's answer commands.
 */
export function requestForServerCommand(command: string, args: unknown[] | undefined): ServerCommandRequest | undefined {
  if (!isServerCommand(command)) {
    return undefined;
  }
  const first = args?.[0];
  const uri = stringField(first, 'uri');
  let title: string;
  switch (command) {
    case ServerCommand.ask:
      title = `Ask: ${shortened(stringField(first, 'question') ?? '', TITLE_QUESTION_CHARS)}`;
      break;
    case ServerCommand.review:
      title = `Review: ${uri ? fileLabel(uri) : 'file'}`;
      break;
    default: {
      const line = (first as { line?: unknown } | undefined)?.line;
      title = `Explain log error: ${uri ? fileLabel(uri) : 'log'}${typeof line === 'number' ? `:${line}` : ''}`;
    }
  }
  return { command, arguments: args ?? [], title };
}
