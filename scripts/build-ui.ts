// Builds the control page (ui/) into dist/control-ui/: one minified ES module and one stylesheet with
// content hashes in their names, and index.html pointing at them. Everything the page needs is in that
// folder; the Gateway serves it as is (lib/gateway/control-ui.ts). Prints raw and gzip sizes.
//   node --import tsx scripts/build-ui.ts [--out DIR]
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outFlag = process.argv.indexOf('--out');
const outDir = outFlag > 0 ? path.resolve(process.argv[outFlag + 1]!) : path.join(root, 'dist', 'control-ui');
const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

const hashName = (base: string, ext: string, body: Uint8Array): string =>
  `${base}-${crypto.createHash('sha256').update(body).digest('hex').slice(0, 12)}${ext}`;

const result = await build({
  entryPoints: [path.join(root, 'ui', 'src', 'main.tsx')],
  bundle: true,
  format: 'esm',
  target: ['chrome109', 'firefox115', 'safari16'],
  minify: true,
  write: false,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  define: { __CONTROL_UI_VERSION__: JSON.stringify(version), 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
const script = result.outputFiles[0]!.contents;
const styles = fs.readFileSync(path.join(root, 'ui', 'styles.css'));
const cssResult = await build({
  stdin: { contents: styles.toString('utf8'), loader: 'css' },
  minify: true,
  write: false,
  logLevel: 'warning',
});
const css = cssResult.outputFiles[0]!.contents;

const scriptName = hashName('app', '.js', script);
const stylesName = hashName('app', '.css', css);
const html = fs
  .readFileSync(path.join(root, 'ui', 'index.html'), 'utf8')
  .replace('%SCRIPT%', scriptName)
  .replace('%STYLES%', stylesName);

// Replace the folder as a whole so no stale hashed asset is left behind (and served).
fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(path.join(outDir, 'assets'), { recursive: true });
fs.writeFileSync(path.join(outDir, 'index.html'), html);
fs.writeFileSync(path.join(outDir, 'assets', scriptName), script);
fs.writeFileSync(path.join(outDir, 'assets', stylesName), css);

const files: Array<[string, Uint8Array]> = [
  ['index.html', Buffer.from(html)],
  [`assets/${scriptName}`, script],
  [`assets/${stylesName}`, css],
];
let raw = 0;
let gz = 0;
for (const [name, body] of files) {
  const g = zlib.gzipSync(body, { level: 9 }).length;
  raw += body.length;
  gz += g;
  process.stdout.write(`control-ui: ${name.padEnd(28)} ${String(body.length).padStart(7)} B, gzip ${g} B\n`);
}
process.stdout.write(
  `control-ui: ${files.length} files, ${raw} B, gzip ${gz} B -> ${path.relative(process.cwd(), outDir) || '.'}\n`,
);
