// Run after tsc (npm run build:ts). Module loading is most of a CLI cold start (each ES module file is
// resolved, read and compiled on its own), so:
// - dist/cli/main.js and dist/cli/mac.js (the bins) are replaced by esbuild bundles of lib/cli/*.ts with
//   their dependencies (ws, TypeBox, ciao, …). Code splitting keeps every subcommand's `import()` lazy:
//   `up` loads its shared chunks, not `doctor`'s. The chunks sit next to the bins (dist/cli/chunk-*.js), so
//   `new URL('../../package.json', import.meta.url)` and the addon lookup resolve as from tsc's output.
// - dist/protocol/typebox.js (the library's re-export of @sinclair/typebox, ~220 ES modules) becomes one file.
// The rest of dist/ stays tsc's output: the package's library exports and their .d.ts files.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliOut = path.join(repo, 'dist', 'cli');

await build({
  entryPoints: [path.join(repo, 'lib', 'protocol', 'typebox.ts')],
  outfile: path.join(repo, 'dist', 'protocol', 'typebox.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  allowOverwrite: true,
  logLevel: 'warning',
  metafile: true,
});

// Chunks of an earlier build would pile up (their names are content hashes).
for (const name of fs.readdirSync(cliOut)) if (/^chunk-.*\.js(\.map)?$/.test(name)) fs.rmSync(path.join(cliOut, name));
const cli = await build({
  entryPoints: [path.join(repo, 'lib', 'cli', 'main.ts'), path.join(repo, 'lib', 'cli', 'mac.ts')],
  outdir: cliOut,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Identifiers keep their names (error classes, stack traces); whitespace and syntax are what parsing pays for.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  allowOverwrite: true,
  // The addon loader (resolved at run time against the package root) and ws's optional native helpers.
  // ciao finds its interfaces through files resolved next to its own module; bundled, it advertises nothing.
  external: ['node-gyp-build', 'bufferutil', 'utf-8-validate', '@homebridge/ciao'],
  // Bundled CommonJS dependencies (ws, json5, ciao) call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
  logLevel: 'warning',
  metafile: true,
});
// What each chunk holds (inputs and bytes), for finding what a cold start loads: esbuild's metafile format.
if (process.env.BUNDLE_METAFILE) fs.writeFileSync(process.env.BUNDLE_METAFILE, JSON.stringify(cli.metafile));
