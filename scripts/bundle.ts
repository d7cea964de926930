// Run after tsc (npm run build:ts). Module loading is most of a CLI cold start (each ES module file is
// resolved, read and compiled on its own), so:
// - dist/cli/main.js and dist/cli/mac.js (the bins) are replaced by esbuild bundles of lib/cli/*.ts with
//   their dependencies (ws, TypeBox, json5, …): see each build below.
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

// Chunks and code caches of an earlier build would pile up or go stale (chunk names are content hashes).
for (const name of fs.readdirSync(cliOut))
  if (/^chunk-.*\.js(\.map)?$|\.v8cache$|\.tmp$/.test(name)) fs.rmSync(path.join(cliOut, name));

// ciao finds its interfaces through files resolved next to its own module; bundled, it advertises nothing.
// The addon loader is resolved at run time against the package root; ws's native helpers are optional.
// The other dependencies (ws, json5, TypeBox, bonjour-service and its DNS packages) read no files of their own.
const external = ['node-gyp-build', 'bufferutil', 'utf-8-validate', '@homebridge/ciao'];
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Identifiers keep their names (error classes, stack traces); whitespace and syntax are what parsing pays for.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  allowOverwrite: true,
  external,
  logLevel: 'warning',
  metafile: true,
} as const;

// openclaw-ipc: one CommonJS file (dist/cli/main.cjs) that dist/cli/main.js runs through a V8 code cache
// (lib/cli/code-cache.ts); Node 20 caches no ES module compiles. Lazy `import()`s become lazy require()s
// (module bodies still run only when their command does), external ones included, so the bundle needs no
// ES module loader. `new URL(…, import.meta.url)` resolves against the bundle, which sits where tsc's
// dist/cli/*.js did.
const cli = await build({
  ...common,
  entryPoints: [path.join(repo, 'lib', 'cli', 'main.ts')],
  outfile: path.join(cliOut, 'main.cjs'),
  format: 'cjs',
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__bundleUrl' },
  // The directive first: a banner goes before esbuild's own "use strict", which then no longer counts, and
  // the code was written for ES modules (strict).
  banner: { js: `"use strict";const __bundleUrl = require('node:url').pathToFileURL(__filename).href;` },
});
shareInteropWrappers(path.join(cliOut, 'main.cjs'));
await build({
  ...common,
  stdin: {
    contents: [
      '#!/usr/bin/env node',
      "import { fileURLToPath } from 'node:url';",
      "import { runBundle } from './code-cache.js';",
      "runBundle(fileURLToPath(new URL('./main.cjs', import.meta.url)));",
    ].join('\n'),
    resolveDir: path.join(repo, 'lib', 'cli'),
    sourcefile: 'main-launcher.ts',
    loader: 'ts',
  },
  outfile: path.join(cliOut, 'main.js'),
  format: 'esm',
  sourcemap: false,
  metafile: false,
});

// openclaw-mac: ES modules, code splitting keeps every subcommand's `import()` lazy. The chunks sit next to
// the bin (dist/cli/chunk-*.js), so relative URLs and the addon lookup resolve as from tsc's output.
await build({
  ...common,
  entryPoints: [path.join(repo, 'lib', 'cli', 'mac.ts')],
  outdir: cliOut,
  chunkNames: 'chunk-[hash]',
  splitting: true,
  format: 'esm',
  // Bundled CommonJS dependencies (ws, json5, ciao) call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
});
/**
 * esbuild's CommonJS output wraps a required module for each module that default-imports it
 * (`__toESM(require("node:fs"))`: a fresh object with a getter per export, ~130 times for fs, path,
 * crypto, os, net…), a few ms of start-up and garbage. The wrapper is a pure view of the module, so one per
 * (module, mode) serves every importer: the helper is memoized in place (same line, so the source map holds).
 */
function shareInteropWrappers(file: string): void {
  const helper = 'var __toESM=(mod,isNodeMode,target)=>';
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes(helper)) {
    process.stderr.write(`bundle: esbuild's __toESM helper not found in ${file}; interop wrappers not shared\n`);
    return;
  }
  const memo =
    'var __toESMShared=new WeakMap,__toESM=(mod,isNodeMode)=>{if(mod==null||typeof mod!="object"&&typeof mod!="function")return __toESMOnce(mod,isNodeMode);' +
    'let m=__toESMShared.get(mod);m||__toESMShared.set(mod,m=[]);return m[isNodeMode?1:0]??=__toESMOnce(mod,isNodeMode)};' +
    'var __toESMOnce=(mod,isNodeMode,target)=>';
  fs.writeFileSync(file, text.replace(helper, memo));
}

// What the bundle holds (inputs and bytes), for finding what a cold start loads: esbuild's metafile format.
if (process.env.BUNDLE_METAFILE) fs.writeFileSync(process.env.BUNDLE_METAFILE, JSON.stringify(cli.metafile));
