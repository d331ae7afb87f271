// Command identifiers: the client-side commands this extension contributes and the server-side
// commands the language server (`python -m lsp`) executes via workspace/executeCommand.
// The two sets must stay disjoint: vscode-languageclient registers every server command id itself,
// so a client command with the same id would collide with it.

export const ClientCommand = {
  ask: 'aletheia.client.ask',
  review: 'aletheia.client.review',
  explainLogError: 'aletheia.client.explainLogError',
  setApiKey: 'aletheia.client.setApiKey',
} as const;

export const ServerCommand = {
  ask: 'aletheia.ask',
  review: 'aletheia.review',
  explainLogError: 'aletheia.explainLogError',
} as const;

export type ClientCommandId = (typeof ClientCommand)[keyof typeof ClientCommand];
export type ServerCommandId = (typeof ServerCommand)[keyof typeof ServerCommand];
