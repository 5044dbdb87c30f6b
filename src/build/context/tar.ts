/**
 * The build context as a tar stream, written entry by entry from disk in the order given, with
 * the headers the docker CLI writes: uid/gid 0, empty user and group names, the file's
 * permission bits (setuid/setgid/sticky included), mtime in whole seconds, PAX records only
 * when a name does not fit a ustar header, hard links as links to the first copy sent.
 * Memory stays bounded whatever the context size: small files are read straight into batches
 * of at most {@link BATCH} bytes, one batch ahead of the writer; large files go in chunks.
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

/** Files up to this size go inside a batch; larger ones are streamed in {@link CHUNK}s. */
const SMALL_FILE = 256 * 1024;
/** Size of a batch of small entries (one allocation, one write). */
const BATCH = 512 * 1024;
/** Reads in flight while a batch is filled. */
const PREFETCH_FILES = 64;
/** Chunk size for large files. */
const CHUNK = 512 * 1024;
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

/** A run of consecutive entries rendered into one buffer, possibly ending with a large file's header. */
interface Batch {
  readonly buf: Buffer;
  /** Index of the first entry after this batch. */
  readonly next: number;
  /** A large file whose header ends `buf`; its content is streamed after it. */
  readonly large?: ContextEntry;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Renders entries from `start` into one buffer of at most {@link BATCH} bytes: headers, the
 * contents of small files (read concurrently straight into their place) and padding. One
 * allocation per batch keeps memory flat and avoids copying file contents twice.
 */
async function renderBatch(opts: ContextTarOptions, links: ReadonlyMap<number, string>, start: number): Promise<Batch> {
  const { entries, contextDir } = opts;
  const layout: { e: ContextEntry; header: Buffer; at: number; size: number; content?: Buffer }[] = [];
  let used = 0;
  let i = start;
  let large: ContextEntry | undefined;
  while (i < entries.length) {
    const e = entries[i] as ContextEntry;
    const linkTo = links.get(i);
    const replacement = e.type === 'file' && linkTo === undefined ? opts.replace?.get(e.path) : undefined;
    const isFile = e.type === 'file' && linkTo === undefined;
    const size = !isFile ? 0 : (replacement?.length ?? e.size);
    const header = headerFor(e, linkTo, size);
    if (isFile && replacement === undefined && size > SMALL_FILE) {
      if (used + header.length > BATCH && layout.length > 0) break;
      layout.push({ e, header, at: used, size: 0 });
      used += header.length;
      large = e;
      i++;
      break;
    }
    const need = header.length + padded(size);
    if (used + need > BATCH && layout.length > 0) break;
    layout.push({ e, header, at: used, size, ...(replacement === undefined ? {} : { content: replacement }) });
    used += need;
    i++;
  }
  const buf = Buffer.allocUnsafe(used);
  const reads: (typeof layout)[number][] = [];
  for (const item of layout) {
    item.header.copy(buf, item.at);
    const body = item.at + item.header.length;
    if (item.content !== undefined) item.content.copy(buf, body);
    else if (item.size > 0) reads.push(item);
    buf.fill(0, body + item.size, body + padded(item.size));
  }
  await eachLimit(reads, PREFETCH_FILES, async (item) => {
    const fh = await openNoFollow(contextDir, item.e.path);
    try {
      await readExactly(fh, buf, item.at + item.header.length, item.size, 0, item.e.path, item.size);
    } finally {
      // Closing a read-only descriptor cannot lose data: do not wait for it.
      fh.close().catch(() => undefined);
    }
  });
  return { buf, next: i, ...(large === undefined ? {} : { large }) };
}

async function* generate(opts: ContextTarOptions, stats: ContextTarStats): AsyncGenerator<Buffer, void, undefined> {
  const { entries, contextDir, signal } = opts;
  const links = hardLinks(entries);
  assertSendable(entries);
  const emit = (b: Buffer): Buffer => {
    stats.bytes += b.length;
    return b;
  };
  // The next batch is read while the current one is being sent (double buffering).
  let pending: Promise<Batch> | undefined = entries.length > 0 ? renderBatch(opts, links, 0) : undefined;
  try {
    while (pending !== undefined) {
      if (signal?.aborted) throw abortError(signal, 'sending the build context');
      const batch: Batch = await pending;
      pending = batch.next < entries.length ? renderBatch(opts, links, batch.next) : undefined;
      // Do not leave a rejected read-ahead unobserved if the consumer stops here.
      pending?.catch(() => undefined);
      stats.entries = batch.next;
      if (batch.buf.length > 0) yield emit(batch.buf);
      const e = batch.large;
      if (e === undefined) continue;
      const fh = await openNoFollow(contextDir, e.path);
      try {
        let pos = 0;
        while (pos < e.size) {
          if (signal?.aborted) throw abortError(signal, 'sending the build context');
          const n = Math.min(CHUNK, e.size - pos);
          const chunk = Buffer.allocUnsafe(n);
          await readExactly(fh, chunk, 0, n, pos, e.path, e.size);
          pos += n;
          yield emit(chunk);
        }
      } finally {
        await fh.close();
      }
      const pad = padded(e.size) - e.size;
      if (pad > 0) yield emit(Buffer.alloc(pad));
    }
    stats.entries = entries.length;
    const tail: Buffer[] = [];
    for (const f of opts.append ?? []) {
      tail.push(tarHeader({ path: f.path, type: 'File', mode: f.mode, size: f.content.length, mtime: f.mtime }), f.content, Buffer.alloc(padded(f.content.length) - f.content.length));
      stats.entries++;
    }
    tail.push(Buffer.alloc(2 * BLOCK));
    yield emit(Buffer.concat(tail));
  } finally {
    pending?.catch(() => undefined);
  }
}
