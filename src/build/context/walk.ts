/**
 * Walks a build context the way the docker CLI's tar writer does (moby go-archive
 * TarWithOptions): depth first, each directory's entries in byte order of their names,
 * .dockerignore applied with parent results carried down, excluded directories skipped unless
 * an exception pattern starts with them (then descended into, without their own entry).
 * Symlinks are entries of their own and never followed. Nothing is read, only listed; excluded
 * entries are not even stat'ed, so an ignored node_modules costs one readdir entry.
 */
import { lstat as lstatCb, type Dirent, type Stats } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { abortError, ImgtoolError } from '../../image/errors.js';
import type { ParentMatches, PatternMatcher } from '../dockerignore/matcher.js';

/** The kind of a context entry; `special` is a fifo, socket or device (never sent). */
export type ContextEntryType = 'file' | 'dir' | 'symlink' | 'special';

/** One entry of the context as the tar will carry it. */
export interface ContextEntry {
  /** Relative to the context root, `/`-separated, no trailing slash. */
  readonly path: string;
  readonly type: ContextEntryType;
  /** Permission bits plus setuid/setgid/sticky, as tar headers carry them. */
  readonly mode: number;
  /** Bytes, for regular files; 0 otherwise. */
  readonly size: number;
  /** Modification time in whole seconds (the docker CLI truncates to seconds). */
  readonly mtime: number;
  /** Symlink target, as stored. */
  readonly linkTarget?: string;
  /** What a special file is, for messages. */
  readonly special?: string;
  /** Device and inode, to write hard links as links. */
  readonly dev: number;
  readonly ino: number;
  readonly nlink: number;
}

/** Options for {@link walkContext}. */
export interface WalkContextOptions {
  /** Absolute path of the context root. */
  readonly contextDir: string;
  /** The .dockerignore matcher (with the always-sent files appended as exceptions). */
  readonly matcher: PatternMatcher;
  readonly signal?: AbortSignal;
}

// The callback lstat: fs/promises costs much more main-thread time per call.
const lstat = promisify(lstatCb);

/** How many lstat calls run at once within one directory. */
const STAT_CONCURRENCY = 64;

/** Go's string order (bytes of UTF-8), which is code point order; JS `<` is UTF-16 order. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 order differs from code point order only around surrogates; rare in file names.
  if (/[\uD800-\uDFFF]/.test(a) || /[\uD800-\uDFFF]/.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : 1;
}

function specialKind(d: Dirent | Stats): string | undefined {
  if (d.isFIFO()) return 'named pipe (fifo)';
  if (d.isSocket()) return 'socket';
  if (d.isCharacterDevice()) return 'character device';
  if (d.isBlockDevice()) return 'block device';
  return undefined;
}

function unreadable(path: string, err: unknown, what: string): ImgtoolError {
  const code = (err as NodeJS.ErrnoException).code;
  return new ImgtoolError('CONTEXT_UNREADABLE', `cannot ${what} ${path} in the build context: ${code ?? (err as Error).message}`, {
    cause: err,
    details: { file: path },
    hint: 'make it readable, or exclude it in .dockerignore',
  });
}

async function entryFor(contextDir: string, rel: string, signal: AbortSignal | undefined): Promise<ContextEntry | undefined> {
  const abs = join(contextDir, rel);
  let st: Stats;
  try {
    st = await lstat(abs);
  } catch (err) {
    // Removed between readdir and lstat: it is simply not part of the context any more.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadable(rel, err, 'stat');
  }
  if (signal?.aborted) throw abortError(signal, 'reading the build context');
  const mode = st.mode & 0o7777;
  const mtime = Math.floor(st.mtimeMs / 1000);
  // One object per entry (they are all kept until the tar is written).
  if (st.isFile()) return { path: rel, type: 'file', mode, size: st.size, mtime, dev: st.dev, ino: st.ino, nlink: st.nlink };
  if (st.isDirectory()) return { path: rel, type: 'dir', mode, size: 0, mtime, dev: st.dev, ino: st.ino, nlink: st.nlink };
  if (st.isSymbolicLink()) {
    let target: string;
    try {
      target = await readlink(abs);
    } catch (err) {
      throw unreadable(rel, err, 'read the link');
    }
    return { path: rel, type: 'symlink', mode, size: 0, mtime, linkTarget: target, dev: st.dev, ino: st.ino, nlink: st.nlink };
  }
  return { path: rel, type: 'special', mode, size: 0, mtime, special: specialKind(st) ?? 'special file', dev: st.dev, ino: st.ino, nlink: st.nlink };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

interface Frame {
  /** Relative path of the directory ('' for the root). */
  readonly dir: string;
  readonly parent: ParentMatches;
  readonly children: readonly Child[];
  index: number;
}

interface Child {
  readonly rel: string;
  readonly isDir: boolean;
  /** Undefined when the entry is excluded (not sent). */
  readonly entry: ContextEntry | undefined;
  /** Per-pattern results to hand to the children of a directory. */
  readonly matches: boolean[];
  /** Whether to walk into this directory. */
  readonly descend: boolean;
}

async function readChildren(opts: WalkContextOptions, dir: string, parent: ParentMatches): Promise<Child[]> {
  const abs = dir === '' ? opts.contextDir : join(opts.contextDir, dir);
  let dirents: Dirent[];
  try {
    dirents = await readdir(abs, { withFileTypes: true });
  } catch (err) {
    throw unreadable(dir === '' ? '.' : dir, err, 'list');
  }
  if (opts.signal?.aborted) throw abortError(opts.signal, 'reading the build context');
  dirents.sort((a, b) => compareNames(a.name, b.name));
  const decided = dirents.map((d) => {
    const rel = dir === '' ? d.name : `${dir}/${d.name}`;
    const { excluded, matches } = opts.matcher.matchWithParent(rel, dir === '' ? undefined : parent);
    const isDir = d.isDirectory();
    return { rel, isDir, excluded, matches, descend: isDir && (!excluded || opts.matcher.mustDescend(rel)) };
  });
  const entries = await mapLimit(decided, STAT_CONCURRENCY, (d) =>
    d.excluded ? Promise.resolve(undefined) : entryFor(opts.contextDir, d.rel, opts.signal),
  );
  const out: Child[] = [];
  decided.forEach((d, i) => {
    const entry = entries[i];
    if (!d.excluded && entry === undefined) return; // vanished
    // A directory that turned into something else between readdir and lstat is not walked.
    const descend = d.descend && (entry === undefined || entry.type === 'dir');
    out.push({ rel: d.rel, isDir: d.isDir, entry, matches: d.matches, descend });
  });
  return out;
}

/**
 * Yields the entries of the context that are not excluded, in the docker CLI's tar order:
 * a directory before its contents, names in byte order. Special files are yielded with type
 * `special` so the caller decides (the tar writer refuses them); unreadable directories throw
 * ImgtoolError('CONTEXT_UNREADABLE') naming the path.
 */
export async function* walkContext(opts: WalkContextOptions): AsyncGenerator<ContextEntry, void, undefined> {
  const stack: Frame[] = [{ dir: '', parent: undefined, children: await readChildren(opts, '', undefined), index: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const child = frame.children[frame.index++];
    if (child === undefined) {
      stack.pop();
      continue;
    }
    if (child.entry !== undefined) yield child.entry;
    if (child.descend) {
      stack.push({ dir: child.rel, parent: child.matches, children: await readChildren(opts, child.rel, child.matches), index: 0 });
    }
  }
}

/** Collects {@link walkContext} into an array (metadata only; no file content is read). */
export async function listContext(opts: WalkContextOptions): Promise<ContextEntry[]> {
  const out: ContextEntry[] = [];
  for await (const e of walkContext(opts)) out.push(e);
  return out;
}
