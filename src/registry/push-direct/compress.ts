/**
 * Gzip a layer to a temporary file while hashing both sides: the uncompressed digest (the
 * diff id, checked against the config) and the compressed digest and size (what the registry
 * and the manifest need). A file, not memory: layers can be gigabytes, and a file can be
 * re-read by range for retries and chunked uploads. The encoder is {@link ParallelGzip}: all
 * cores on one layer, incompressible chunks stored, and deterministic for the same input and
 * level, so an unchanged layer compresses to the same digest on every push.
 */
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { ImgtoolError, abortError, isImgtoolError } from '../../image/errors.js';
import { ParallelGzip, type PgzipStats } from './pgzip.js';

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

/**
 * Default gzip level for compressible data. Level 6 (zlib's and Go's default, what docker
 * pushes) — see docs/benchmarks.md for the level/size/time measurements behind the choice.
 */
export const DEFAULT_GZIP_LEVEL = 6;

/** Default chunks deflated at once: every core, plus one so a core never waits on I/O. */
export function defaultCompressConcurrency(): number {
  return Math.min(8, availableParallelism() + 1);
}

/** Options for {@link gzipToFile}. */
export interface GzipToFileOptions {
  readonly level?: number;
  readonly signal?: AbortSignal;
  /** Chunks deflated at once (default {@link defaultCompressConcurrency}). */
  readonly concurrency?: number;
  /** Receives the encoder's counters when done (tests, benchmark). */
  readonly onStats?: (stats: PgzipStats) => void;
}

/** Compresses `input` into `path`. */
export async function gzipToFile(input: Readable | AsyncIterable<Uint8Array>, path: string, opts: GzipToFileOptions = {}): Promise<CompressedFile> {
  const level = opts.level ?? DEFAULT_GZIP_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new ImgtoolError('USAGE', `gzip level must be 0–9, got ${level}`);
  let file;
  try {
    file = await open(path, 'w', 0o600);
  } catch (err) {
    throw new ImgtoolError('IO', `creating ${path} failed: ${(err as Error).message}`, { cause: err });
  }
  const fh = file;
  let failed = false;
  try {
    // Writes are batched so the file gets few large writes rather than one per chunk.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const data = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await fh.write(data);
    };
    const gz = new ParallelGzip({ level, concurrency: opts.concurrency ?? defaultCompressConcurrency() }, async (bytes) => {
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes >= 1024 * 1024) await flush();
    });
    for await (const chunk of input as AsyncIterable<Uint8Array>) {
      if (opts.signal?.aborted) throw abortError(opts.signal, 'compressing a layer');
      await gz.push(chunk);
    }
    const r = await gz.end();
    await flush();
    opts.onStats?.(gz.stats);
    return { path, ...r };
  } catch (err) {
    failed = true;
    if (opts.signal?.aborted) throw abortError(opts.signal, 'compressing a layer');
    if (isImgtoolError(err)) throw err;
    throw new ImgtoolError('IO', `compressing a layer to ${path} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    await fh.close().catch(() => undefined);
    if (failed && typeof (input as Readable).destroy === 'function') (input as Readable).destroy();
  }
}
