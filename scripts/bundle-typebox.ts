// Replaces tsc's dist/protocol/typebox.js (a re-export of @sinclair/typebox, ~220 ES modules) with one
// bundled file: module loading is most of `up`'s cold start. Run after tsc (npm run build:ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [path.join(repo, 'lib', 'protocol', 'typebox.ts')],
  outfile: path.join(repo, 'dist', 'protocol', 'typebox.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  allowOverwrite: true,
  logLevel: 'warning',
});
