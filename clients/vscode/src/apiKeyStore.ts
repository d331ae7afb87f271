// The API key for the model server, kept in VS Code's SecretStorage (never in settings).
// "Aletheia: Set API key" prompts with a password input; an empty entry removes the stored key.

import * as vscode from 'vscode';

export const API_KEY_SECRET = 'aletheia.apiKey';

export type ApiKeyPromptResult = 'stored' | 'cleared' | 'unchanged';

export class ApiKeyStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  async get(): Promise<string | undefined> {
    const key = await this.secrets.get(API_KEY_SECRET);
    return key === '' ? undefined : key;
  }

  async set(key: string): Promise<void> {
    await this.secrets.store(API_KEY_SECRET, key);
  }

  async clear(): Promise<void> {
    await this.secrets.delete(API_KEY_SECRET);
  }

  /** Asks for the key in a password box; Escape leaves the stored key as it is. */
  async promptAndStore(apiKeyEnv: string): Promise<ApiKeyPromptResult> {
    const entered = await vscode.window.showInputBox({
      title: 'Aletheia: Set API key',
      prompt: `API key for the Aletheia model server. It is stored in VS Code's secret storage and passed to the language server as $${apiKeyEnv}. Leave empty to remove the stored key.`,
      password: true,
      ignoreFocusOut: true,
      placeHolder: 'API key',
    });
    if (entered === undefined) {
      return 'unchanged';
    }
    const key = entered.trim();
    if (key === '') {
      await this.clear();
      return 'cleared';
    }
    await this.set(key);
    return 'stored';
  }
}
