/**
 * A streaming tar reader (POSIX ustar, pax and GNU long names), written for inspection:
 * headers are parsed, bodies are skipped without copying unless the caller asks for one small
 * body, and every byte offset is reported so an archive on disk can be indexed in one pass
 * and read later with random access. Nothing is ever written to disk.
 *
 * Entry paths are untrusted: absolute paths and `..` components that climb above the root are
 * refused with a coded error instead of being "cleaned", so a hostile archive is reported,
 * not silently reinterpreted.
 */
import { ImgtoolError, abortError, type ImgtoolErrorCode } from '../image/errors.js';

/** What a tar entry is. */
export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo' | 'other';

/** One entry header, with its position in the archive. */
export interface TarEntry {
  /** Normalised path: no leading `./`, no trailing `/`, `''` for the root directory itself. */
  readonly path: string;
  /** The path exactly as the archive spells it. */
  readonly rawPath: string;
  readonly type: TarEntryType;
  /** Bytes of content stored for this entry (0 for links and directories). */
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Modification time in seconds since the epoch. */
  readonly mtime: number;
  /** Target of a symlink or hard link (hard link targets are archive paths, normalised). */
  readonly linkpath?: string;
  /** Offset of the entry's first header block (pax or GNU long-name headers included). */
  readonly headerOffset: number;
  /** Offset of the entry's content. */
  readonly dataOffset: number;
  /** The content, only when `wantBody` asked for it. */
  readonly body?: Buffer;
  /** What `consumeBody`'s consumer returned. */
  readonly consumed?: unknown;
}

/** Options for {@link readTar}. */
export interface ReadTarOptions {
  readonly signal?: AbortSignal;
  /** What is being read, for error messages (e.g. "layer sha256:ab… of oci:/dir"). */
  readonly what: string;
  /** Error code for malformed content: LAYER_INVALID for layers, ARCHIVE_INVALID for save tars. */
  readonly errorCode?: ImgtoolErrorCode;
  /** Return true to receive the entry's content in `body` (bounded by `maxBodyBytes`). */
  readonly wantBody?: (entry: TarEntry) => boolean;
  /** Largest body `wantBody` may ask for; default 64 MiB. */
  readonly maxBodyBytes?: number;
  /**
   * Return a consumer to stream an entry's content through it (e.g. to scan a nested layer tar
   * inside a docker save stream) before the entry is yielded; whatever it leaves unread is
   * skipped. Its result is yielded as `consumed`.
   */
  readonly consumeBody?: (entry: TarEntry) => ((content: AsyncIterable<Buffer>) => Promise<unknown>) | undefined;
}

const BLOCK = 512;

/**
 * Normalises an archive path, refusing absolute paths and paths that climb out of the root.
 * `a/./b/` becomes `a/b`; `./` becomes `''`.
 */
export function normalizeTarPath(raw: string, what: string, code: ImgtoolErrorCode = 'LAYER_INVALID'): string {
  if (raw.startsWith('/')) {
    throw new ImgtoolError(code, `${what} holds an entry with an absolute path ${JSON.stringify(raw.slice(0, 200))}`, {
      details: { path: raw.slice(0, 1000) },
      hint: 'image layers use paths relative to the root; this archive was not made by a container tool or was tampered with',
    });
  }
  const out: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) {
        throw new ImgtoolError(code, `${what} holds an entry whose path ${JSON.stringify(raw.slice(0, 200))} climbs out of the root`, {
          details: { path: raw.slice(0, 1000) },
          hint: 'refusing a path-traversal entry; do not use this archive',
        });
      }
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

/** Reads a NUL-terminated string field. */
function str(buf: Buffer, start: number, len: number): string {
  let end = start;
  const max = start + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString('utf8', start, end);
}

/** Reads an octal (or GNU base-256) numeric field; NaN when malformed. */
function num(buf: Buffer, start: number, len: number): number {
  const first = buf[start] as number;
  if (first & 0x80) {
    // GNU base-256: big-endian two's complement; negative values are never valid here.
    if (first & 0x40) return Number.NaN;
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + (buf[start + i] as number);
      if (v > Number.MAX_SAFE_INTEGER) return Number.NaN;
    }
    return v;
  }
  let v = 0;
  let seen = false;
  for (let i = start; i < start + len; i++) {
    const c = buf[i] as number;
    if (c === 0) break;
    if (c === 0x20) {
      if (seen) break;
      continue;
    }
    if (c < 0x30 || c > 0x37) return Number.NaN;
    v = v * 8 + (c - 0x30);
    seen = true;
  }
  return v;
}

function checksumOk(h: Buffer): boolean {
  const stored = num(h, 148, 8);
  if (Number.isNaN(stored)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function isZeroBlock(h: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

/** Parses pax records `"<len> key=value\n"` into `into`. */
function parsePax(body: Buffer, into: Map<string, string>, fail: (why: string) => never): void {
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // some writers pad with NULs
    const space = body.indexOf(0x20, pos);
    if (space < 0) fail('malformed pax record');
    const len = Number.parseInt(body.toString('ascii', pos, space), 10);
    if (!Number.isSafeInteger(len) || len <= space - pos || pos + len > body.length) fail('malformed pax record length');
    const record = body.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq < 0) fail('malformed pax record');
    into.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo',
};

/**
 * Yields the entries of a tar stream in order. Content not asked for is skipped as it flows.
 * Fails with `errorCode` on a damaged header, a truncated archive or an unsafe path. After the
 * end-of-archive marker the rest of the source is drained, so integrity checks placed in front
 * of it (digest verification) run and report.
 */
export async function* readTar(source: AsyncIterable<Buffer>, options: ReadTarOptions): AsyncGenerator<TarEntry> {
  const { what, signal } = options;
  const code = options.errorCode ?? 'LAYER_INVALID';
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const it = source[Symbol.asyncIterator]();
  let chunk: Buffer = Buffer.alloc(0);
  let pos = 0; // read position in `chunk`
  let offset = 0; // bytes consumed from the source
  let eof = false;

  const fail = (why: string, at = offset): never => {
    throw new ImgtoolError(code, `${what} is not a valid tar archive: ${why} (at byte ${at})`, {
      details: { offset: at },
      hint: 'the archive is damaged or truncated; produce it again',
    });
  };

  const pull = async (): Promise<boolean> => {
    if (eof) return false;
    if (signal?.aborted) throw abortError(signal, `reading ${what}`);
    let r: IteratorResult<Buffer>;
    try {
      r = await it.next();
    } catch (err) {
      if (err instanceof ImgtoolError) throw err;
      throw new ImgtoolError(code, `${what} could not be read: ${(err as Error).message}`, {
        cause: err,
        hint: 'the content is damaged or truncated (e.g. a cut-off gzip stream); fetch or produce it again',
      });
    }
    if (r.done) {
      eof = true;
      return false;
    }
    chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    pos = 0;
    return true;
  };

  /** Exactly `n` bytes (copied only when they span chunks); shorter at end of stream. */
  const read = async (n: number): Promise<Buffer> => {
    if (chunk.length - pos >= n) {
      const out = chunk.subarray(pos, pos + n);
      pos += n;
      offset += n;
      return out;
    }
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      if (pos >= chunk.length && !(await pull())) break;
      const take = Math.min(n - have, chunk.length - pos);
      parts.push(chunk.subarray(pos, pos + take));
      pos += take;
      offset += take;
      have += take;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, have);
  };

  /** Skips `n` bytes; returns how many could be skipped (less at end of stream). */
  const skip = async (n: number): Promise<number> => {
    let left = n;
    while (left > 0) {
      if (pos >= chunk.length && !(await pull())) break;
      const take = Math.min(left, chunk.length - pos);
      pos += take;
      offset += take;
      left -= take;
    }
    return n - left;
  };

  const globalPax = new Map<string, string>();
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let entryStart = -1;

  try {
    for (;;) {
      const headerAt = offset;
      const h = await read(BLOCK);
      if (h.length === 0) {
        // End of stream without the two zero blocks: tolerated at an entry boundary (Go does too),
        // a dangling pax/long-name header is not.
        if (entryStart >= 0) fail('archive ends after an extended header');
        return;
      }
      if (h.length < BLOCK) fail('archive is truncated inside a header', headerAt);
      if (isZeroBlock(h)) {
        // End-of-archive marker. Drain whatever follows (record padding) so verifying streams in
        // front of us see the end; nothing after the marker is interpreted.
        while (await pull()) {
          offset += chunk.length - pos;
          pos = chunk.length;
        }
        if (entryStart >= 0) fail('archive ends after an extended header');
        return;
      }
      if (!checksumOk(h)) fail('header checksum mismatch', headerAt);
      if (entryStart < 0) entryStart = headerAt;

      const flag = String.fromCharCode(h[156] as number);
      let size = num(h, 124, 12);
      if (Number.isNaN(size)) fail('malformed size field', headerAt);
      const magic = h.toString('latin1', 257, 263);

      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > 16 * 1024 * 1024) fail(`extended header of ${size} bytes is implausibly large`, headerAt);
        const body = await read(size);
        if (body.length < size) fail('archive is truncated inside an extended header', headerAt);
        await skip((BLOCK - (size % BLOCK)) % BLOCK);
        if (flag === 'x') {
          pax ??= new Map();
          parsePax(body, pax, (why) => fail(why, headerAt));
        } else if (flag === 'g') {
          parsePax(body, globalPax, (why) => fail(why, headerAt));
        } else {
          const nul = body.indexOf(0);
          const value = body.toString('utf8', 0, nul < 0 ? body.length : nul);
          if (flag === 'L') longName = value;
          else longLink = value;
        }
        continue;
      }

      let rawPath = longName ?? str(h, 0, 100);
      if (longName === undefined && magic === 'ustar\0') {
        const prefix = str(h, 345, 155);
        if (prefix) rawPath = `${prefix}/${rawPath}`;
      }
      let linkRaw = longLink ?? str(h, 157, 100);
      let mtime = num(h, 136, 12);
      let uid = num(h, 108, 8);
      let gid = num(h, 116, 8);
      if (globalPax.size > 0 || pax !== undefined) {
        const get = (k: string): string | undefined => pax?.get(k) ?? globalPax.get(k);
        const p = get('path');
        if (p !== undefined) rawPath = p;
        const l = get('linkpath');
        if (l !== undefined) linkRaw = l;
        const s = get('size');
        if (s !== undefined) {
          size = Number(s);
          if (!Number.isSafeInteger(size) || size < 0) fail('malformed pax size', headerAt);
        }
        const m = get('mtime');
        if (m !== undefined && Number.isFinite(Number(m))) mtime = Number(m);
        const u = get('uid');
        if (u !== undefined && Number.isSafeInteger(Number(u))) uid = Number(u);
        const g = get('gid');
        if (g !== undefined && Number.isSafeInteger(Number(g))) gid = Number(g);
      }
      let type: TarEntryType = TYPES[flag] ?? 'other';
      if (type === 'file' && flag === '\0' && rawPath.endsWith('/')) type = 'directory';
      // Links, directories and devices carry no content even if a header claims a size.
      const dataSize = type === 'file' || type === 'other' ? size : 0;
      if (type === 'hardlink' || type === 'symlink' || type === 'directory') size = 0;

      const path = normalizeTarPath(rawPath, what, code);
      let linkpath: string | undefined;
      if (type === 'hardlink') linkpath = normalizeTarPath(linkRaw, what, code);
      else if (type === 'symlink') linkpath = linkRaw;

      const dataOffset = offset;
      let body: Buffer | undefined;
      const base = {
        path,
        rawPath,
        type,
        size: dataSize,
        mode: Number.isNaN(num(h, 100, 8)) ? 0 : num(h, 100, 8),
        uid: Number.isNaN(uid) ? 0 : uid,
        gid: Number.isNaN(gid) ? 0 : gid,
        mtime: Number.isNaN(mtime) ? 0 : mtime,
        headerOffset: entryStart,
        dataOffset,
        ...(linkpath === undefined ? {} : { linkpath }),
      };
      pax = undefined;
      longName = undefined;
      longLink = undefined;
      entryStart = -1;

      const consumer = options.consumeBody?.(base);
      if (consumer !== undefined) {
        let left = dataSize;
        async function* content(): AsyncGenerator<Buffer> {
          while (left > 0) {
            if (pos >= chunk.length && !(await pull())) return;
            const take = Math.min(left, chunk.length - pos);
            const out = chunk.subarray(pos, pos + take);
            pos += take;
            offset += take;
            left -= take;
            yield out;
          }
        }
        const gen = content();
        const consumed = await consumer(gen);
        // Async generator calls queue: this waits for any read the consumer left in flight.
        await gen.return(undefined);
        if (left > 0 && (await skip(left)) < left) fail(`archive is truncated inside ${JSON.stringify(path)}`, offset);
        await skip((BLOCK - (dataSize % BLOCK)) % BLOCK);
        yield { ...base, consumed };
        continue;
      }
      if (options.wantBody?.(base) === true) {
        if (dataSize > maxBody) fail(`entry ${JSON.stringify(path)} is ${dataSize} bytes, more than the ${maxBody} allowed for metadata`, headerAt);
        body = Buffer.from(await read(dataSize)); // copy: the chunk it came from is reused
        if (body.length < dataSize) fail(`archive is truncated inside ${JSON.stringify(path)}`, offset);
        yield { ...base, body };
        await skip((BLOCK - (dataSize % BLOCK)) % BLOCK);
        continue;
      }
      yield base;
      const padded = dataSize + ((BLOCK - (dataSize % BLOCK)) % BLOCK);
      const skipped = await skip(padded);
      if (skipped < dataSize) fail(`archive is truncated inside ${JSON.stringify(path)}`, offset);
      // Missing padding after the last entry is tolerated like a missing end marker.
    }
  } finally {
    // Closing the iterator destroys the source stream when the consumer stops early.
    if (!eof) await it.return?.();
  }
}
