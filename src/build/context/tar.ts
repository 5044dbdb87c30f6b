/**
 * The build context as a tar stream, written entry by entry from disk in the order given, with
 * the headers the docker CLI writes: uid/gid 0, empty user and group names, the file's
 * permission bits (setuid/setgid/sticky included), mtime in whole seconds, PAX records only
 * when a name does not fit a ustar header, hard links as links to the first copy sent.
 * Memory stays bounded whatever the context size: small files are read a few at a time ahead
 * of the writer (at most {@link PREFETCH_BYTES}), large ones in chunks.
 */
import { close as closeCb, constants, open as openCb, read as readCb } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Header, Pax } from 'tar';
import { abortError, ImgtoolError } from '../../image/errors.js';
import type { ContextEntry } from './walk.js';

/** A file that is not on disk but goes into the tar (an injected Dockerfile, an edited .dockerignore). */
export interface VirtualFile {
  readonly path: string;
  readonly content: Buffer;
  readonly mode: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
}

/** Options for {@link contextTar}. */
export interface ContextTarOptions {
  /** Absolute context directory the entries are relative to. */
  readonly contextDir: string;
  /** Entries in the order they are written (see walkContext). */
  readonly entries: readonly ContextEntry[];
  /** Contents replacing the on-disk contents of these paths (mode and mtime kept). */
  readonly replace?: ReadonlyMap<string, Buffer>;
  /** Files appended after the entries, in the order given. */
  readonly append?: readonly VirtualFile[];
  readonly signal?: AbortSignal;
}

/** Counters filled while the stream is read. */
export interface ContextTarStats {
  /** Bytes of tar produced so far (the request body size once the stream ended). */
  bytes: number;
  /** Entries written. */
  entries: number;
}

/** Files up to this size are read whole, ahead of the writer. */
const SMALL_FILE = 256 * 1024;
/** Upper bound of file bytes read ahead. */
const PREFETCH_BYTES = 8 * 1024 * 1024;
/** Upper bound of files read ahead. */
const PREFETCH_FILES = 64;
/** Chunk size for large files. */
const CHUNK = 1024 * 1024;
/** Small entries are gathered into writes of about this size. */
const BATCH = 256 * 1024;
const BLOCK = 512;

const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

/** The bytes of one header (PAX extended header first when the ustar fields cannot hold it). */
export function tarHeader(h: {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink' | 'Link';
  mode: number;
  size: number;
  mtime: number;
  linkpath?: string;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  const header = new Header({
    path: h.path,
    type: h.type,
    mode: h.mode,
    uid: 0,
    gid: 0,
    size: h.size,
    mtime: new Date(h.mtime * 1000),
    uname: '',
    gname: '',
    ...(h.linkpath === undefined ? {} : { linkpath: h.linkpath }),
  });
  if (!header.encode(block, 0)) return block;
  const pax = new Pax({
    path: h.path,
    ...(h.linkpath === undefined ? {} : { linkpath: h.linkpath }),
    ...(h.size > 0o77777777777 ? { size: h.size } : {}),
    mtime: new Date(h.mtime * 1000),
  }).encode();
  return Buffer.concat([pax, block]);
}

function headerFor(e: ContextEntry, linkTo: string | undefined, size: number): Buffer {
  switch (e.type) {
    case 'dir':
      return tarHeader({ path: `${e.path}/`, type: 'Directory', mode: e.mode, size: 0, mtime: e.mtime });
    case 'symlink':
      return tarHeader({ path: e.path, type: 'SymbolicLink', mode: e.mode, size: 0, mtime: e.mtime, linkpath: e.linkTarget ?? '' });
    default:
      if (linkTo !== undefined) return tarHeader({ path: e.path, type: 'Link', mode: e.mode, size: 0, mtime: e.mtime, linkpath: linkTo });
      return tarHeader({ path: e.path, type: 'File', mode: e.mode, size, mtime: e.mtime });
  }
}

/** For each file that is a second name of an inode already sent, the first name (docker CLI rule). */
export function hardLinks(entries: readonly ContextEntry[]): Map<number, string> {
  const seen = new Map<string, string>();
  const links = new Map<number, string>();
  entries.forEach((e, i) => {
    if (e.type !== 'file' || e.nlink < 2) return;
    const key = `${e.dev}:${e.ino}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, e.path);
    else links.set(i, first);
  });
  return links;
}

/** The exact size of the tar {@link contextTar} writes for these entries (no file is read). */
export function contextTarSize(entries: readonly ContextEntry[], append: readonly VirtualFile[] = [], replace?: ReadonlyMap<string, Buffer>): number {
  const links = hardLinks(entries);
  let total = 0;
  entries.forEach((e, i) => {
    const size = e.type === 'file' && !links.has(i) ? (replace?.get(e.path)?.length ?? e.size) : 0;
    total += headerFor(e, links.get(i), size).length + padded(size);
  });
  for (const f of append) total += tarHeader({ path: f.path, type: 'File', mode: f.mode, size: f.content.length, mtime: f.mtime }).length + padded(f.content.length);
  return total + 2 * BLOCK;
}

function changed(path: string, expected: number, got: number): ImgtoolError {
  return new ImgtoolError('CONTEXT_UNREADABLE', `${path} changed while the build context was being sent (expected ${expected} bytes, read ${got})`, {
    details: { file: path },
    hint: 'stop whatever is writing to the file during the build, or exclude it in .dockerignore',
  });
}

function cannotRead(path: string, err: unknown): ImgtoolError {
  if (err instanceof ImgtoolError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ELOOP' ? 'it was replaced by a symlink while the context was being sent' : (code ?? (err as Error).message);
  return new ImgtoolError('CONTEXT_UNREADABLE', `cannot read ${path} in the build context: ${why}`, {
    cause: err,
    details: { file: path },
    hint: 'make it readable, or exclude it in .dockerignore',
  });
}

// The callback API with plain descriptors: fs/promises FileHandles cost several times more
// main-thread time per file, which dominates with tens of thousands of small files.
const openFd = promisify(openCb);
const closeFd = promisify(closeCb);
const readFd = (fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => readCb(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));

/** A file descriptor of a context file. */
interface Fd {
  readonly fd: number;
  close(): Promise<void>;
}

/** Opens a context file without following a symlink that replaced it since the walk. */
async function openNoFollow(contextDir: string, path: string): Promise<Fd> {
  let fd: number;
  try {
    fd = await openFd(join(contextDir, path), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw cannotRead(path, err);
  }
  return { fd, close: () => closeFd(fd) };
}

/** Reads `size` bytes from `fh` into `buf` at `offset`; fails if the file is now shorter. */
async function readExactly(fh: Fd, buf: Buffer, offset: number, size: number, position: number, path: string, total: number): Promise<void> {
  let done = 0;
  while (done < size) {
    let n: number;
    try {
      n = await readFd(fh.fd, buf, offset + done, size - done, position + done);
    } catch (err) {
      throw cannotRead(path, err);
    }
    if (n === 0) throw changed(path, total, position + done);
    done += n;
  }
}

/** One small entry, fully rendered: header, content, padding. */
async function renderSmallFile(contextDir: string, e: ContextEntry, header: Buffer): Promise<Buffer> {
  const block = Buffer.allocUnsafe(header.length + padded(e.size));
  header.copy(block, 0);
  if (e.size > 0) {
    const fh = await openNoFollow(contextDir, e.path);
    try {
      await readExactly(fh, block, header.length, e.size, 0, e.path, e.size);
    } finally {
      await fh.close();
    }
  }
  block.fill(0, header.length + e.size);
  return block;
}

/**
 * Streams the tar of `entries` (then `append`), ending with the two zero blocks. `stats` is
 * updated as chunks are produced. Special files fail with CONTEXT_UNREADABLE naming the path;
 * so do files that cannot be opened or shrink while being read. Stopping the iteration
 * (request closed, abort) closes any open file.
 */
export function contextTar(opts: ContextTarOptions): { stream: AsyncGenerator<Buffer, void, undefined>; stats: ContextTarStats } {
  const stats: ContextTarStats = { bytes: 0, entries: 0 };
  return { stream: generate(opts, stats), stats };
}

/**
 * Throws CONTEXT_UNREADABLE naming the first special file (fifo, socket, device) among
 * `entries`: call it before starting a request, so the build fails before anything is sent.
 */
export function assertSendable(entries: readonly ContextEntry[]): void {
  for (const e of entries) {
    if (e.type === 'special') {
      throw new ImgtoolError('CONTEXT_UNREADABLE', `${e.path} in the build context is a ${e.special ?? 'special file'}, which a build context cannot carry`, {
        details: { file: e.path },
        hint: `exclude it in .dockerignore (add a line "${e.path}")`,
      });
    }
  }
}

async function* generate(opts: ContextTarOptions, stats: ContextTarStats): AsyncGenerator<Buffer, void, undefined> {
  const { entries, contextDir, signal } = opts;
  const links = hardLinks(entries);
  assertSendable(entries);

  // Read-ahead of small files: index -> rendered block.
  const ahead = new Map<number, Promise<Buffer>>();
  let aheadBytes = 0;
  let nextAhead = 0;
  const isSmallFile = (i: number): boolean => {
    const e = entries[i] as ContextEntry;
    return e.type === 'file' && !links.has(i) && !opts.replace?.has(e.path) && e.size <= SMALL_FILE;
  };
  const fill = (from: number): void => {
    if (nextAhead < from) nextAhead = from;
    while (nextAhead < entries.length && ahead.size < PREFETCH_FILES && aheadBytes < PREFETCH_BYTES) {
      const i = nextAhead;
      const e = entries[i] as ContextEntry;
      // Read-ahead stops at the next large file so its chunks are not held up.
      if (e.type === 'file' && e.size > SMALL_FILE && !links.has(i) && !opts.replace?.has(e.path)) break;
      nextAhead++;
      if (!isSmallFile(i)) continue;
      const p = renderSmallFile(contextDir, e, headerFor(e, undefined, e.size));
      // Errors surface when the writer reaches this entry; avoid unhandled rejections until then.
      p.catch(() => undefined);
      ahead.set(i, p);
      aheadBytes += e.size;
    }
  };

  let batch: Buffer[] = [];
  let batchBytes = 0;
  const take = (): Buffer => {
    const out = batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, batchBytes);
    batch = [];
    batchBytes = 0;
    stats.bytes += out.length;
    return out;
  };
  const add = (b: Buffer): void => {
    batch.push(b);
    batchBytes += b.length;
  };

  try {
    for (let i = 0; i < entries.length; i++) {
      if (signal?.aborted) throw abortError(signal, 'sending the build context');
      const e = entries[i] as ContextEntry;
      const linkTo = links.get(i);
      const replacement = opts.replace?.get(e.path);
      if (e.type === 'file' && linkTo === undefined && replacement !== undefined) {
        add(headerFor(e, undefined, replacement.length));
        add(replacement);
        add(Buffer.alloc(padded(replacement.length) - replacement.length));
      } else if (isSmallFile(i)) {
        fill(i);
        const prefetched = ahead.get(i);
        ahead.delete(i);
        const block = await (prefetched ?? renderSmallFile(contextDir, e, headerFor(e, undefined, e.size)));
        if (prefetched) aheadBytes -= e.size;
        add(block);
        fill(i + 1);
      } else if (e.type === 'file' && linkTo === undefined) {
        // A large file: flush what is pending, then stream it in chunks.
        add(headerFor(e, undefined, e.size));
        yield take();
        const fh = await openNoFollow(contextDir, e.path);
        try {
          let pos = 0;
          while (pos < e.size) {
            if (signal?.aborted) throw abortError(signal, 'sending the build context');
            const n = Math.min(CHUNK, e.size - pos);
            const chunk = Buffer.allocUnsafe(n);
            await readExactly(fh, chunk, 0, n, pos, e.path, e.size);
            pos += n;
            stats.bytes += n;
            // Keep the read-ahead of the following small files going while this file streams.
            if (pos >= e.size) fill(i + 1);
            yield chunk;
          }
        } finally {
          await fh.close();
        }
        const pad = padded(e.size) - e.size;
        if (pad > 0) add(Buffer.alloc(pad));
      } else {
        add(headerFor(e, linkTo, 0));
      }
      stats.entries++;
      if (batchBytes >= BATCH) yield take();
    }
    for (const f of opts.append ?? []) {
      add(tarHeader({ path: f.path, type: 'File', mode: f.mode, size: f.content.length, mtime: f.mtime }));
      add(f.content);
      add(Buffer.alloc(padded(f.content.length) - f.content.length));
      stats.entries++;
    }
    add(Buffer.alloc(2 * BLOCK));
    yield take();
  } finally {
    // Let read-ahead finish quietly; their file handles close in renderSmallFile.
    for (const p of ahead.values()) p.catch(() => undefined);
  }
}
