/**
 * One pass over a layer tar, keeping only what file-level analysis needs: every entry's path,
 * kind and size, the whiteouts and opaque directories it declares, and its content size.
 *
 * "Content size" is what the Docker engine reports as a layer's size (`docker history`,
 * `/images/{name}/history`): the overlay2 driver sums the lstat size of every non-directory in
 * the layer's diff, counting each inode once — so regular files count their bytes, symlinks
 * the length of their target, hard links nothing extra, whiteouts and directories nothing.
 * The same rule applied to the tar gives the same number without a daemon.
 */
import { ImgtoolError, type ImgtoolErrorCode } from '../image/errors.js';
import { readTar } from './tar.js';

/** Prefix that marks a whiteout entry (image-spec layer.md "Whiteouts"). */
export const WHITEOUT_PREFIX = '.wh.';
/** Name of the entry that makes its directory opaque. */
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
/** Prefix of AUFS bookkeeping entries, which are not whiteouts and not files. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';

/** Kinds of entries the analysis distinguishes. */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

/** One entry of a layer, as analysis sees it. */
export interface ListedEntry {
  readonly path: string;
  readonly kind: EntryKind;
  /** Contribution to content size: file bytes, symlink target length, else 0. */
  readonly size: number;
  readonly linkpath?: string;
}

/** What one layer contains. */
export interface LayerListing {
  /** Entries other than whiteouts, in archive order (the root directory entry omitted). */
  readonly entries: readonly ListedEntry[];
  /** Paths this layer deletes from the layers below (`dir/.wh.name` → `dir/name`). */
  readonly whiteouts: readonly string[];
  /** Directories whose lower contents this layer hides (`dir/.wh..wh..opq` → `dir`; `''` is the root). */
  readonly opaqueDirs: readonly string[];
  /** Sum of entry sizes as the engine counts them (see the module comment). */
  readonly contentSize: number;
  /** Bytes of uncompressed tar read. */
  readonly tarSize: number;
}

/** Options for {@link scanLayer}. */
export interface ScanLayerOptions {
  readonly signal?: AbortSignal;
  /** What is being read, for errors. */
  readonly what: string;
  readonly errorCode?: ImgtoolErrorCode;
  /** false: do not keep entries (when only sizes are wanted); default true. */
  readonly entries?: boolean;
}

function splitPath(path: string): [string, string] {
  const i = path.lastIndexOf('/');
  return i < 0 ? ['', path] : [path.slice(0, i), path.slice(i + 1)];
}

/** Counts bytes flowing through an async iterable. */
async function* counting(source: AsyncIterable<Buffer>, counter: { n: number }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    counter.n += chunk.length;
    yield chunk;
  }
}

/** Reads an uncompressed layer tar to its end and returns its listing. */
export async function scanLayer(source: AsyncIterable<Buffer>, options: ScanLayerOptions): Promise<LayerListing> {
  const entries: ListedEntry[] = [];
  const whiteouts: string[] = [];
  const opaqueDirs: string[] = [];
  let contentSize = 0;
  const counter = { n: 0 };
  const code = options.errorCode ?? 'LAYER_INVALID';
  const tarOptions = { what: options.what, errorCode: code, ...(options.signal ? { signal: options.signal } : {}) };
  for await (const e of readTar(counting(source, counter), tarOptions)) {
    if (e.path === '') continue; // the layer's root directory itself
    const [dir, base] = splitPath(e.path);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base === OPAQUE_WHITEOUT) {
        opaqueDirs.push(dir);
      } else if (!base.startsWith(WHITEOUT_META_PREFIX)) {
        const name = base.slice(WHITEOUT_PREFIX.length);
        if (name === '' || name === '.' || name === '..') {
          throw new ImgtoolError(code, `${options.what} holds a malformed whiteout ${JSON.stringify(e.path)}`, {
            hint: 'the layer was not produced by a container tool or was tampered with',
          });
        }
        whiteouts.push(dir === '' ? name : `${dir}/${name}`);
      }
      continue;
    }
    let entry: ListedEntry;
    switch (e.type) {
      case 'directory':
        entry = { path: e.path, kind: 'dir', size: 0 };
        break;
      case 'file':
        entry = { path: e.path, kind: 'file', size: e.size };
        break;
      case 'symlink': {
        const target = e.linkpath ?? '';
        entry = { path: e.path, kind: 'symlink', size: Buffer.byteLength(target), linkpath: target };
        break;
      }
      case 'hardlink':
        entry = { path: e.path, kind: 'hardlink', size: 0, ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }) };
        break;
      default:
        entry = { path: e.path, kind: 'other', size: e.type === 'other' ? e.size : 0 };
    }
    contentSize += entry.size;
    if (options.entries !== false) entries.push(entry);
  }
  return { entries, whiteouts, opaqueDirs, contentSize, tarSize: counter.n };
}
