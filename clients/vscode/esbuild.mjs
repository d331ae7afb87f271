// Bundles the extension into dist/extension.js (CommonJS, Node) with the vscode module external;
// minified, with a source map beside it that .vscodeignore keeps out of the .vsix.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'dist/extension.js',
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  external: ['vscode'],
  sourcemap: true,
  minify: true,
  logLevel: 'info',
});
