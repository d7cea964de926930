// The import checker run by `npm run lint` (scripts/check-imports.ts): it passes on this checkout's lib/, and
// fails on a tree with an import cycle (value or type-only) and on imports that break the layering.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { checkImports } from '../../scripts/check-imports.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = path.join(repo, 'scripts', 'check-imports.ts');

function run(root?: string): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync(process.execPath, ['--import', 'tsx', script, ...(root ? [root] : [])], {
    cwd: repo,
    encoding: 'utf8',
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

t.test('lib/ of this checkout has no cycles and keeps its layers', async (t) => {
  const out = run();
  t.equal(out.status, 0, out.stderr);
  t.match(out.stdout, /no cycles, layering holds/);
});

t.test('a clean layered tree passes', async (t) => {
  const root = t.testdir({
    common: { 'a.ts': 'export const a = 1;\n' },
    native: { 'n.ts': "import { a } from '../common/a.js';\nexport const n = a;\n" },
    gateway: {
      'g.ts': "import { n } from '../native/n.js';\nimport { e } from '../exec-host/e.js';\nexport const g = n + e;\n",
    },
    'exec-host': { 'e.ts': 'export const e = 2;\n' },
    cli: { commands: { 'c.ts': "export async function c() { return import('../../gateway/g.js'); }\n" } },
  });
  t.same(checkImports(root), []);
  t.equal(run(root).status, 0);
});

t.test('a cycle fails, whether the edges are values, types or re-exports', async (t) => {
  const root = t.testdir({
    gateway: {
      'a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'b.ts': "import type { C } from './c.js';\nexport const b: C | undefined = undefined;\n",
      'c.ts': "export type C = number;\nexport { a } from './a.js';\n",
      'self.ts': "import * as me from './self.js';\nexport const x = me;\n",
    },
  });
  const problems = checkImports(root);
  t.same(
    problems.map((p) => p.message),
    ['import cycle: gateway/a.ts ↔ gateway/b.ts ↔ gateway/c.ts', 'import cycle: gateway/self.ts'],
  );
  const out = run(root);
  t.equal(out.status, 1);
  t.match(out.stderr, /import cycle: gateway\/a\.ts ↔ gateway\/b\.ts ↔ gateway\/c\.ts/);
});

t.test('layering breaks fail: downward, role to role, into cli, unknown folders', async (t) => {
  const root = t.testdir({
    common: { 'a.ts': "import { n } from '../native/n.js';\nexport const a = n;\n" },
    native: { 'n.ts': 'export const n = 1;\n' },
    client: {
      'c.ts': "import { g } from '../gateway/g.js';\nimport { x } from '../cli/x.js';\nexport const c = g + x;\n",
    },
    gateway: { 'g.ts': 'export const g = 1;\n' },
    cli: { 'x.ts': 'export const x = 1;\n' },
    stray: { 's.ts': "import { a } from '../common/a.js';\nexport const s = a;\n" },
  });
  const messages = checkImports(root).map((p) => p.message);
  t.same(messages.sort(), [
    'client/c.ts → cli/x.ts: client may not import cli',
    'client/c.ts → gateway/g.ts: role client may not import role gateway',
    'common/a.ts → native/n.ts: common may not import native',
    'stray/s.ts → common/a.ts: folder not in any layer (scripts/check-imports.ts)',
  ]);
  const out = run(root);
  t.equal(out.status, 1);
  t.match(out.stderr, /common may not import native/);
});
