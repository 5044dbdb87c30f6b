/**
 * Read access to the files of an on-disk image source, whether they sit in a directory (OCI
 * layout) or inside a tar (docker save, OCI archive). The tar flavour indexes entry offsets in
 * one pass and then reads byte ranges of the file: layers are never extracted or buffered.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ImgtoolError, abortError, type ImgtoolErrorCode } from '../image/errors.js';
import { normalizeTarPath, readTar, type TarEntry } from './tar.js';

/** Files of an image source, addressed by slash-separated relative paths. */
export interface FileStore {
  /** How the store is named in messages (e.g. `docker-archive:/x.tar`). */
  readonly describe: string;
  /** Size in bytes, or undefined when the file does not exist. */
  size(path: string, signal?: AbortSignal): Promise<number | undefined>;
  /** Reads a small file whole; fails when it is missing or larger than `maxBytes`. */
  read(path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
  /** A fresh stream of a file's content. */
  stream(path: string, signal?: AbortSignal): Promise<Readable>;
}

function missing(store: FileStore, path: string, code: ImgtoolErrorCode): ImgtoolError {
  return new ImgtoolError(code, `${store.describe} has no ${JSON.stringify(path)}`, {
    details: { path },
    hint: 'the image is incomplete or not in the format its prefix says; check the path and how it was produced',
  });
}

function tooLarge(store: FileStore, path: string, size: number, max: number, code: ImgtoolErrorCode): ImgtoolError {
  return new ImgtoolError(code, `${store.describe}: ${JSON.stringify(path)} is ${size} bytes, more than the ${max} expected for metadata`, {
    details: { path, size },
    hint: 'the file is not image metadata; the source is damaged or not an image',
  });
}

async function readRange(file: string, start: number, length: number, signal?: AbortSignal): Promise<Buffer> {
  if (signal?.aborted) throw abortError(signal, `reading ${file}`);
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, start + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done < length) throw new ImgtoolError('ARCHIVE_INVALID', `${file} is truncated (expected ${length} bytes at offset ${start})`);
    return buf;
  } finally {
    await fh.close();
  }
}

/** A directory on disk; paths may not climb out of it. */
export class DirectoryStore implements FileStore {
  readonly describe: string;
  constructor(
    private readonly dir: string,
    describe: string,
    private readonly code: ImgtoolErrorCode = 'MANIFEST_INVALID',
  ) {
    this.describe = describe;
  }

  private resolve(path: string): string {
    return join(this.dir, normalizeTarPath(path, this.describe, this.code));
  }

  async size(path: string, _signal?: AbortSignal): Promise<number | undefined> {
    try {
      const s = await stat(this.resolve(path));
      return s.isFile() ? s.size : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw new ImgtoolError('IO', `cannot read ${this.describe}/${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  async read(path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const size = await this.size(path);
    if (size === undefined) throw missing(this, path, this.code);
    if (size > maxBytes) throw tooLarge(this, path, size, maxBytes, this.code);
    return readRange(this.resolve(path), 0, size, signal);
  }

  async stream(path: string, signal?: AbortSignal): Promise<Readable> {
    const size = await this.size(path);
    if (size === undefined) throw missing(this, path, this.code);
    return createReadStream(this.resolve(path), { highWaterMark: 256 * 1024, ...(signal ? { signal } : {}) });
  }
}

interface IndexedEntry {
  readonly type: TarEntry['type'];
  readonly dataOffset: number;
  readonly size: number;
  readonly linkpath?: string;
}

/** A tar file on disk, indexed once; content is read by offset. */
export class TarFileStore implements FileStore {
  private constructor(
    private readonly file: string,
    readonly describe: string,
    private readonly entries: ReadonlyMap<string, IndexedEntry>,
  ) {}

  /**
   * Indexes `file` in one sequential pass (headers only; content is skipped). A gzip-compressed
   * archive cannot be read by offset and is refused with a hint.
   */
  static async open(file: string, describe: string, signal?: AbortSignal): Promise<TarFileStore> {
    let head: Buffer;
    try {
      const fh = await open(file, 'r');
      try {
        head = Buffer.alloc(4);
        await fh.read(head, 0, 4, 0);
      } finally {
        await fh.close();
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ImgtoolError(
        code === 'ENOENT' ? 'IMAGE_NOT_FOUND' : 'IO',
        `cannot open ${describe}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
        { cause: err, details: { file } },
      );
    }
    if (head[0] === 0x1f && head[1] === 0x8b) {
      throw new ImgtoolError('ARCHIVE_INVALID', `${describe} is gzip-compressed`, {
        details: { file },
        hint: `decompress it first (gunzip -k ${file}); imgtool reads archives by offset and never extracts layers`,
      });
    }
    const entries = new Map<string, IndexedEntry>();
    const stream = createReadStream(file, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) });
    for await (const e of readTar(stream, { what: describe, errorCode: 'ARCHIVE_INVALID', ...(signal ? { signal } : {}) })) {
      entries.set(e.path, {
        type: e.type,
        dataOffset: e.dataOffset,
        size: e.size,
        ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }),
      });
    }
    return new TarFileStore(file, describe, entries);
  }

  /** Follows symlinks (relative to the entry's directory) and hard links to a regular file. */
  private lookup(path: string): IndexedEntry | undefined {
    let p = normalizeTarPath(path, this.describe, 'ARCHIVE_INVALID');
    for (let hops = 0; hops < 16; hops++) {
      const e = this.entries.get(p);
      if (!e) return undefined;
      if (e.type === 'file') return e;
      if (e.type === 'hardlink' && e.linkpath !== undefined) {
        p = e.linkpath;
        continue;
      }
      if (e.type === 'symlink' && e.linkpath !== undefined) {
        const dir = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
        p = normalizeTarPath(e.linkpath.startsWith('/') ? e.linkpath.slice(1) : dir === '' ? e.linkpath : `${dir}/${e.linkpath}`, this.describe, 'ARCHIVE_INVALID');
        continue;
      }
      return undefined;
    }
    throw new ImgtoolError('ARCHIVE_INVALID', `${this.describe}: too many links resolving ${JSON.stringify(path)}`);
  }

  /** Paths of all entries (for format detection and error messages). */
  paths(): IterableIterator<string> {
    return this.entries.keys();
  }

  async size(path: string, _signal?: AbortSignal): Promise<number | undefined> {
    return this.lookup(path)?.size;
  }

  async read(path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const e = this.lookup(path);
    if (!e) throw missing(this, path, 'ARCHIVE_INVALID');
    if (e.size > maxBytes) throw tooLarge(this, path, e.size, maxBytes, 'ARCHIVE_INVALID');
    return readRange(this.file, e.dataOffset, e.size, signal);
  }

  async stream(path: string, signal?: AbortSignal): Promise<Readable> {
    const e = this.lookup(path);
    if (!e) throw missing(this, path, 'ARCHIVE_INVALID');
    if (e.size === 0) {
      const { Readable } = await import('node:stream');
      return Readable.from([]);
    }
    return createReadStream(this.file, {
      start: e.dataOffset,
      end: e.dataOffset + e.size - 1,
      highWaterMark: 256 * 1024,
      ...(signal ? { signal } : {}),
    });
  }
}
