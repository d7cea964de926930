// Import boundaries a linter holds: fails on any import cycle among the package's modules and on any import
// that breaks the layering documented in the README ("Layers"). Run by `npm run lint`; tested by
// test/scripts/check-imports.test.ts. Usage: check-imports.ts [root] (default: lib/ of this checkout).
//
// Every import counts, `import type` included: a type-only edge is erased at run time, but it still ties a
// lower layer to a higher one, and a cycle of types is a cycle a reader has to hold in their head.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Layers, lowest first. A module may import its own layer's folder and any lower layer, never a higher one. */
export const LAYERS: readonly (readonly string[])[] = [
  ['common'],
  ['native'],
  ['protocol'],
  ['exec-host', 'bridge', 'client', 'service', 'node-host', 'gateway', 'doctor'],
  ['cli'],
];

/**
 * Role-to-role imports that hold (importer → the roles it may import); any other import between two roles
 * is a layering break. The roles form a DAG: the exec host, bridge and client stand alone; the Gateway uses
 * the exec host's allowlist model and audit log; the node host reaches the exec host through its client
 * and the Gateway through the Gateway client; the service manager inspects every role's sockets, locks and
 * files; the doctor checks through the service manager, dials the Gateway with the client and reads the node
 * host's node.json. No role imports the Gateway but the service manager.
 */
export const ROLE_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  'exec-host': [],
  bridge: [],
  client: [],
  gateway: ['exec-host'],
  'node-host': ['exec-host', 'client'],
  service: ['exec-host', 'bridge', 'client', 'gateway'],
  doctor: ['exec-host', 'client', 'node-host', 'service'],
};

export interface ImportProblem {
  kind: 'cycle' | 'layer';
  message: string;
}

function listSources(root: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory()) out.push(...listSources(full));
    else if (/\.(ts|tsx|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out.sort();
}

/** Relative specifiers of every static import/export-from and literal dynamic import() in a file. */
function importSpecifiers(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const specs: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) specs.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      specs.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specs.filter((s) => s.startsWith('.'));
}

function resolveSpecifier(from: string, spec: string, known: Set<string>): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  const stem = base.replace(/\.(js|mjs|ts|tsx|mts)$/, '');
  for (const candidate of [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, path.join(base, 'index.ts')]) {
    if (known.has(candidate)) return candidate;
  }
  return undefined;
}

export function buildImportGraph(root: string): Map<string, string[]> {
  const files = listSources(root);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = importSpecifiers(file)
      .map((spec) => resolveSpecifier(file, spec, known))
      .filter((t): t is string => t !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Strongly connected components with more than one module (or a self-import): Tarjan, iterative. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const edges = graph.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const to = edges[frame.next++];
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = (graph.get(frame.node) ?? []).includes(frame.node);
        if (component.length > 1 || selfLoop) cycles.push(component.sort());
      }
    }
  }
  return cycles;
}

/** The top folder of a module under root ('' for root-level files such as index.ts, which may import all). */
function folderOf(root: string, file: string): string {
  const rel = path.relative(root, file).split(path.sep);
  return rel.length > 1 ? rel[0] : '';
}

function layerOf(folder: string): number {
  return LAYERS.findIndex((layer) => layer.includes(folder));
}

export function layeringProblems(root: string, graph: Map<string, string[]>): ImportProblem[] {
  const problems: ImportProblem[] = [];
  for (const [from, targets] of graph) {
    const fromFolder = folderOf(root, from);
    if (fromFolder === '') continue;
    const fromLayer = layerOf(fromFolder);
    for (const to of targets) {
      const toFolder = folderOf(root, to);
      if (toFolder === fromFolder) continue;
      const rel = `${path.relative(root, from)} → ${path.relative(root, to)}`;
      const toLayer = layerOf(toFolder);
      if (fromLayer < 0 || toLayer < 0) {
        problems.push({ kind: 'layer', message: `${rel}: folder not in any layer (scripts/check-imports.ts)` });
      } else if (toFolder === '' || toLayer > fromLayer) {
        problems.push({ kind: 'layer', message: `${rel}: ${fromFolder} may not import ${toFolder || 'the root'}` });
      } else if (toLayer === fromLayer && !(ROLE_IMPORTS[fromFolder] ?? []).includes(toFolder)) {
        problems.push({ kind: 'layer', message: `${rel}: role ${fromFolder} may not import role ${toFolder}` });
      }
    }
  }
  return problems;
}

export function checkImports(root: string): ImportProblem[] {
  const graph = buildImportGraph(root);
  const cycles = findCycles(graph).map((members) => ({
    kind: 'cycle' as const,
    message: `import cycle: ${members.map((m) => path.relative(root, m)).join(' ↔ ')}`,
  }));
  return [...cycles, ...layeringProblems(root, graph)];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'lib'));
  const problems = checkImports(root);
  for (const problem of problems) console.error(`check-imports: ${problem.message}`);
  if (problems.length > 0) process.exit(1);
  console.log(`check-imports: ${buildImportGraph(root).size} modules, no cycles, layering holds`);
}
