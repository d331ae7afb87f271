// The `aletheia.*` settings: their defaults (kept equal to package.json's contributes.configuration,
// which a unit test checks) and the validated subset the extension itself needs to start the
// language server. The server reads the rest through workspace/configuration.

export const SETTINGS_SECTION = 'aletheia';
export const DEFAULT_API_KEY_ENV = 'ALETHEIA_API_KEY';

/** Every setting under `aletheia.` with its default value. */
export const SETTING_DEFAULTS = {
  endpoint: 'http://127.0.0.1:8000/v1',
  model: 'aletheia',
  apiKeyEnv: DEFAULT_API_KEY_ENV,
  requestTimeout: 120,
  maxTokens: 512,
  'diagnostics.enabled': true,
  'diagnostics.debounceMs': 300,
  'logAnalysis.enabled': true,
  'ask.enabled': true,
  pythonPath: 'python3',
  serverArgs: [] as string[],
} as const;

/** Settings that change how the server process is started; a change to them restarts it. */
export const PROCESS_SETTINGS = ['pythonPath', 'serverArgs', 'apiKeyEnv'] as const;

/** The part of vscode.WorkspaceConfiguration this module reads. */
export interface SettingsReader {
  get<T>(key: string): T | undefined;
}

export interface LaunchSettings {
  pythonPath: string;
  serverArgs: string[];
  apiKeyEnv: string;
  /** Human-readable problems found while reading; the extension shows them as warnings. */
  problems: string[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isValidEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

/** Reads and validates the launch settings, falling back to defaults for unusable values. */
export function readLaunchSettings(reader: SettingsReader): LaunchSettings {
  const problems: string[] = [];

  let pythonPath = reader.get<unknown>('pythonPath');
  if (typeof pythonPath !== 'string' || pythonPath.trim() === '') {
    if (pythonPath !== undefined && pythonPath !== '') {
      problems.push(`aletheia.pythonPath must be a non-empty string; using "${SETTING_DEFAULTS.pythonPath}".`);
    }
    pythonPath = SETTING_DEFAULTS.pythonPath;
  }

  const rawArgs = reader.get<unknown>('serverArgs');
  let serverArgs: string[] = [];
  if (Array.isArray(rawArgs) && rawArgs.every((arg) => typeof arg === 'string')) {
    serverArgs = rawArgs as string[];
  } else if (rawArgs !== undefined) {
    problems.push('aletheia.serverArgs must be an array of strings; ignoring it.');
  }

  let apiKeyEnv = reader.get<unknown>('apiKeyEnv');
  if (typeof apiKeyEnv !== 'string' || apiKeyEnv === '') {
    apiKeyEnv = DEFAULT_API_KEY_ENV;
  } else if (!isValidEnvName(apiKeyEnv)) {
    problems.push(
      `aletheia.apiKeyEnv "${apiKeyEnv}" is not an environment variable name; using ${DEFAULT_API_KEY_ENV}.`,
    );
    apiKeyEnv = DEFAULT_API_KEY_ENV;
  }

  return { pythonPath: (pythonPath as string).trim(), serverArgs, apiKeyEnv: apiKeyEnv as string, problems };
}

/** True when a configuration change touches a setting that needs the server restarted. */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return PROCESS_SETTINGS.some((key) => affects(`${SETTINGS_SECTION}.${key}`));
}
