// Tests for reading the launch settings and for the defaults matching package.json.

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  DEFAULT_API_KEY_ENV,
  SETTING_DEFAULTS,
  SettingsReader,
  isValidEnvName,
  needsRestart,
  readLaunchSettings,
} from '../src/settings';

function reader(values: Record<string, unknown>): SettingsReader {
  return { get: <T>(key: string) => values[key] as T | undefined };
}

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));

describe('settings', () => {
  it('uses the defaults when nothing is set', () => {
    assert.deepStrictEqual(readLaunchSettings(reader({})), {
      pythonPath: 'python3',
      serverArgs: [],
      apiKeyEnv: 'ALETHEIA_API_KEY',
      problems: [],
    });
  });

  it('reads configured values', () => {
    const settings = readLaunchSettings(
      reader({ pythonPath: ' /opt/venv/bin/python ', serverArgs: ['--log-level', 'debug'], apiKeyEnv: 'MY_KEY' }),
    );
    assert.strictEqual(settings.pythonPath, '/opt/venv/bin/python');
    assert.deepStrictEqual(settings.serverArgs, ['--log-level', 'debug']);
    assert.strictEqual(settings.apiKeyEnv, 'MY_KEY');
    assert.deepStrictEqual(settings.problems, []);
  });

  it('falls back and reports a problem for an invalid env var name', () => {
    const settings = readLaunchSettings(reader({ apiKeyEnv: 'sk-live-123 secret' }));
    assert.strictEqual(settings.apiKeyEnv, DEFAULT_API_KEY_ENV);
    assert.strictEqual(settings.problems.length, 1);
    assert.match(settings.problems[0], /apiKeyEnv/);
  });

  it('ignores malformed serverArgs and pythonPath', () => {
    const settings = readLaunchSettings(reader({ serverArgs: ['ok', 3], pythonPath: 42 }));
    assert.deepStrictEqual(settings.serverArgs, []);
    assert.strictEqual(settings.pythonPath, 'python3');
    assert.strictEqual(settings.problems.length, 2);
  });

  it('validates environment variable names', () => {
    assert.ok(isValidEnvName('ALETHEIA_API_KEY'));
    assert.ok(isValidEnvName('_x1'));
    assert.ok(!isValidEnvName('1ABC'));
    assert.ok(!isValidEnvName('A-B'));
    assert.ok(!isValidEnvName(''));
  });

  it('restarts only for process settings', () => {
    assert.ok(needsRestart((s) => s === 'aletheia.pythonPath'));
    assert.ok(needsRestart((s) => s === 'aletheia.apiKeyEnv'));
    assert.ok(needsRestart((s) => s === 'aletheia.serverArgs'));
    assert.ok(!needsRestart((s) => s === 'aletheia.model'));
    assert.ok(!needsRestart(() => false));
  });

  it('package.json declares every setting with the same default', () => {
    const properties = manifest.contributes.configuration.properties as Record<string, { default: unknown }>;
    const declared = Object.keys(properties).sort();
    const expected = Object.keys(SETTING_DEFAULTS)
      .map((key) => `aletheia.${key}`)
      .sort();
    assert.deepStrictEqual(declared, expected);
    for (const [key, value] of Object.entries(SETTING_DEFAULTS)) {
      assert.deepStrictEqual(properties[`aletheia.${key}`].default, value, `default of aletheia.${key}`);
    }
  });
});
