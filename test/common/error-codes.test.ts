// The ERR_* catalogue (lib/common/error-codes.ts) against the sources: every code in lib/ and native/ is
// catalogued, every catalogued code is still raised, and docs/errors.md is what the script generates.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { BRIDGE_ERROR_CODES } from '../../lib/bridge/protocol.js';
import { BRIDGE_ENVELOPE_CODES, ERROR_CODES, FOREIGN_CODES } from '../../lib/common/error-codes.js';
import { ERRORS_DOC_PATH, renderErrorsDoc } from '../../scripts/errors-table.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CATALOGUE_FILE = path.join('lib', 'common', 'error-codes.ts');

function sourceFiles(dir: string, extensions: readonly string[]): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(rel, extensions);
    return extensions.some((ext) => entry.name.endsWith(ext)) && rel !== CATALOGUE_FILE ? [rel] : [];
  });
}

interface Occurrence {
  code: string;
  where: string;
}

// Any ERR_ token (also unquoted keys such as the CLI's exit-code map, and comments); prefixes such as
// `ERR_BRIDGE_${…}` end in `_` and are not tokens. Quoted ones are literals: a raise or a comparison.
const TOKEN = /\bERR_[A-Z0-9_]*[A-Z0-9]\b/g;
const LITERAL = /(['"`])(ERR_[A-Z0-9_]*[A-Z0-9])\1/g;

function scan(): { tokens: Occurrence[]; literals: Set<string> } {
  const files = [...sourceFiles('lib', ['.ts']), ...sourceFiles('native', ['.cc', '.mm', '.h'])];
  const tokens: Occurrence[] = [];
  const literals = new Set<string>();
  for (const file of files) {
    const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const m of line.matchAll(TOKEN)) tokens.push({ code: m[0], where: `${file}:${i + 1}` });
      for (const m of line.matchAll(LITERAL)) literals.add(m[2]!);
    });
  }
  return { tokens, literals };
}

const screamingSnake = (code: string): string => code.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
const derivedBridgeCodes = new Set(BRIDGE_ERROR_CODES.map((wire) => `ERR_BRIDGE_${screamingSnake(wire)}`));
const { tokens, literals } = scan();

t.test('every ERR_* code in lib/ and native/ is catalogued', async (t) => {
  t.ok(tokens.length > 150, `the scan found the sources (${tokens.length} occurrences)`);
  const known = new Set([...Object.keys(ERROR_CODES), ...derivedBridgeCodes, ...FOREIGN_CODES]);
  const missing = tokens.filter((o) => !known.has(o.code)).map((o) => `${o.code} at ${o.where}`);
  t.same(missing, [], `add these to lib/common/error-codes.ts:\n${missing.join('\n')}`);
});

t.test('every catalogued code is still raised somewhere', async (t) => {
  const dead = [...Object.keys(ERROR_CODES), ...FOREIGN_CODES].filter((code) => !literals.has(code));
  t.same(dead, [], `no string literal in lib/ or native/ carries these any more: ${dead.join(', ')}`);
});

t.test('the bridge envelope table covers exactly the wire codes', async (t) => {
  t.same(Object.keys(BRIDGE_ENVELOPE_CODES).sort(), [...BRIDGE_ERROR_CODES].sort());
});

t.test('every entry says what it means and what to do, in one sentence each', async (t) => {
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    t.ok(entry.classes.length > 0, `${code} names its class`);
    for (const text of [entry.meaning, entry.action])
      t.match(text, /^[A-Z`a-z].*[.!]$/s, `${code}: "${text}" is a sentence`);
  }
});

t.test('docs/errors.md is what the script generates', async (t) => {
  const onDisk = fs.readFileSync(ERRORS_DOC_PATH, 'utf8');
  t.ok(onDisk === renderErrorsDoc(), 'docs/errors.md is stale: run npm run docs:errors');
  for (const code of Object.keys(ERROR_CODES)) t.ok(onDisk.includes(`| \`${code}\` |`), `${code} has a row`);
});
