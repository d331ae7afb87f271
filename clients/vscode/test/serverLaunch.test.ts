// Tests for the language server command line and environment (API key placement).

import * as assert from 'assert';
import { buildServerLaunch, describeLaunch, expandVariables } from '../src/serverLaunch';
import { LaunchSettings } from '../src/settings';

const settings: LaunchSettings = { pythonPath: 'python3', serverArgs: [], apiKeyEnv: 'ALETHEIA_API_KEY', problems: [] };
const context = { workspaceFolder: '/work/repo', homeDir: '/home/dev', baseEnv: { PATH: '/usr/bin', UNSET: undefined }, apiKey: undefined };

describe('server launch', () => {
  it('runs <python> -m lsp in the workspace folder', () => {
    const launch = buildServerLaunch(settings, context);
    assert.strictEqual(launch.command, 'python3');
    assert.deepStrictEqual(launch.args, ['-m', 'lsp']);
    assert.strictEqual(launch.cwd, '/work/repo');
    assert.strictEqual(launch.env.PATH, '/usr/bin');
    assert.ok(!('UNSET' in launch.env));
    assert.strictEqual(launch.env.PYTHONUNBUFFERED, '1');
  });

  it('puts the key under the configured env var name and nowhere else', () => {
    const launch = buildServerLaunch({ ...settings, apiKeyEnv: 'TEAM_LLM_KEY' }, { ...context, apiKey: 'sk-secret' });
    assert.strictEqual(launch.env.TEAM_LLM_KEY, 'sk-secret');
    assert.ok(!('ALETHEIA_API_KEY' in launch.env));
    assert.ok(!launch.args.join(' ').includes('sk-secret'));
    assert.ok(!describeLaunch(launch).includes('sk-secret'));
  });

  it('overrides an inherited variable of the same name with the stored key', () => {
    const launch = buildServerLaunch(settings, { ...context, baseEnv: { ALETHEIA_API_KEY: 'old' }, apiKey: 'new' });
    assert.strictEqual(launch.env.ALETHEIA_API_KEY, 'new');
  });

  it('keeps an inherited key when none is stored', () => {
    const launch = buildServerLaunch(settings, { ...context, baseEnv: { ALETHEIA_API_KEY: 'from-shell' }, apiKey: '' });
    assert.strictEqual(launch.env.ALETHEIA_API_KEY, 'from-shell');
  });

  it('appends serverArgs and expands variables', () => {
    const launch = buildServerLaunch(
      { ...settings, pythonPath: '${workspaceFolder}/.venv/bin/python', serverArgs: ['--config', '~/aletheia.toml'] },
      context,
    );
    assert.strictEqual(launch.command, '/work/repo/.venv/bin/python');
    assert.deepStrictEqual(launch.args, ['-m', 'lsp', '--config', '/home/dev/aletheia.toml']);
  });

  it('expands ~ and ${userHome}, and leaves ${workspaceFolder} alone without a folder', () => {
    const noFolder = { workspaceFolder: undefined, homeDir: '/h' };
    assert.strictEqual(expandVariables('~', noFolder), '/h');
    assert.strictEqual(expandVariables('${userHome}/py', noFolder), '/h/py');
    assert.strictEqual(expandVariables('a~b', noFolder), 'a~b');
    assert.strictEqual(expandVariables('${workspaceFolder}/py', noFolder), '${workspaceFolder}/py');
  });

  it('describes the command line with quoting', () => {
    const launch = buildServerLaunch({ ...settings, pythonPath: '/opt/my env/python' }, context);
    assert.strictEqual(describeLaunch(launch), '"/opt/my env/python" -m lsp');
  });
});
