// Counts hand-written shape checks in lib/: functions with a parameter typed `unknown` (or
// `Record<string, unknown>`) whose body inspects it with `typeof` or `Array.isArray`. A TypeBox schema
// compiled by TypeCompiler is not counted. Usage: count-validators.ts [--list] [root]
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const list = process.argv.includes('--list');
const root = path.resolve(process.argv.filter((a) => !a.startsWith('--'))[2] ?? 'lib');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? files(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

let count = 0;
for (const file of files(root).sort()) {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const untyped = node.parameters.some(
        (p) => p.type && /^(unknown|Record<string, unknown>)$/.test(p.type.getText()),
      );
      const text = node.body.getText();
      if (untyped && /\btypeof\b|Array\.isArray/.test(text)) {
        count++;
        if (list) {
          const name = node.name?.getText() ?? '(anonymous)';
          const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
          console.log(`${path.relative(process.cwd(), file)}:${line} ${name}`);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
console.log(`hand-written validators: ${count}`);
