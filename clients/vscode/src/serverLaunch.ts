// Builds the command line and environment of the language server process
// (`<pythonPath> -m lsp <serverArgs...>`), with the API key from secret storage placed in the
// environment variable named by `aletheia.apiKeyEnv`. Pure, so it is unit-tested directly.

import { LaunchSettings } from './settings';

export interface ServerLaunch {
  command: string;
  args: string[];
  cwd: string | undefined;
  env: Record<string, string>;
}

export interface LaunchContext {
  /** First workspace folder's file-system path, if a folder is open. */
  workspaceFolder: string | undefined;
  homeDir: string;
  /** The environment the extension host runs in. */
  baseEnv: Record<string, string | undefined>;
  /** The key from SecretStorage; undefined or empty when none is set. */
  apiKey: string | undefined;
}

/** Expands `${workspaceFolder}`, `${userHome}` and a leading `~` in a path or argument. */
export function expandVariables(value: string, context: Pick<LaunchContext, 'workspaceFolder' | 'homeDir'>): string {
  let expanded = value;
  if (expanded === '~' || expanded.startsWith('~/')) {
    expanded = context.homeDir + expanded.slice(1);
  }
  expanded = expanded.replace(/\$\{userHome\}/g, context.homeDir);
  if (context.workspaceFolder !== undefined) {
    expanded = expanded.replace(/\$\{workspaceFolder\}/g, context.workspaceFolder);
  }
  return expanded;
}

export function buildServerLaunch(settings: LaunchSettings, context: LaunchContext): ServerLaunch {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(context.baseEnv)) {
    if (value !== undefined) {
      env[name] = value;
    }
  }
  if (context.apiKey !== undefined && context.apiKey !== '') {
    env[settings.apiKeyEnv] = context.apiKey;
  }
  // Python must not buffer the stdio that carries the LSP stream.
  env.PYTHONUNBUFFERED = '1';
  return {
    command: expandVariables(settings.pythonPath, context),
    args: ['-m', 'lsp', ...settings.serverArgs.map((arg) => expandVariables(arg, context))],
    cwd: context.workspaceFolder,
    env,
  };
}

/** The command line as one readable string for logs: never includes the environment. */
export function describeLaunch(launch: ServerLaunch): string {
  const quote = (part: string) => (/[\s"']/.test(part) ? JSON.stringify(part) : part);
  return [launch.command, ...launch.args].map(quote).join(' ');
}
