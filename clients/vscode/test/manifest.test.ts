// Tests that package.json's contributions agree with the code: command ids, menus, activation.

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { ClientCommand, ServerCommand } from '../src/commandIds';
import { SERVER_LANGUAGE_IDS, serverDocumentSelector } from '../src/documentSelector';

const root = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('package.json manifest', () => {
  const contributed: { command: string; title: string; category: string }[] = manifest.contributes.commands;

  it('contributes exactly the client commands, with their titles', () => {
    const titles = Object.fromEntries(contributed.map((c) => [c.command, `${c.category}: ${c.title}`]));
    assert.deepStrictEqual(titles, {
      [ClientCommand.ask]: 'Aletheia: Ask',
      [ClientCommand.review]: 'Aletheia: Review this file',
      [ClientCommand.explainLogError]: 'Aletheia: Explain this log error',
      [ClientCommand.setApiKey]: 'Aletheia: Set API key',
    });
  });

  it('contributes none of the server command ids', () => {
    const ids = new Set(contributed.map((c) => c.command));
    for (const id of Object.values(ServerCommand)) {
      assert.ok(!ids.has(id), id);
    }
  });

  it('menus only reference contributed commands and the editor context menu has the three actions', () => {
    const ids = new Set(contributed.map((c) => c.command));
    for (const [menu, items] of Object.entries(manifest.contributes.menus as Record<string, { command: string }[]>)) {
      for (const item of items) {
        assert.ok(ids.has(item.command), `${menu} references unknown ${item.command}`);
      }
    }
    const editorContext = manifest.contributes.menus['editor/context'].map((item: { command: string }) => item.command);
    assert.deepStrictEqual(editorContext, [ClientCommand.ask, ClientCommand.review, ClientCommand.explainLogError]);
  });

  it('activates on every server language and every client command', () => {
    const events: string[] = manifest.activationEvents;
    for (const language of SERVER_LANGUAGE_IDS) {
      assert.ok(events.includes(`onLanguage:${language}`), `onLanguage:${language}`);
    }
    for (const id of Object.values(ClientCommand)) {
      assert.ok(events.includes(`onCommand:${id}`), `onCommand:${id}`);
    }
  });

  it('syncs documents of every activation language to the server', () => {
    const languages = new Set(serverDocumentSelector().map((filter) => filter.language).filter(Boolean));
    for (const event of manifest.activationEvents as string[]) {
      if (event.startsWith('onLanguage:')) {
        assert.ok(languages.has(event.slice('onLanguage:'.length)), event);
      }
    }
  });

  it('points main at the esbuild bundle and keeps @types/vscode within engines.vscode', () => {
    assert.strictEqual(manifest.main, './dist/extension.js');
    const engine = manifest.engines.vscode.replace(/^\^/, '');
    const types = manifest.devDependencies['@types/vscode'].replace(/^[\^~]/, '');
    const asNumbers = (v: string) => v.split('.').map(Number);
    const [em, en] = asNumbers(engine);
    const [tm, tn] = asNumbers(types);
    assert.ok(tm < em || (tm === em && tn <= en), `@types/vscode ${types} is newer than engines.vscode ${engine}`);
  });

  it('ships a LICENSE and README for vsce', () => {
    assert.ok(fs.existsSync(path.join(root, 'LICENSE')));
    assert.ok(fs.existsSync(path.join(root, 'README.md')));
  });
});
