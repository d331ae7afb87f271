// Which documents are synced to the language server: the config languages it analyses, by language
// id where VS Code (or a popular extension) assigns one, and by file pattern for files that often
// open as plain text (systemd units, nginx configs, Dockerfile variants, logs). Pure data.

export interface DocumentFilter {
  scheme: string;
  language?: string;
  pattern?: string;
}

export const SERVER_LANGUAGE_IDS = [
  'dockerfile',
  'yaml',
  'dockercompose',
  'nginx',
  'ini',
  'systemd-unit-file',
  'log',
  'json',
  'jsonc',
  'toml',
] as const;

export const SERVER_FILE_PATTERNS = [
  '**/{Dockerfile,Containerfile,*.Dockerfile,Dockerfile.*,*.dockerfile}',
  '**/*.{service,socket,timer,mount,target,path}',
  '**/*.{conf,nginx}',
  '**/*.log',
  '**/*.{toml,yaml,yml,json}',
] as const;

export function serverDocumentSelector(): DocumentFilter[] {
  const filters: DocumentFilter[] = [];
  for (const scheme of ['file', 'untitled']) {
    for (const language of SERVER_LANGUAGE_IDS) {
      filters.push({ scheme, language });
    }
  }
  for (const pattern of SERVER_FILE_PATTERNS) {
    filters.push({ scheme: 'file', pattern });
  }
  return filters;
}
