/**
 * Builds tar archives byte by byte for tests, so hostile inputs (absolute paths, `../`,
 * truncation, bad checksums) can be made that well-behaved writers refuse to produce.
 */
import { gzipSync } from 'node:zlib';

/** One entry to write. */
export interface BuildEntry {
  readonly path: string;
  readonly type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char';
  readonly content?: Buffer | string;
  /** Declared size when it must differ from the content (truncation tests). */
  readonly size?: number;
  readonly linkpath?: string;
  /** Write the path in a pax header instead of the name field. */
  readonly pax?: boolean;
}

const FLAGS = { file: '0', hardlink: '1', symlink: '2', char: '3', dir: '5' } as const;

function octal(value: number, len: number): string {
  return value.toString(8).padStart(len - 1, '0') + '\0';
}

/** A 512-byte ustar header. */
export function header(name: string, flag: string, size: number, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(1_700_000_000, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(flag, 156, 'ascii');
  h.write(linkname.slice(0, 100), 157, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7), 148, 'ascii');
  return h;
}

function pad(b: Buffer): Buffer {
  const rem = b.length % 512;
  return rem === 0 ? b : Buffer.concat([b, Buffer.alloc(512 - rem)]);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (`${len}${body}`.length !== len) len = `${len}${body}`.length;
  return `${len}${body}`;
}

/** A complete tar (with the two zero blocks) holding `entries`. */
export function buildTar(entries: readonly BuildEntry[], options: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = e.content === undefined ? Buffer.alloc(0) : Buffer.from(e.content);
    const size = e.size ?? (type === 'file' ? content.length : 0);
    if (e.pax) {
      const rec = Buffer.from(paxRecord('path', e.path));
      parts.push(header('PaxHeader', 'x', rec.length), pad(rec));
    }
    parts.push(header(e.pax ? 'placeholder' : e.path, FLAGS[type], size, e.linkpath ?? ''));
    if (type === 'file' && content.length > 0) parts.push(pad(content));
  }
  if (options.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** gzip of `buildTar(entries)`. */
export function buildTarGz(entries: readonly BuildEntry[]): Buffer {
  return gzipSync(buildTar(entries));
}

/** Yields `data` in chunks of `size` bytes (exercises chunk boundaries). */
export async function* chunked(data: Buffer, size = 7): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}
