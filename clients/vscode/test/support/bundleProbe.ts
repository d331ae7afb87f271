// Run as a child process by bundle.test.ts: loads dist/extension.js with a permissive stand-in for
// `vscode` (every member is a constructible, callable placeholder, enough for the real
// vscode-languageclient's module-level class definitions) and prints what the bundle exports.

import Module = require('module');

function placeholder(name: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  const target = function () {
    return undefined;
  };
  return new Proxy(target, {
    get(t, prop) {
      if (prop === 'prototype') {
        return t.prototype;
      }
      if (prop === 'then') {
        return undefined;
      }
      return placeholder(`${name}.${String(prop)}`);
    },
    construct: () => placeholder(`new ${name}`),
    apply: () => placeholder(`${name}()`),
  });
}

type Load = (request: string, ...rest: unknown[]) => unknown;
const moduleWithLoad = Module as unknown as { _load: Load };
const originalLoad = moduleWithLoad._load;
const loaded: string[] = [];
moduleWithLoad._load = function (request: string, ...rest: unknown[]) {
  loaded.push(request);
  return request === 'vscode' ? placeholder('vscode') : originalLoad.call(this, request, ...rest);
};

const bundle = require(process.argv[2]); // eslint-disable-line @typescript-eslint/no-require-imports
process.stdout.write(
  JSON.stringify({
    exports: Object.fromEntries(Object.entries(bundle).map(([key, value]) => [key, typeof value])),
    loaded: [...new Set(loaded.slice(1))].sort(),
  }),
);
