// A small in-memory stand-in for the `vscode` module, enough for the extension's code paths under
// unit test: commands, configuration, secret storage, input boxes, messages, webview panels and
// cancellation. Tests reset it with resetVscodeStub() and script it through `stubState`.

/* eslint-disable @typescript-eslint/no-explicit-any */

export class Disposable {
  constructor(private readonly onDispose: () => void = () => undefined) {}
  dispose(): void {
    this.onDispose();
  }
}

type Listener<T> = (value: T) => void;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    });
  };
  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      listener(value);
    }
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class CancellationError extends Error {
  constructor() {
    super('Canceled');
    this.name = 'Canceled';
  }
}

export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  private cancelled = false;
  readonly token: { readonly isCancellationRequested: boolean; onCancellationRequested: EventEmitter<void>['event'] };
  constructor() {
    const isCancelled = () => this.cancelled;
    this.token = {
      get isCancellationRequested(): boolean {
        return isCancelled();
      },
      onCancellationRequested: this.emitter.event,
    };
  }
  cancel(): void {
    if (!this.cancelled) {
      this.cancelled = true;
      this.emitter.fire();
    }
  }
  dispose(): void {
    this.emitter.dispose();
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static file(path: string): Uri {
    return new Uri('file', path);
  }
  static parse(value: string): Uri {
    const match = /^([a-z][a-z0-9+.-]*):(?:\/\/)?(.*)$/i.exec(value);
    return match ? new Uri(match[1], match[2]) : new Uri('file', value);
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return this.scheme === 'file' ? `file://${this.path}` : `${this.scheme}:${this.path}`;
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  constructor(
    readonly start: Position,
    readonly end: Position,
  ) {}
  get isEmpty(): boolean {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}

export class Selection extends Range {
  constructor(
    readonly anchor: Position,
    readonly active: Position,
  ) {
    super(anchor, active);
  }
}

export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

/** A fake text editor over a document made of lines. */
export function fakeEditor(options: { uri: Uri; lines: string[]; selection: Selection; languageId?: string }): any {
  const { uri, lines, selection } = options;
  return {
    selection,
    document: {
      uri,
      languageId: options.languageId ?? 'plaintext',
      getText(range?: Range): string {
        if (!range) {
          return lines.join('\n');
        }
        const out: string[] = [];
        for (let line = range.start.line; line <= range.end.line; line++) {
          const text = lines[line] ?? '';
          const from = line === range.start.line ? range.start.character : 0;
          const to = line === range.end.line ? range.end.character : text.length;
          out.push(text.slice(from, to));
        }
        return out.join('\n');
      },
    },
  };
}

export class FakeWebview {
  html = '';
  readonly cspSource = 'vscode-webview://fake';
  readonly posted: any[] = [];
  private readonly received = new EventEmitter<unknown>();
  onDidReceiveMessage = this.received.event;
  postMessage(message: unknown): Promise<boolean> {
    this.posted.push(message);
    return Promise.resolve(true);
  }
  /** Simulates the page posting a message to the extension. */
  sendFromPage(message: unknown): void {
    this.received.fire(message);
  }
}

export class FakeWebviewPanel {
  readonly webview = new FakeWebview();
  revealed = 0;
  disposed = false;
  visible = true;
  private readonly disposeEmitter = new EventEmitter<void>();
  onDidDispose = this.disposeEmitter.event;
  constructor(
    readonly viewType: string,
    public title: string,
    readonly options: any,
  ) {}
  reveal(): void {
    this.revealed += 1;
  }
  dispose(): void {
    if (!this.disposed) {
      this.disposed = true;
      this.disposeEmitter.fire();
    }
  }
}

export class FakeSecretStorage {
  readonly values = new Map<string, string>();
  private readonly changes = new EventEmitter<{ key: string }>();
  onDidChange = this.changes.event;
  async get(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }
  async store(key: string, value: string): Promise<void> {
    this.values.set(key, value);
    this.changes.fire({ key });
  }
  async delete(key: string): Promise<void> {
    this.values.delete(key);
    this.changes.fire({ key });
  }
}

interface StubState {
  settings: Record<string, unknown>;
  commands: Map<string, (...args: any[]) => unknown>;
  executed: { command: string; args: unknown[] }[];
  inputBoxAnswers: (string | undefined)[];
  inputBoxOptions: any[];
  messages: { level: 'error' | 'warning' | 'info'; text: string }[];
  panels: FakeWebviewPanel[];
  outputLines: string[];
  activeTextEditor: any;
  workspaceFolders: { uri: Uri }[] | undefined;
  configurationChanged: EventEmitter<{ affectsConfiguration(section: string): boolean }>;
}

function freshState(): StubState {
  return {
    settings: {},
    commands: new Map(),
    executed: [],
    inputBoxAnswers: [],
    inputBoxOptions: [],
    messages: [],
    panels: [],
    outputLines: [],
    activeTextEditor: undefined,
    workspaceFolders: undefined,
    configurationChanged: new EventEmitter(),
  };
}

export const stubState: StubState = freshState();

export function resetVscodeStub(): void {
  Object.assign(stubState, freshState());
}

/** Fires onDidChangeConfiguration for the given full setting names (e.g. "aletheia.pythonPath"). */
export function changeSettings(changes: Record<string, unknown>): void {
  Object.assign(stubState.settings, changes);
  const names = Object.keys(changes);
  stubState.configurationChanged.fire({
    affectsConfiguration: (section: string) => names.some((name) => name === section || name.startsWith(`${section}.`)),
  });
}

export const commands = {
  registerCommand(id: string, handler: (...args: any[]) => unknown): Disposable {
    if (stubState.commands.has(id)) {
      throw new Error(`command '${id}' already exists`);
    }
    stubState.commands.set(id, handler);
    return new Disposable(() => stubState.commands.delete(id));
  },
  async executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
    stubState.executed.push({ command: id, args });
    const handler = stubState.commands.get(id);
    return handler ? handler(...args) : undefined;
  },
};

function message(level: 'error' | 'warning' | 'info') {
  return (text: string): Promise<string | undefined> => {
    stubState.messages.push({ level, text });
    return Promise.resolve(undefined);
  };
}

export const window = {
  get activeTextEditor(): any {
    return stubState.activeTextEditor;
  },
  showInputBox(options: any): Promise<string | undefined> {
    stubState.inputBoxOptions.push(options);
    return Promise.resolve(stubState.inputBoxAnswers.shift());
  },
  showErrorMessage: message('error'),
  showWarningMessage: message('warning'),
  showInformationMessage: message('info'),
  createOutputChannel(name: string): any {
    return {
      name,
      appendLine: (line: string) => stubState.outputLines.push(line),
      append: (text: string) => stubState.outputLines.push(text),
      show: () => undefined,
      dispose: () => undefined,
    };
  },
  createWebviewPanel(viewType: string, title: string, _column: unknown, options: any): FakeWebviewPanel {
    const panel = new FakeWebviewPanel(viewType, title, options);
    stubState.panels.push(panel);
    return panel;
  },
  async withProgress<R>(_options: unknown, task: (progress: any, token: any) => Promise<R>): Promise<R> {
    const source = new CancellationTokenSource();
    return task({ report: () => undefined }, source.token);
  },
};

export const workspace = {
  getConfiguration(section?: string): any {
    const prefix = section ? `${section}.` : '';
    return {
      get<T>(key: string, defaultValue?: T): T | undefined {
        const value = stubState.settings[`${prefix}${key}`];
        return (value === undefined ? defaultValue : value) as T | undefined;
      },
    };
  },
  get workspaceFolders(): { uri: Uri }[] | undefined {
    return stubState.workspaceFolders;
  },
  onDidChangeConfiguration: (listener: (event: any) => void) => stubState.configurationChanged.event(listener),
};
