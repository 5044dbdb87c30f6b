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
import { Readable } from 'node:stream';
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
 * Default gzip level for compressible data: 1, as crane, ko and kaniko (go-containerregistry)
 * use. Against zlib's 6 (docker's choice) it is 1.5–2× faster per core for 7–14% larger
 * blobs on binaries, JavaScript and text (measurements in docs/benchmarks.md, "Push");
 * `--compression-level 6` gives docker-sized blobs.
 */
export const DEFAULT_GZIP_LEVEL = 1;

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
  /** Also receives every compressed byte, in order, as it is made (a streamed upload); awaited. */
  readonly tee?: (bytes: Buffer) => Promise<void>;
}

/**
 * Feeds `input` to `fn` chunk by chunk, waiting for each. A Readable is read through 'data'
 * events (paused while `fn` works) rather than async iteration, whose `read()` concatenates
 * everything buffered into a fresh copy on every step.
 */
async function forEachChunk(input: Readable | AsyncIterable<Uint8Array>, fn: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  if (!(input instanceof Readable)) {
    for await (const chunk of input) await fn(chunk);
    return;
  }
  const stream = input;
  await new Promise<void>((resolve, reject) => {
    let busy: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      stream.off('data', onData);
      reject(err);
    };
    const onData = (chunk: Uint8Array): void => {
      stream.pause();
      busy = fn(chunk).then(
        () => {
          if (!failed) stream.resume();
        },
        (err: unknown) => {
          fail(err);
        },
      );
    };
    stream.on('data', onData);
    stream.once('error', fail);
    stream.once('end', () => void busy.then(() => (failed ? undefined : resolve()), fail));
    stream.resume();
  });
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
    const tee = opts.tee;
    const gz = new ParallelGzip({ level, concurrency: opts.concurrency ?? defaultCompressConcurrency() }, async (bytes) => {
      if (tee !== undefined) await tee(bytes);
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes >= 1024 * 1024) await flush();
    });
    await forEachChunk(input, async (chunk) => {
      if (opts.signal?.aborted) throw abortError(opts.signal, 'compressing a layer');
      await gz.push(chunk);
    });
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
