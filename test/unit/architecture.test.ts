/**
 * Enforces DESIGN.md's module map on the real sources (in the spirit of go-containerregistry's
 * depcheck): which module may import which, no cycles between modules or files, and only
 * src/cli touches `process` and `console`. The checker is tested on synthetic input first, so a
 * green result on src/ means something.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** Modules each module may import (besides itself). `index` is src/index.ts. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  image: [],
  layers: ['image'],
  engine: ['image', 'layers'],
  registry: ['image', 'layers', 'engine'],
  build: ['image', 'layers', 'engine'],
  init: ['image', 'build'],
  cli: ['image', 'layers', 'engine', 'registry', 'build', 'init', 'index'],
  index: ['image', 'layers', 'engine', 'registry', 'build', 'init'],
};

/** Modules allowed to use the process and console globals (I/O belongs to the CLI). */
const PROCESS_ALLOWED = new Set(['cli']);

/** One import found in a file. */
interface ImportEdge {
  readonly specifier: string;
  /** `import type` / `export type` / all-`type` specifiers, or `import('x').T` in a type: erased at run time. */
  readonly typeOnly: boolean;
  /** `import('x')` expression: loaded lazily, so it cannot create a load-order cycle. */
  readonly dynamic: boolean;
  readonly line: number;
}

/** What a file does that the rules care about. */
interface FileFacts {
  readonly imports: ImportEdge[];
  /** Lines where `process`/`console` is used (comments and strings do not count). */
  readonly globals: Array<{ name: string; line: number }>;
}

const GLOBALS = new Set(['process', 'console']);
const GLOBAL_MODULES = new Set(['process', 'node:process', 'console', 'node:console']);

/** Parses one source file with the TypeScript parser (no type checking). */
function factsOf(fileName: string, text: string): FileFacts {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const imports: ImportEdge[] = [];
  const globals: Array<{ name: string; line: number }> = [];
  const lineOf = (node: ts.Node): number => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allTypeSpecifiers =
        clause !== undefined && clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      imports.push({ specifier: node.moduleSpecifier.text, typeOnly: (clause?.isTypeOnly ?? false) || allTypeSpecifiers, dynamic: false, line: lineOf(node) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const allTypeSpecifiers = clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
      imports.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly || allTypeSpecifiers, dynamic: false, line: lineOf(node) });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) imports.push({ specifier: arg.text, typeOnly: false, dynamic: true, line: lineOf(node) });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      imports.push({ specifier: node.argument.literal.text, typeOnly: true, dynamic: false, line: lineOf(node) });
    } else if (ts.isIdentifier(node) && GLOBALS.has(node.text) && isGlobalReference(node)) {
      globals.push({ name: node.text, line: lineOf(node) });
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'globalThis' && GLOBALS.has(node.name.text)) {
      globals.push({ name: node.name.text, line: lineOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  for (const imp of imports) {
    if (GLOBAL_MODULES.has(imp.specifier)) globals.push({ name: imp.specifier, line: imp.line });
  }
  return { imports, globals };
}

/** True when the identifier is a use of the global (not `x.process`, `{ process: 1 }`, or a declaration's name). */
function isGlobalReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if (ts.isQualifiedName(p) && p.right === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isPropertySignature(p) || ts.isPropertyDeclaration(p) || ts.isMethodDeclaration(p) || ts.isMethodSignature(p)) && p.name === id) return false;
  if ((ts.isParameter(p) || ts.isVariableDeclaration(p) || ts.isBindingElement(p) || ts.isFunctionDeclaration(p)) && p.name === id) return false;
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p) || ts.isImportClause(p) || ts.isNamespaceImport(p)) return false;
  if (ts.isShorthandPropertyAssignment(p)) return true;
  return true;
}

/** The module of a path relative to src/: its first directory, or `index` for src/index.ts. */
function moduleOf(rel: string): string {
  const [first, ...rest] = rel.split('/');
  if (rest.length === 0) return rel === 'index.ts' ? 'index' : `(top-level file ${rel})`;
  return first ?? '';
}

/** Resolves a relative specifier of `from` (paths relative to src/) to a file in `files`. */
function resolveSpecifier(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = join(dirname(from), specifier).replace(/\\/g, '/');
  const stem = base.replace(/\.(js|mjs|cjs|ts)$/, '');
  for (const candidate of [`${stem}.ts`, `${stem}.d.ts`, `${stem}.mts`, `${stem}/index.ts`, base]) {
    if (files.has(candidate)) return candidate;
  }
  return undefined;
}

/** Finds cycles in a directed graph (each reported once, as a path that returns to its start). */
function findCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const seen = new Set<string>();
  const dfs = (node: string): void => {
    state.set(node, 'active');
    stack.push(node);
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (state.get(next) === 'active') {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        const key = [...cycle.slice(0, -1)].sort().join('|');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (!state.has(next)) {
        dfs(next);
      }
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) dfs(node);
  return cycles;
}

/**
 * Checks a set of sources (path relative to src/ → text) against the rules; returns one
 * readable line per violation, empty when all is well.
 */
export function checkArchitecture(sources: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const files = new Set(sources.keys());
  const fileGraph = new Map<string, Set<string>>();
  const moduleGraph = new Map<string, Set<string>>();
  for (const [file, text] of [...sources].sort(([a], [b]) => a.localeCompare(b))) {
    const mod = moduleOf(file);
    if (!(mod in ALLOWED)) problems.push(`${file}: module "${mod}" is not in DESIGN.md's module map`);
    const facts = factsOf(file, text);
    const edges = new Set<string>();
    fileGraph.set(file, edges);
    for (const imp of facts.imports) {
      if (!imp.specifier.startsWith('.')) continue;
      const target = resolveSpecifier(file, imp.specifier, files);
      if (target === undefined) {
        const outside = join('src', dirname(file), imp.specifier).replace(/\\/g, '/');
        if (!outside.startsWith('src/')) problems.push(`${file}:${imp.line}: imports ${imp.specifier}, outside src/`);
        else problems.push(`${file}:${imp.line}: imports ${imp.specifier}, which does not exist`);
        continue;
      }
      const targetModule = moduleOf(target);
      if (targetModule !== mod) {
        if (!(ALLOWED[mod] ?? []).includes(targetModule)) {
          problems.push(`${file}:${imp.line}: module ${mod} must not import ${targetModule} (${imp.specifier}); allowed: ${(ALLOWED[mod] ?? []).join(', ') || 'nothing'}`);
        }
        let deps = moduleGraph.get(mod);
        if (!deps) moduleGraph.set(mod, (deps = new Set()));
        deps.add(targetModule);
      }
      // Type-only and lazy imports are erased or deferred: they cannot make a load-order cycle.
      if (!imp.typeOnly && !imp.dynamic) edges.add(target);
    }
    if (!PROCESS_ALLOWED.has(mod)) {
      for (const g of facts.globals) {
        problems.push(`${file}:${g.line}: uses ${g.name}; only src/cli may touch process/console (take env, cwd, signal, log from the caller)`);
      }
    }
  }
  for (const cycle of findCycles(moduleGraph)) problems.push(`module cycle: ${cycle.join(' -> ')}`);
  for (const cycle of findCycles(fileGraph)) problems.push(`file import cycle: ${cycle.join(' -> ')}`);
  return problems;
}

/** Every .ts file under `dir`, relative to it, with forward slashes. */
function readSources(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(m?ts)$/.test(name)) out.set(relative(dir, full).replace(/\\/g, '/'), readFileSync(full, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

describe('architecture checker (synthetic input)', () => {
  const ok = new Map([
    ['image/errors.ts', 'export class E {}\n'],
    ['layers/tar.ts', "import { E } from '../image/errors.js';\nexport const t = E;\n"],
    ['engine/client.ts', "import type { T } from './types.js';\nimport { t } from '../layers/tar.js';\n// process.env is never read here\nconst s = 'console.log';\nexport const c = { process: 1, t, s };\n"],
    ['engine/types.ts', "import type { c } from './client.js';\nexport type T = typeof c;\n"],
    ['cli/main.ts', "import { c } from '../index.js';\nconsole.log(c);\nprocess.exitCode = 0;\nconst b = await import('../build/index.js');\n"],
    ['build/index.ts', "export * from '../engine/client.js';\n"],
    ['index.ts', "export * from './engine/client.js';\nexport * from './build/index.js';\n"],
  ]);

  it('accepts sources that follow the rules (type-only cycles, comments and strings are fine)', () => {
    expect(checkArchitecture(ok)).toEqual([]);
  });

  it('rejects an import against the direction', () => {
    const bad = new Map(ok).set('layers/tar.ts', "import { c } from '../engine/client.js';\nexport const t = c;\n");
    const problems = checkArchitecture(bad);
    expect(problems).toContain("layers/tar.ts:1: module layers must not import engine (../engine/client.js); allowed: image");
    expect(problems.some((p) => p.startsWith('module cycle: engine -> layers -> engine') || p.startsWith('module cycle: layers -> engine -> layers'))).toBe(true);
  });

  it('rejects the image leaf importing anything in src, index.ts importing cli, and a type-only import against the direction', () => {
    const bad = new Map(ok)
      .set('image/errors.ts', "import type { T } from '../engine/types.js';\nexport class E {}\n")
      .set('index.ts', "export * from './cli/main.js';\n");
    const problems = checkArchitecture(bad);
    expect(problems).toContain('image/errors.ts:1: module image must not import engine (../engine/types.js); allowed: nothing');
    expect(problems).toContain('index.ts:1: module index must not import cli (./cli/main.js); allowed: image, layers, engine, registry, build, init');
  });

  it('rejects a value-import cycle between files and finds it through three files', () => {
    const bad = new Map(ok)
      .set('registry/a.ts', "import { b } from './b.js';\nexport const a = b;\n")
      .set('registry/b.ts', "import { c } from './c.js';\nexport const b = c;\n")
      .set('registry/c.ts', "import { a } from './a.js';\nexport const c = a;\n");
    expect(checkArchitecture(bad)).toEqual(['file import cycle: registry/a.ts -> registry/b.ts -> registry/c.ts -> registry/a.ts']);
  });

  it('rejects process/console outside src/cli in every spelling', () => {
    const bad = new Map(ok)
      .set('engine/env.ts', 'export const h = process.env.DOCKER_HOST;\n')
      .set('engine/log.ts', 'export function log(m: string): void { console.error(m); }\n')
      .set('engine/out.ts', 'export const w = (s: string) => globalThis.process.stdout.write(s);\n')
      .set('engine/imp.ts', "import { stderr } from 'node:process';\nexport const e = stderr;\n")
      .set('engine/alias.ts', 'const p = process;\nexport const q = p;\n');
    const problems = checkArchitecture(bad);
    expect(problems).toEqual([
      'engine/alias.ts:1: uses process; only src/cli may touch process/console (take env, cwd, signal, log from the caller)',
      'engine/env.ts:1: uses process; only src/cli may touch process/console (take env, cwd, signal, log from the caller)',
      'engine/imp.ts:1: uses node:process; only src/cli may touch process/console (take env, cwd, signal, log from the caller)',
      'engine/log.ts:1: uses console; only src/cli may touch process/console (take env, cwd, signal, log from the caller)',
      'engine/out.ts:1: uses process; only src/cli may touch process/console (take env, cwd, signal, log from the caller)',
    ]);
  });

  it('rejects an unknown module and a missing import target', () => {
    const bad = new Map(ok).set('util/x.ts', "import { y } from './y.js';\nexport const x = y;\n");
    expect(checkArchitecture(bad)).toEqual([
      'util/x.ts: module "util" is not in DESIGN.md\'s module map',
      'util/x.ts:1: imports ./y.js, which does not exist',
    ]);
  });
});

describe('architecture of src/', () => {
  it('follows DESIGN.md: import directions, no cycles, process/console only in src/cli', () => {
    const sources = readSources(SRC);
    expect(sources.size).toBeGreaterThan(10);
    expect(checkArchitecture(sources)).toEqual([]);
  });
});
