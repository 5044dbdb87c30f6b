/**
 * Turns a layer blob into its uncompressed tar as a stream: gzip is inflated on the fly,
 * zstd where the Node runtime has it, and "unknown" blobs are sniffed by their magic bytes
 * (docker save tars may hold either raw or gzip layers depending on the engine's store).
 */
import { Readable, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import { ImgtoolError } from '../image/errors.js';
import type { LayerCompression } from '../image/media-types.js';

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** The compression `head` (the first bytes of a blob) reveals. */
export function sniffCompression(head: Uint8Array): LayerCompression {
  if (head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) return 'gzip';
  if (head.length >= 4 && ZSTD_MAGIC.every((b, i) => head[i] === b)) return 'zstd';
  return 'none';
}

/** Reads at least `n` bytes (or to the end) and returns them with a stream replaying everything. */
async function peek(source: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = source[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = r.value as Buffer;
    parts.push(b);
    have += b.length;
  }
  const head = Buffer.concat(parts, have);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value as Buffer;
    }
  }
  const stream = Readable.from(replay(), { objectMode: false });
  // Destroying the replay stream must also release the source (file handle, socket).
  stream.once('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return { head, stream };
}

function inflater(compression: 'gzip' | 'zstd', what: string): NodeJS.ReadWriteStream & import('node:stream').Duplex {
  if (compression === 'gzip') return zlib.createGunzip({ chunkSize: 64 * 1024 });
  const z = zlib as unknown as { createZstdDecompress?: () => import('node:stream').Transform };
  if (typeof z.createZstdDecompress === 'function') return z.createZstdDecompress();
  throw new ImgtoolError('LAYER_INVALID', `${what} is zstd-compressed, which this Node.js runtime cannot decompress`, {
    hint: 'run imgtool on Node.js ≥ 22.15 for zstd layers, or use gzip layers',
  });
}

/**
 * The uncompressed content of `blob`. `compression` comes from the media type; `'auto'`
 * sniffs. Errors (bad gzip, truncation, digest checks placed before this) surface on the
 * returned stream, with zlib's errors wrapped as LAYER_INVALID.
 */
export async function decompressed(
  blob: Readable,
  compression: LayerCompression | 'auto',
  what: string,
): Promise<Readable> {
  let source = blob;
  let kind: LayerCompression;
  if (compression === 'auto') {
    const peeked = await peek(blob, 4);
    source = peeked.stream;
    kind = sniffCompression(peeked.head);
  } else {
    kind = compression;
  }
  if (kind === 'none') return source;
  let inflate: import('node:stream').Duplex;
  try {
    inflate = inflater(kind, what);
  } catch (err) {
    source.destroy();
    throw err;
  }
  const out = pipeline(source, inflate, () => {});
  // Wrap zlib's errors so callers see a coded error that names the layer.
  const wrapped = new Readable({
    read() {
      out.resume();
    },
    destroy(err, cb) {
      out.destroy();
      cb(err);
    },
  });
  out.on('data', (c: Buffer) => {
    if (!wrapped.push(c)) out.pause();
  });
  out.on('end', () => wrapped.push(null));
  out.on('error', (err: Error) => {
    wrapped.destroy(
      err instanceof ImgtoolError
        ? err
        : new ImgtoolError('LAYER_INVALID', `${what} could not be decompressed (${kind}): ${err.message}`, {
            cause: err,
            hint: 'the blob is damaged or truncated; fetch or produce it again',
          }),
    );
  });
  out.pause();
  return wrapped;
}
