/**
 * Reads a Node project's dependency tree with @npmcli/arborist: from the npm lockfile when
 * there is one (exactly what `npm ci` will install), else from node_modules. Arborist is
 * heavy, so it is imported only when a Node project is being looked at.
 */
import { isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArboristNode } from '@npmcli/arborist';
import { checkAborted, exists } from './fs-util.js';
import type { NativeDependency } from './types.js';

/** What the tree says about the project. */
export interface NodeTreeFacts {
  /** "package-lock.json", "node_modules" or "package.json only". */
  readonly source: string;
  readonly production: number;
  readonly development: number;
  readonly native: NativeDependency[];
  readonly workspaces: { name: string; dir: string }[];
  /** Local files the install reads: `file:` tarballs and linked local directories (relative, `/`-separated; directories end with `/`). */
  readonly localInputs: string[];
  readonly warnings: string[];
}

/** Options for {@link readNodeTree}. */
export interface ReadNodeTreeOptions {
  /** Name of the npm lockfile, when there is one: the tree is read from it. */
  readonly lockfile?: string | undefined;
  readonly signal?: AbortSignal;
}

const toPosix = (p: string): string => p.split(sep).join('/');

/** A path relative to `root` when it lies inside it, else undefined. */
function inside(root: string, target: string): string | undefined {
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return toPosix(rel);
}

/** Turns a `file:` spec arborist resolved into an absolute path. */
function fileSpecPath(resolved: string, base: string): string {
  if (resolved.startsWith('file://')) return fileURLToPath(resolved);
  const p = resolved.slice('file:'.length);
  return isAbsolute(p) ? p : join(base, p);
}

async function nativeReason(node: ArboristNode, fromLockfile: boolean): Promise<string | undefined> {
  const pkg = node.package;
  const scripts = pkg.scripts ?? {};
  // Lockfile nodes may also be installed: then the package on disk tells more than the lockfile.
  const hasGyp = pkg.gypfile === true || (pkg.gypfile !== false && (await exists(join(node.path, 'binding.gyp'))));
  if (hasGyp) return 'binding.gyp (node-gyp)';
  const named = ['preinstall', 'install', 'postinstall'].filter((s) => typeof scripts[s] === 'string');
  if (named.length > 0) return `${named.join('/')} script`;
  // Lockfile entries keep only the flag, not the scripts (npm sets it for binding.gyp too).
  if (node.hasInstallScript) return fromLockfile ? 'the lockfile marks it hasInstallScript' : 'install script';
  return undefined;
}

/** Loads the tree and summarises what the Dockerfile needs to know. */
export async function readNodeTree(dir: string, options: ReadNodeTreeOptions = {}): Promise<NodeTreeFacts> {
  const { signal } = options;
  checkAborted(signal, 'imgtool init');
  const { default: Arborist } = await import('@npmcli/arborist');
  const arborist = new Arborist({ path: dir });
  const warnings: string[] = [];
  let tree: ArboristNode;
  let source: string;
  const fromLockfile = options.lockfile !== undefined;
  if (fromLockfile) {
    tree = await arborist.loadVirtual();
    source = options.lockfile ?? 'lockfile';
  } else {
    tree = await arborist.loadActual();
    source = (await exists(join(dir, 'node_modules'))) ? 'node_modules' : 'package.json only';
  }
  checkAborted(signal, 'imgtool init');

  let production = 0;
  let development = 0;
  const native: NativeDependency[] = [];
  const localInputs = new Set<string>();
  const seenNative = new Set<string>();
  for (const node of tree.inventory.values()) {
    if (node.isProjectRoot || node.isWorkspace) continue;
    if (node.isLink) {
      // A link to a local directory that is not a workspace (`file:../lib`): the install
      // step needs that directory in place.
      const rel = inside(tree.realpath, node.realpath);
      if (rel === undefined) {
        warnings.push(`${node.name} links to ${node.realpath}, outside the build context: the install step in the image cannot see it`);
      } else if (!rel.startsWith('node_modules/')) {
        // A trailing slash marks a directory for the COPY lines.
        localInputs.add(`${rel}/`);
      }
      continue;
    }
    if (node.dev) development += 1;
    else production += 1;
    if (node.resolved?.startsWith('file:')) {
      const target = fileSpecPath(node.resolved, tree.realpath);
      const rel = inside(tree.realpath, target);
      if (rel === undefined) {
        warnings.push(`${node.name} comes from ${target}, outside the build context: vendor it inside the project`);
      } else {
        localInputs.add(rel);
      }
    }
    const reason = await nativeReason(node, fromLockfile);
    const key = `${node.name}@${node.version}`;
    if (reason && !seenNative.has(key)) {
      seenNative.add(key);
      native.push({ name: node.name, version: node.version, reason, dev: node.dev });
    }
  }
  // When nothing is installed and there is no lockfile, package.json's own lists are all we have.
  if (tree.inventory.size <= 1 || source === 'package.json only') {
    production = 0;
    development = 0;
    for (const edge of tree.edgesOut.values()) {
      if (edge.type === 'dev') development += 1;
      else if (edge.type === 'prod' || edge.type === 'optional' || edge.type === 'peer') production += 1;
    }
    source = 'package.json only';
  }
  const workspaces: { name: string; dir: string }[] = [];
  for (const [name, path] of tree.workspaces ?? new Map<string, string>()) {
    const rel = inside(tree.realpath, path);
    if (rel !== undefined) workspaces.push({ name, dir: rel });
  }
  workspaces.sort((a, b) => a.dir.localeCompare(b.dir));
  native.sort((a, b) => a.name.localeCompare(b.name));
  return { source, production, development, native, workspaces, localInputs: [...localInputs].sort(), warnings };
}
