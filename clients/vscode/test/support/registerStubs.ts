// Loaded by mocha before any test (see .mocharc.json): makes `require('vscode')` and
// `require('vscode-languageclient/node')` resolve to the in-memory stubs beside this file.

import Module = require('module');
import * as path from 'path';

const redirects: Record<string, string> = {
  vscode: path.join(__dirname, 'vscodeStub.js'),
  'vscode-languageclient/node': path.join(__dirname, 'languageClientStub.js'),
};

type Resolve = (request: string, ...rest: unknown[]) => string;
const moduleWithResolve = Module as unknown as { _resolveFilename: Resolve };
const originalResolve = moduleWithResolve._resolveFilename;

moduleWithResolve._resolveFilename = function (request: string, ...rest: unknown[]): string {
  const redirect = redirects[request];
  return originalResolve.call(this, redirect ?? request, ...rest);
};
