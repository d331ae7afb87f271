// Tests of the esbuild bundle that goes into the .vsix (built by `npm run build`, which `npm test`
// runs first): it loads, exports activate/deactivate, and needs nothing outside itself but
// `vscode` and Node built-ins, since the .vsix ships no node_modules.

import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as path from 'path';

const bundlePath = path.join(__dirname, '..', '..', 'dist', 'extension.js');

describe('extension bundle', () => {
  it('exists (npm run build)', () => {
    assert.ok(fs.existsSync(bundlePath), `${bundlePath} is missing: run npm run build`);
  });

  it('loads with only vscode and Node built-ins and exports activate/deactivate', () => {
    const probe = path.join(__dirname, 'support', 'bundleProbe.js');
    const output = execFileSync(process.execPath, [probe, bundlePath], { encoding: 'utf8', timeout: 20000 });
    const { exports, loaded } = JSON.parse(output) as { exports: Record<string, string>; loaded: string[] };
    assert.strictEqual(exports.activate, 'function');
    assert.strictEqual(exports.deactivate, 'function');
    const outside = loaded.filter((name) => name !== 'vscode' && !builtinModules.includes(name.replace(/^node:/, '')));
    assert.deepStrictEqual(outside, [], `the bundle requires modules it does not contain: ${outside.join(', ')}`);
  });
});
