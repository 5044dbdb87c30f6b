/**
 * Detects what a Node project needs in its image: package manager, Node version, the
 * dependency tree (through arborist), workspaces, native addons, entry point and build step.
 */
import { basename, join, posix } from 'node:path';
import { ImgtoolError } from '../image/errors.js';
import { checkAborted, exists, listDir, parseJsonc, readTextIfExists } from './fs-util.js';
import { tagForRange, tagForVersionFile, tagSatisfies } from './node-version.js';
import { readNodeTree, type NodeTreeFacts } from './node-tree.js';
import type { InitFinding, NodePackageManager, NodeProject } from './types.js';

/** The parts of package.json detection reads. */
interface PackageJson {
  readonly name?: unknown;
  readonly main?: unknown;
  readonly bin?: unknown;
  readonly scripts?: unknown;
  readonly engines?: unknown;
  readonly workspaces?: unknown;
  readonly packageManager?: unknown;
  readonly dependencies?: unknown;
  readonly devDependencies?: unknown;
}

/** Options for {@link detectNodeProject}. */
export interface DetectOptions {
  readonly signal?: AbortSignal;
}

const LOCKFILES: readonly { file: string; manager: NodePackageManager }[] = [
  { file: 'package-lock.json', manager: 'npm' },
  { file: 'npm-shrinkwrap.json', manager: 'npm' },
  { file: 'pnpm-lock.yaml', manager: 'pnpm' },
  { file: 'yarn.lock', manager: 'yarn' },
];

/** Root lifecycle scripts npm/yarn/pnpm run during an install, before the source is in the image. */
const ROOT_INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'] as const;

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

async function readPackageJson(dir: string, signal: AbortSignal | undefined): Promise<PackageJson> {
  const file = join(dir, 'package.json');
  const text = await readTextIfExists(file, signal);
  if (text === undefined) {
    throw new ImgtoolError('INIT_DETECT_FAILED', `no package.json in ${dir}`, {
      details: { file },
      hint: 'run imgtool init in the project directory, or pass it: imgtool init path/to/app',
    });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('not a JSON object');
    return parsed as PackageJson;
  } catch (err) {
    throw new ImgtoolError('INIT_DETECT_FAILED', `cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { file },
      hint: 'fix package.json (npm pkg get prints what npm sees)',
    });
  }
}

/** Which package manager the lockfile (or the packageManager field) names. */
async function detectPackageManager(
  dir: string,
  pkg: PackageJson,
  signal: AbortSignal | undefined,
): Promise<{ manager: NodePackageManager; lockfile: string | undefined; findings: InitFinding[]; warnings: string[] }> {
  const findings: InitFinding[] = [];
  const warnings: string[] = [];
  const present: typeof LOCKFILES[number][] = [];
  for (const lock of LOCKFILES) if (await exists(join(dir, lock.file))) present.push(lock);
  const declared = str(pkg.packageManager);
  const declaredName = declared?.split('@')[0];
  const chosen = present.find((l) => l.manager === declaredName) ?? present[0];
  if (present.length > 1) {
    warnings.push(`several lockfiles (${present.map((l) => l.file).join(', ')}): using ${chosen?.file ?? ''}; delete the others`);
  }
  let manager: NodePackageManager = chosen?.manager ?? (declaredName === 'yarn' || declaredName === 'pnpm' ? declaredName : 'npm');
  if (manager === 'yarn') {
    // Yarn 2+ ("berry") writes a YAML lockfile with __metadata and is configured by .yarnrc.yml.
    const lock = chosen ? await readTextIfExists(join(dir, chosen.file), signal) : undefined;
    const berryVersion = declaredName === 'yarn' && /^yarn@[2-9]/.test(declared ?? '');
    if (berryVersion || lock?.includes('__metadata:') || (await exists(join(dir, '.yarnrc.yml')))) manager = 'yarn-berry';
  }
  if (chosen) {
    findings.push({ what: `package manager: ${manager === 'yarn-berry' ? 'yarn (2+)' : manager}`, source: chosen.file });
  } else {
    findings.push({ what: `package manager: ${manager}`, source: declared ? 'packageManager in package.json' : 'no lockfile' });
    warnings.push(`no lockfile: the image installs whatever versions resolve at build time; commit ${manager === 'npm' ? 'package-lock.json (npm install)' : 'your lockfile'} for reproducible builds`);
  }
  return { manager, lockfile: chosen?.file, findings, warnings };
}

/** Node version: .nvmrc, then .node-version, then engines.node, then the default line. */
async function detectNodeVersion(
  dir: string,
  pkg: PackageJson,
  signal: AbortSignal | undefined,
): Promise<{ node: NodeProject['node']; findings: InitFinding[]; warnings: string[] }> {
  const warnings: string[] = [];
  const engines = str(record(pkg.engines)['node']);
  for (const file of ['.nvmrc', '.node-version']) {
    const text = (await readTextIfExists(join(dir, file), signal))?.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
    if (text === undefined) continue;
    const choice = tagForVersionFile(text);
    if (choice.warning) warnings.push(choice.warning);
    if (engines && !tagSatisfies(choice.tag, engines)) warnings.push(`${file} asks for Node ${text} but engines.node is "${engines}": they disagree`);
    return { node: { requested: text, source: file, tag: choice.tag }, findings: [{ what: `Node ${text} -> ${choice.tag}`, source: file }], warnings };
  }
  if (engines) {
    const choice = tagForRange(engines);
    if (choice.warning) warnings.push(choice.warning);
    return { node: { requested: engines, source: 'engines.node', tag: choice.tag }, findings: [{ what: `Node "${engines}" -> ${choice.tag}`, source: 'engines.node in package.json' }], warnings };
  }
  const choice = tagForRange('*');
  return {
    node: { requested: undefined, source: 'default', tag: choice.tag },
    findings: [{ what: `Node ${choice.tag} (nothing asks for a version)`, source: 'default; pin one with .nvmrc or engines.node' }],
    warnings,
  };
}

/** Splits a `start` script into exec-form words when it is a plain `node [flags] file [args]`. */
export function execFormOf(script: string): string[] | undefined {
  // Anything a shell would interpret (pipes, &&, variables, quotes, redirections) stays out.
  if (/[|&;<>()$`"'\\*?{}\n]/.test(script)) return undefined;
  const words = script.trim().split(/\s+/);
  if (words[0] !== 'node' || words.length < 2) return undefined;
  return words;
}

async function detectEntry(
  dir: string,
  pkg: PackageJson,
  manager: NodePackageManager,
): Promise<{ entry: NodeProject['entry']; warnings: string[] }> {
  const scripts = record(pkg.scripts);
  const start = str(scripts['start']);
  if (start) {
    const words = execFormOf(start);
    if (words) return { entry: { command: words, source: `scripts.start "${start}"`, guessed: false }, warnings: [] };
  }
  const main = str(pkg.main);
  if (main && (await exists(join(dir, main)))) {
    return { entry: { command: ['node', main], source: `main "${main}"`, guessed: false }, warnings: [] };
  }
  const bin = typeof pkg.bin === 'string' ? pkg.bin : Object.values(record(pkg.bin)).find((v): v is string => typeof v === 'string');
  if (bin && (await exists(join(dir, bin)))) {
    return { entry: { command: ['node', posix.normalize(bin)], source: `bin "${bin}"`, guessed: false }, warnings: [] };
  }
  if (start) {
    const runner = manager === 'yarn-berry' ? 'yarn' : manager;
    return {
      entry: { command: [runner, 'start'], source: `scripts.start "${start}" (not a plain node command)`, guessed: false },
      warnings: [
        `scripts.start is not a plain "node file" command, so the image runs "${runner} start": ${runner} does not forward SIGTERM to the app; prefer "node <file>" in scripts.start`,
      ],
    };
  }
  for (const candidate of ['server.js', 'index.js', 'app.js', 'main.js']) {
    if (await exists(join(dir, candidate))) {
      return { entry: { command: ['node', candidate], source: `${candidate} exists (no start script, main or bin)`, guessed: true }, warnings: [] };
    }
  }
  return {
    entry: { command: ['node', 'index.js'], source: 'nothing found', guessed: true },
    warnings: ['no entry point found (scripts.start, main, bin): the image runs "node index.js"; edit the CMD line'],
  };
}

async function detectBuild(
  dir: string,
  pkg: PackageJson,
  entry: NodeProject['entry'],
  signal: AbortSignal | undefined,
): Promise<NodeProject['build']> {
  const script = str(record(pkg.scripts)['build']);
  if (!script) return undefined;
  const deps = { ...record(pkg.dependencies), ...record(pkg.devDependencies) };
  const tsconfigText = await readTextIfExists(join(dir, 'tsconfig.json'), signal);
  const typescript = tsconfigText !== undefined || 'typescript' in deps || /\btsc\b/.test(script);
  const outputs = new Set<string>();
  const outDir = str(record(record(tsconfigText === undefined ? undefined : parseJsonc(tsconfigText))['compilerOptions'])['outDir']);
  if (outDir) outputs.add(posix.normalize(outDir).replace(/\/$/, ''));
  // The entry file's top directory is a build output when that directory is not checked in as source.
  const entryFile = entry.command.find((w, i) => i > 0 && !w.startsWith('-'));
  const top = entryFile?.split('/').filter((p) => p !== '.')[0];
  if (top && entryFile?.includes('/') && ['dist', 'build', 'out', 'lib'].includes(top)) outputs.add(top);
  return { script: 'build', typescript, outputs: [...outputs].filter((o) => o !== '.' && !o.startsWith('..')).sort() };
}

/** Workspaces of a pnpm project, from pnpm-workspace.yaml's `packages:` globs (single-level `dir/*` or plain dirs). */
async function pnpmWorkspaces(dir: string, signal: AbortSignal | undefined): Promise<{ name: string; dir: string }[]> {
  const text = await readTextIfExists(join(dir, 'pnpm-workspace.yaml'), signal);
  if (!text) return [];
  const globs: string[] = [];
  let inPackages = false;
  for (const line of text.split('\n')) {
    if (/^packages\s*:/.test(line)) {
      inPackages = true;
      continue;
    }
    if (inPackages) {
      const m = /^\s+-\s*['"]?([^'"#]+?)['"]?\s*(#.*)?$/.exec(line);
      if (m?.[1]) globs.push(m[1]);
      else if (/^\S/.test(line)) inPackages = false;
    }
  }
  const out: { name: string; dir: string }[] = [];
  for (const glob of globs) {
    if (glob.startsWith('!')) continue;
    const dirs = glob.endsWith('/*') || glob.endsWith('/**')
      ? (await listDir(join(dir, glob.replace(/\/\*\*?$/, '')), signal)).filter((e) => e.isDirectory()).map((e) => `${glob.replace(/\/\*\*?$/, '')}/${e.name}`)
      : [glob.replace(/\/$/, '')];
    for (const d of dirs) {
      const manifest = await readTextIfExists(join(dir, d, 'package.json'), signal);
      if (manifest === undefined) continue;
      const name = str(record(parseJsonc(manifest))['name']) ?? basename(d);
      out.push({ name, dir: d });
    }
  }
  return out.sort((a, b) => a.dir.localeCompare(b.dir));
}

/** Files besides package.json and the lockfile that the package manager reads during install. */
async function managerInputs(dir: string, manager: NodePackageManager): Promise<string[]> {
  const candidates: Record<NodePackageManager, string[]> = {
    npm: [],
    yarn: ['.yarnrc'],
    'yarn-berry': ['.yarnrc.yml', '.yarn/releases/', '.yarn/plugins/', '.yarn/patches/'],
    pnpm: ['pnpm-workspace.yaml', '.pnpmfile.cjs', 'patches/'],
  };
  const out: string[] = [];
  // Directories end with `/`, so the COPY lines can tell them from files.
  for (const file of candidates[manager]) if (await exists(join(dir, file))) out.push(file);
  return out;
}

/** Detects a Node project in `dir`. Throws INIT_DETECT_FAILED when there is no usable package.json. */
export async function detectNodeProject(dir: string, options: DetectOptions = {}): Promise<NodeProject> {
  const { signal } = options;
  const pkg = await readPackageJson(dir, signal);
  const findings: InitFinding[] = [];
  const warnings: string[] = [];

  const pm = await detectPackageManager(dir, pkg, signal);
  findings.push(...pm.findings);
  warnings.push(...pm.warnings);

  const version = await detectNodeVersion(dir, pkg, signal);
  findings.push(...version.findings);
  warnings.push(...version.warnings);

  let tree: NodeTreeFacts;
  const npmLock = pm.manager === 'npm' ? pm.lockfile : undefined;
  try {
    tree = await readNodeTree(dir, { lockfile: npmLock, ...(signal ? { signal } : {}) });
  } catch (err) {
    checkAborted(signal, 'imgtool init');
    throw new ImgtoolError('INIT_DETECT_FAILED', `cannot read the dependency tree of ${dir}: ${(err as Error).message}`, {
      cause: err,
      details: { file: join(dir, npmLock ?? 'package.json') },
      hint: npmLock ? `check that ${npmLock} is valid (npm ci --dry-run reads it too)` : 'check package.json and node_modules',
    });
  }
  warnings.push(...tree.warnings);
  findings.push({
    what: `dependencies: ${tree.production} production, ${tree.development} development (development ones stay out of the runtime image)`,
    source: tree.source === 'package.json only' ? 'package.json (no lockfile or node_modules to read the full tree from)' : `${tree.source}, read with @npmcli/arborist`,
  });

  const workspaces = tree.workspaces.length > 0 || pm.manager !== 'pnpm' ? tree.workspaces : await pnpmWorkspaces(dir, signal);
  if (workspaces.length > 0) {
    findings.push({ what: `workspaces: ${workspaces.map((w) => `${w.name} (${w.dir})`).join(', ')}`, source: pm.manager === 'pnpm' ? 'pnpm-workspace.yaml' : 'workspaces in package.json' });
  }
  for (const dep of tree.native) {
    findings.push({ what: `${dep.dev ? 'dev ' : ''}dependency ${dep.name}@${dep.version} builds at install time`, source: dep.reason });
  }

  const rootScripts = record(pkg.scripts);
  const lifecycle = ROOT_INSTALL_SCRIPTS.filter((s) => typeof rootScripts[s] === 'string');
  if (lifecycle.length > 0) {
    warnings.push(
      `package.json has ${lifecycle.join('/')} script(s), which the install step runs before the source is copied: make them work without the source, or move them out of the install lifecycle`,
    );
  }

  const { entry, warnings: entryWarnings } = await detectEntry(dir, pkg, pm.manager);
  warnings.push(...entryWarnings);
  findings.push({ what: `entry point: ${JSON.stringify(entry.command)}`, source: entry.source });

  const build = await detectBuild(dir, pkg, entry, signal);
  if (build) {
    findings.push({
      what: `build step: ${pm.manager === 'yarn-berry' ? 'yarn' : pm.manager} run build${build.typescript ? ' (TypeScript)' : ''}${build.outputs.length > 0 ? `, output in ${build.outputs.join(', ')}` : ''}`,
      source: 'scripts.build',
    });
  }

  const installInputs = [
    ...(await managerInputs(dir, pm.manager)),
    ...workspaces.map((w) => `${w.dir}/package.json`),
    ...tree.localInputs,
  ];
  const hasNpmrc = await exists(join(dir, '.npmrc'));
  if (hasNpmrc) {
    warnings.push('.npmrc stays out of the build context (it may hold a registry token); if the install needs it, pass it as a BuildKit secret (see the comment in the Dockerfile)');
  }
  const name = str(pkg.name) ?? basename(dir);
  return {
    language: 'node',
    dir,
    name,
    packageManager: pm.manager,
    lockfile: pm.lockfile,
    node: version.node,
    dependencies: { production: tree.production, development: tree.development },
    treeSource: tree.source,
    native: tree.native,
    workspaces,
    installInputs: [...new Set(installInputs)],
    entry,
    build,
    hasNpmrc,
    findings,
    warnings,
  };
}
