/**
 * Gzip a layer to a temporary file while hashing both sides: the uncompressed digest (the
 * diff id, checked against the config) and the compressed digest and size (what the registry
 * and the manifest need). A file, not memory: layers can be gigabytes, and a file can be
 * re-read by range for retries and chunked uploads. Node's zlib is deterministic for the same
 * input and level, so an unchanged layer compresses to the same digest on every push.
 */
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DigestingStream } from '../../image/digest.js';
import { ImgtoolError, abortError } from '../../image/errors.js';

/** The outcome of {@link gzipToFile}. */
export interface CompressedFile {
  readonly path: string;
  /** sha256 of the uncompressed input (diff id). */
  readonly diffId: string;
  readonly uncompressedSize: number;
  /** sha256 of the gzip bytes (blob digest). */
  readonly digest: string;
  readonly size: number;
}

/** Default gzip level: zlib's default (6), the same trade-off docker makes. */
export const DEFAULT_GZIP_LEVEL = 6;

/** Compresses `input` into `path`. */
export async function gzipToFile(input: Readable | AsyncIterable<Uint8Array>, path: string, opts: { level?: number; signal?: AbortSignal } = {}): Promise<CompressedFile> {
  const raw = new DigestingStream();
  const packed = new DigestingStream();
  try {
    await pipeline(
      input,
      raw,
      createGzip({ level: opts.level ?? DEFAULT_GZIP_LEVEL }),
      packed,
      createWriteStream(path, { mode: 0o600 }),
      opts.signal === undefined ? {} : { signal: opts.signal },
    );
  } catch (err) {
    if (opts.signal?.aborted) throw abortError(opts.signal, 'compressing a layer');
    if (err instanceof ImgtoolError) throw err;
    throw new ImgtoolError('IO', `compressing a layer to ${path} failed: ${(err as Error).message}`, { cause: err });
  }
  const r = raw.result();
  const p = packed.result();
  return { path, diffId: r.digest, uncompressedSize: r.size, digest: p.digest, size: p.size };
}
