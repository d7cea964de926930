#!/usr/bin/env node
// npm install hook: use a prebuilt or already built addon when one loads, else compile it with node-gyp.
// node-gyp downloads Node's headers unless told where they are, which fails offline; when the running
// Node's own headers are installed next to it (<prefix>/include/node, as Debian's nodejs and the official
// tarballs ship them) and match its version, they are used (--nodedir). An explicit npm_config_nodedir wins.
// Flags: --build-from-source (skip the prebuild check), --print (print the node-gyp command, do not run it).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = new Set(process.argv.slice(2));

/** <prefix> of the running Node when <prefix>/include/node/node_version.h is its exact version. */
function localNodedir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  let header;
  try {
    header = fs.readFileSync(path.join(prefix, 'include', 'node', 'node_version.h'), 'utf8');
  } catch {
    return undefined;
  }
  const part = (name) => (new RegExp(`#define ${name} (\\d+)`).exec(header) || [])[1];
  const version = `v${part('NODE_MAJOR_VERSION')}.${part('NODE_MINOR_VERSION')}.${part('NODE_PATCH_VERSION')}`;
  return version === process.version ? prefix : undefined;
}

/** How to run node-gyp: npm's own copy, else ours, else one on PATH. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return [process.execPath, fromNpm];
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] })];
  } catch {
    return ['node-gyp'];
  }
}

function prebuiltLoads() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

if (!args.has('--build-from-source') && !args.has('--print') && prebuiltLoads()) process.exit(0);
const nodedir = process.env.npm_config_nodedir ? undefined : localNodedir();
const [command, ...rest] = nodeGyp();
const gypArgs = [...rest, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
if (args.has('--print')) {
  process.stdout.write(`${JSON.stringify({ command, args: gypArgs, nodedir: nodedir ?? null })}\n`);
  process.exit(0);
}
const result = spawnSync(command, gypArgs, { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
