/**
 * Detects what a Go module needs in its image from go.mod and the sources: the Go version,
 * main packages (root and cmd/*), cgo use, and so whether the binary can be static.
 */
import { join, posix, relative, sep } from 'node:path';
import { ImgtoolError } from '../image/errors.js';
import { checkAborted, exists, listDir, readTextIfExists } from './fs-util.js';
import { compareVersions, parseVersion } from './semver-range.js';
import type { InitFinding, GoMainPackage, GoProject } from './types.js';

/** Options for {@link detectGoProject}. */
export interface DetectGoOptions {
  readonly signal?: AbortSignal;
}

/**
 * The oldest Go release line imgtool pins a builder for. The `go` line in go.mod is a
 * minimum and Go keeps backward compatibility, so older modules build with this one; older
 * lines get no security fixes.
 */
export const MIN_GO_LINE = '1.22';

/** Modules that always need cgo (a C library underneath): go.mod requiring one means no static binary. */
const KNOWN_CGO_MODULES = [
  'github.com/mattn/go-sqlite3',
  'github.com/confluentinc/confluent-kafka-go',
  'github.com/google/gopacket/pcap',
  'github.com/go-gl/glfw',
];

/** What go.mod says. */
export interface GoMod {
  readonly module: string | undefined;
  readonly go: string | undefined;
  readonly toolchain: string | undefined;
  readonly requires: string[];
  /** `replace x => ./dir` targets that are local directories. */
  readonly localReplaces: string[];
}

/** Parses the directives imgtool needs from go.mod text (comments and blocks included). */
export function parseGoMod(text: string): GoMod {
  let module: string | undefined;
  let go: string | undefined;
  let toolchain: string | undefined;
  const requires: string[] = [];
  const localReplaces: string[] = [];
  let block: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (line === '') continue;
    if (block) {
      if (line === ')') {
        block = undefined;
        continue;
      }
      handle(block, line);
      continue;
    }
    const open = /^(\w+)\s*\($/.exec(line);
    if (open) {
      block = open[1];
      continue;
    }
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (m) handle(m[1] ?? '', m[2] ?? '');
  }
  function handle(verb: string, rest: string): void {
    const unquote = (s: string): string => s.replace(/^"(.*)"$/, '$1');
    if (verb === 'module') module = unquote(rest.trim());
    else if (verb === 'go') go = rest.trim();
    else if (verb === 'toolchain') toolchain = rest.trim().replace(/^go/, '');
    else if (verb === 'require') {
      const path = rest.trim().split(/\s+/)[0];
      if (path) requires.push(unquote(path));
    } else if (verb === 'replace') {
      const target = rest.split('=>')[1]?.trim().split(/\s+/)[0];
      if (target && (target.startsWith('./') || target.startsWith('../') || target.startsWith('/'))) localReplaces.push(target);
    }
  }
  return { module, go, toolchain, requires, localReplaces };
}

/** The builder tag: the toolchain line exactly, else the go line's release line, never below {@link MIN_GO_LINE}. */
export function goImageTag(goVersion: string | undefined, toolchain: string | undefined): string {
  if (toolchain && /^\d+\.\d+(\.\d+)?$/.test(toolchain)) return toolchain;
  const min = parseVersion(MIN_GO_LINE) ?? [1, 22, 0];
  const asked = goVersion ? parseVersion(goVersion) : undefined;
  if (!asked || compareVersions(asked, min) < 0) return MIN_GO_LINE;
  return `${asked[0]}.${asked[1]}`;
}

/** The package clause of a Go file, ignoring comments; undefined for `//go:build ignore` files. */
export function goPackageName(source: string): string | undefined {
  if (/^\s*\/\/go:build\s+ignore\s*$/m.test(source)) return undefined;
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  return /^\s*package\s+(\w+)/m.exec(code)?.[1];
}

/** True when the file uses cgo: `import "C"` on its own or inside an import block. */
export function importsC(source: string): boolean {
  const code = source.replace(/\/\/[^\n]*/g, '');
  return /^\s*import\s+"C"\s*$/m.test(code) || /^\s*import\s*\([^)]*^\s*"C"\s*$[^)]*\)/m.test(code);
}

const isGoSource = (name: string): boolean => name.endsWith('.go') && !name.endsWith('_test.go');

async function packageOf(dir: string, signal: AbortSignal | undefined): Promise<string | undefined> {
  for (const entry of await listDir(dir, signal)) {
    if (!entry.isFile() || !isGoSource(entry.name)) continue;
    const name = goPackageName((await readTextIfExists(join(dir, entry.name), signal)) ?? '');
    if (name) return name;
  }
  return undefined;
}

/** Walks the module's sources (vendor included, testdata and hidden dirs not) for `import "C"`. */
async function findCgoFiles(root: string, signal: AbortSignal | undefined): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    checkAborted(signal, 'imgtool init');
    for (const entry of await listDir(dir, signal)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name.startsWith('.') || entry.name.startsWith('_') || entry.name === 'testdata' || entry.name === 'node_modules') continue;
        await walk(path);
      } else if (entry.isFile() && isGoSource(entry.name)) {
        if (importsC((await readTextIfExists(path, signal)) ?? '')) found.push(relative(root, path).split(sep).join('/'));
      }
    }
  };
  await walk(root);
  return found.sort();
}

/** Picks the main package the image runs: cmd/<module name>, cmd/server, cmd/api, the root, then the first. */
export function chooseMain(mains: readonly GoMainPackage[], modulePath: string): GoMainPackage | undefined {
  const last = posix.basename(modulePath);
  const prefs = [`./cmd/${last}`, './cmd/server', './cmd/api', '.'];
  for (const p of prefs) {
    const hit = mains.find((m) => m.dir === p);
    if (hit) return hit;
  }
  return mains[0];
}

/** Detects a Go module in `dir`. Throws INIT_DETECT_FAILED without go.mod or a main package. */
export async function detectGoProject(dir: string, options: DetectGoOptions = {}): Promise<GoProject> {
  const { signal } = options;
  const goModFile = join(dir, 'go.mod');
  const text = await readTextIfExists(goModFile, signal);
  if (text === undefined) {
    throw new ImgtoolError('INIT_DETECT_FAILED', `no go.mod in ${dir}`, {
      details: { file: goModFile },
      hint: 'run imgtool init in the module root (go mod init creates go.mod)',
    });
  }
  const mod = parseGoMod(text);
  if (!mod.module) {
    throw new ImgtoolError('INIT_DETECT_FAILED', `${goModFile} has no module line`, { details: { file: goModFile }, hint: 'add `module <path>` to go.mod' });
  }
  const findings: InitFinding[] = [];
  const warnings: string[] = [];
  const imageTag = goImageTag(mod.go, mod.toolchain);
  findings.push({
    what: `Go ${mod.toolchain ? `toolchain ${mod.toolchain}` : mod.go ?? '(no go line)'} -> golang:${imageTag}`,
    source: mod.toolchain ? 'toolchain line in go.mod' : mod.go ? `go line in go.mod (a minimum; imgtool pins ${MIN_GO_LINE} or newer)` : 'default',
  });

  const mains: GoMainPackage[] = [];
  if ((await packageOf(dir, signal)) === 'main') mains.push({ dir: '.', binary: posix.basename(mod.module) });
  for (const entry of await listDir(join(dir, 'cmd'), signal)) {
    if (entry.isDirectory() && (await packageOf(join(dir, 'cmd', entry.name), signal)) === 'main') {
      mains.push({ dir: `./cmd/${entry.name}`, binary: entry.name });
    }
  }
  mains.sort((a, b) => a.dir.localeCompare(b.dir));
  const main = chooseMain(mains, mod.module);
  if (!main) {
    throw new ImgtoolError('INIT_DETECT_FAILED', `no main package in ${dir} or ${join(dir, 'cmd', '*')}`, {
      details: { file: dir },
      hint: 'imgtool init looks for `package main` in the module root and in cmd/<name>/',
    });
  }
  findings.push({ what: `main package ${main.dir} -> binary ${main.binary}`, source: mains.length > 1 ? `chosen from ${mains.map((m) => m.dir).join(', ')}; edit the go build line for another` : 'package main' });

  const cgoFiles = await findCgoFiles(dir, signal);
  const cgoModules = mod.requires.filter((r) => KNOWN_CGO_MODULES.some((k) => r === k || r.startsWith(`${k}/`)));
  const cgo = [...cgoFiles, ...cgoModules];
  const isStatic = cgo.length === 0;
  findings.push(
    isStatic
      ? { what: 'no cgo: CGO_ENABLED=0 builds a static binary', source: 'no `import "C"` in the sources' }
      : { what: `cgo: ${cgo.join(', ')}: the binary links glibc dynamically`, source: cgoFiles.length > 0 ? '`import "C"`' : 'go.mod requires a cgo module' },
  );
  const vendored = await exists(join(dir, 'vendor', 'modules.txt'));
  const hasGoSum = await exists(join(dir, 'go.sum'));
  if (vendored) findings.push({ what: 'dependencies are vendored', source: 'vendor/modules.txt' });
  else if (!hasGoSum && mod.requires.length > 0) warnings.push('go.mod requires modules but there is no go.sum: run `go mod tidy` and commit go.sum');

  const localReplaces: string[] = [];
  for (const target of mod.localReplaces) {
    const rel = posix.normalize(target);
    if (rel.startsWith('..') || rel.startsWith('/')) warnings.push(`replace => ${target} points outside the build context: the image cannot see it`);
    else localReplaces.push(rel.replace(/\/$/, ''));
  }
  return {
    language: 'go',
    dir,
    module: mod.module,
    goVersion: mod.go,
    toolchain: mod.toolchain,
    imageTag,
    hasGoSum,
    vendored,
    mains,
    main,
    cgo,
    static: isStatic,
    localReplaces,
    buildOutputDirs: await buildOutputDirs(dir, signal),
    findings,
    warnings,
  };
}

/** Top-level directories that hold build output rather than Go sources (bin, dist), for .dockerignore. */
async function buildOutputDirs(dir: string, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  for (const name of ['bin', 'dist']) {
    const entries = await listDir(join(dir, name), signal);
    if (!entries.some((e) => e.isFile() && e.name.endsWith('.go'))) out.push(name);
  }
  return out;
}
