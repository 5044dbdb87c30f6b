/**
 * Reads a `docker save` tar as a stream (from the engine's `GET /images/{name}/get` or a
 * `docker-archive:` file) in one pass, compressing each layer to a temporary file as it goes
 * by, so nothing is held in memory. When nothing can be skipped, a layer is compressed straight
 * from the tar (a large one also streamed to the registry); when the registry may have some
 * layers already, each is copied raw and hashed first and compressed only if its diff id is not
 * one the registry has. The small JSON documents (manifest.json, the config) are kept in
 * memory. Both layouts are understood: Engine ≤ 24 (`<id>/layer.tar`, `<hex>.json`, symlinks
 * for repeated layers) and Engine ≥ 25 (an OCI layout with uncompressed `blobs/sha256/<hex>`
 * plus manifest.json).
 * A layer is announced through `onLayer` as soon as it is compressed, so uploads can start
 * while the rest of the tar still streams.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { join, posix } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { ImgtoolError, abortError, isImgtoolError } from '../../image/errors.js';
import { DigestingStream } from '../../image/digest.js';
import { parseSaveManifest } from '../../layers/docker-archive.js';
import { DOCKER_LAYER_GZIP } from '../../image/media-types.js';
import { parseImageConfig, type ImageConfig } from '../../image/manifest.js';
import type { Image, Layer } from '../../image/image.js';
import { gzipToFile, type CompressedFile } from './compress.js';
import type { PgzipStats } from './pgzip.js';
import { limiter } from './limit.js';

/** A layer compressed to a file by the spooler. */
export interface SpooledLayer extends Layer {
  readonly digest: string;
  readonly size: number;
  /** The compressed blob on disk (readable by range). */
  readonly blobPath: string;
}

/** An image read from a save tar; call `cleanup()` when done with it. */
export interface SpooledImage extends Image {
  readonly repoTags: readonly string[];
  /** Layers in order; a layer `known` said the registry has is a {@link KnownSpooledLayer}. */
  spooledLayers(): ReadonlyArray<SpooledLayer | KnownSpooledLayer>;
  /** Every layer with its compressed file (fails when a layer was skipped as known). */
  layers(signal?: AbortSignal): Promise<SpooledLayer[]>;
  /** Removes the temporary files. */
  cleanup(): Promise<void>;
}

/** Options for {@link spoolSaveTar}. */
export interface SpoolOptions {
  /** Where the temporary directory goes (default: the OS temp dir). */
  readonly tmpDir?: string;
  readonly signal?: AbortSignal;
  /** gzip level (default `DEFAULT_GZIP_LEVEL`, see compress.ts). */
  readonly gzipLevel?: number;
  /** Called when a layer file is ready, before the tar has been read to its end. */
  readonly onLayer?: (layer: CompressedFile & { readonly entryPath: string; readonly streamed?: LayerStream }) => void;
  /**
   * Asked for a sink before a large layer (at least `streamMinBytes` uncompressed) is compressed
   * straight from the tar; the compressed bytes then also go there as they are made (an upload
   * that runs during compression). The sink comes back with the layer in `onLayer`.
   */
  readonly streamLayer?: () => Promise<LayerStream | undefined>;
  /** Smallest layer (uncompressed bytes) offered to `streamLayer` (default 32 MiB). */
  readonly streamMinBytes?: number;
  /** With several images in the tar, the RepoTag to pick (e.g. `app:1.0`). */
  readonly select?: string;
  /** Description of the source for messages, e.g. `docker-daemon:app:1.0`. */
  readonly source: string;
  /** Chunks deflated at once (default: see `defaultCompressConcurrency`). */
  readonly compressConcurrency?: number;
  /** Receives each compression's counters (tests, benchmark). */
  readonly onCompressStats?: (stats: PgzipStats) => void;
  /**
   * Whether the registry already has (or can mount) a layer with this diff id; such a layer is
   * hashed but not compressed, and comes back as a {@link KnownSpooledLayer}.
   */
  readonly known?: (diffId: string) => Promise<boolean>;
  /**
   * True when `known` may answer yes for some layer: layers are then copied raw and hashed
   * before deciding to compress; otherwise each layer is compressed straight from the tar.
   */
  readonly mayKnow?: boolean;
}

/** Where a streamed layer's compressed bytes go while it is compressed. */
export interface LayerStream {
  write(bytes: Buffer): Promise<void>;
  /** Called when the layer could not be compressed: the sink is of no more use. */
  abort(): void;
}

/** Layers smaller than this are not streamed: their upload after compression is short anyway. */
const STREAM_MIN_BYTES = 32 * 1024 * 1024;

/** A layer the registry has already: hashed (or named by its diff id), not compressed. */
export interface KnownSpooledLayer {
  readonly known: true;
  readonly diffId: string;
}

// Small documents are kept in memory; anything bigger that is not JSON is treated as a layer.
const SMALL = 1024 * 1024;
const MAX_JSON = 32 * 1024 * 1024;
// Bytes of one entry buffered ahead of its consumer before the input waits.
const ENTRY_BUFFER = 4 * 1024 * 1024;

interface ManifestEntry {
  readonly Config: string;
  readonly RepoTags?: readonly string[] | null;
  readonly Layers: readonly string[];
}

function cleanPath(p: string): string {
  return posix.normalize(p.replace(/^\.\/+/, '')).replace(/^\/+/, '');
}

function invalid(source: string, why: string): ImgtoolError {
  return new ImgtoolError('ARCHIVE_INVALID', `${source} is not a usable docker save archive: ${why}`, {
    details: { reference: source },
    hint: 'produce it with `docker save -o image.tar <image>` (or read the image from the engine instead)',
  });
}

/**
 * What a failure while reading the tar becomes: errors from the tar parser and zlib (a corrupt or
 * truncated archive, found by fuzzing, issue 7) are ARCHIVE_INVALID; system errors are IO.
 */
function asImgtoolError(err: unknown, opts: SpoolOptions): ImgtoolError {
  if (isImgtoolError(err)) return err;
  if (opts.signal?.aborted) return abortError(opts.signal, `reading ${opts.source}`);
  const message = err instanceof Error ? err.message : String(err);
  if (typeof (err as NodeJS.ErrnoException | undefined)?.syscall === 'string') {
    return new ImgtoolError('IO', `reading ${opts.source} failed: ${message}`, { cause: err, details: { reference: opts.source } });
  }
  const e = invalid(opts.source, message);
  return new ImgtoolError(e.code, e.message, { cause: err, details: e.details, ...(e.hint === undefined ? {} : { hint: e.hint }) });
}

async function readSmall(stream: Readable, path: string, max: number, source: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw invalid(source, `${path} is larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Spools a save tar; resolves once the whole tar was read and every layer compressed. */
export async function spoolSaveTar(tar: Readable, opts: SpoolOptions): Promise<SpooledImage> {
  const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'imgtool-push-'));
  const small = new Map<string, Buffer>();
  const files = new Map<string, CompressedFile | KnownSpooledLayer>();
  const links = new Map<string, string>();
  let counter = 0;
  const compressions: Array<Promise<void>> = [];
  // One layer at a time: each compression already keeps every core busy.
  const compressLimit = limiter(1);
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      // Entries are handled one at a time, in archive order: the parser waits for each.
      let chain = Promise.resolve();
      let failed = false;
      const fail = (err: unknown): void => {
        if (failed) return;
        failed = true;
        tar.destroy();
        reject(asImgtoolError(err, opts));
      };
      // Entries flow as the parser reads them; each one's bytes go into its own bounded
      // buffer (a PassThrough), and the input loop below waits whenever that buffer is full.
      // This keeps memory flat without relying on node-tar's own backpressure between entries.
      let current: PassThrough | undefined;
      const parser = new Parser({
        onReadEntry: (entry: ReadEntry) => {
          const path = cleanPath(entry.path);
          const isFile = entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile';
          if (entry.type === 'SymbolicLink' && entry.linkpath !== undefined) {
            links.set(path, cleanPath(posix.join(posix.dirname(path), entry.linkpath)));
          }
          // The bare Parser never resumes entries itself (only tar.list() does): skipped ones must be drained here.
          if (!isFile || failed) return void entry.resume();
          const sink = new PassThrough({ highWaterMark: ENTRY_BUFFER });
          current = sink;
          entry.on('data', (c: Buffer) => sink.write(c));
          entry.on('end', () => sink.end());
          entry.resume();
          const size = entry.size ?? 0;
          chain = chain.then(async () => {
            if (failed) return void sink.resume();
            const isJson = path.endsWith('.json') || path === 'repositories' || path === 'oci-layout' || path.endsWith('/VERSION') || path.endsWith('/json');
            if (isJson || (size < SMALL && !path.endsWith('layer.tar'))) {
              small.set(path, await readSmall(sink, path, isJson ? MAX_JSON : SMALL, opts.source));
              return;
            }
            const n = counter++;
            const gzPath = join(dir, `layer-${n}.gz`);
            const gzOpts = {
              ...(opts.gzipLevel === undefined ? {} : { level: opts.gzipLevel }),
              ...(opts.signal === undefined ? {} : { signal: opts.signal }),
              ...(opts.compressConcurrency === undefined ? {} : { concurrency: opts.compressConcurrency }),
              ...(opts.onCompressStats === undefined ? {} : { onStats: opts.onCompressStats }),
            };
            // Engine ≥ 25 names layers by their diff id (OCI layout): a layer the registry has is skipped unread.
            const named = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(path);
            if (named !== null && opts.known !== undefined && (await opts.known(`sha256:${named[1] as string}`))) {
              await pipeline(sink, new Writable({ write: (_c, _e, cb) => cb() }), opts.signal === undefined ? {} : { signal: opts.signal });
              files.set(path, { known: true, diffId: `sha256:${named[1] as string}` });
              return;
            }
            if (opts.known === undefined || opts.mayKnow !== true) {
              // Nothing can be skipped: compress straight from the tar (all cores on this layer),
              // a large layer streaming to the registry at the same time.
              const stream = opts.streamLayer !== undefined && size >= (opts.streamMinBytes ?? STREAM_MIN_BYTES) && !failed ? await opts.streamLayer() : undefined;
              let file: CompressedFile;
              try {
                file = await gzipToFile(sink, gzPath, stream === undefined ? gzOpts : { ...gzOpts, tee: (b) => stream.write(b) });
              } catch (err) {
                stream?.abort();
                throw err;
              }
              files.set(path, file);
              opts.onLayer?.({ ...file, entryPath: path, ...(stream === undefined ? {} : { streamed: stream }) });
              return;
            }
            // Some layers may be in the registry already: copy the raw layer to disk while hashing
            // it (disk speed, far faster than deflate), and compress it only when its diff id is
            // not one the registry has. The raw copy is deleted once compressed.
            const rawPath = join(dir, `layer-${n}.tar`);
            const hash = new DigestingStream();
            await pipeline(sink, hash, createWriteStream(rawPath, { mode: 0o600 }), opts.signal === undefined ? {} : { signal: opts.signal });
            const { digest: diffId } = hash.result();
            if (await opts.known(diffId)) {
              await rm(rawPath, { force: true });
              files.set(path, { known: true, diffId });
              return;
            }
            const job = compressLimit(async () => {
              if (failed) return;
              const file = await gzipToFile(createReadStream(rawPath), gzPath, gzOpts);
              await rm(rawPath, { force: true });
              files.set(path, file);
              opts.onLayer?.({ ...file, entryPath: path });
            });
            compressions.push(job);
            job.catch(fail);
          }).catch(fail);
        },
      });
      parser.on('error', fail);
      parser.on('warn', (code: string, message: string | Error) => {
        if (code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ABORT') fail(invalid(opts.source, String(message)));
      });
      parser.on('end', () => {
        chain.then(() => Promise.all(compressions)).then(() => (failed ? undefined : resolve()), fail);
      });
      const onAbort = (): void => fail(abortError(opts.signal, `reading ${opts.source}`));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      // Feed the parser from an async loop rather than pipe(): with pipe(), a source that
      // resumes synchronously re-enters the parser while it is consuming, and node-tar then
      // concatenates its buffer on every write (quadratic time, the whole tar in memory).
      void (async () => {
        try {
          for await (const chunk of tar as AsyncIterable<Buffer>) {
            if (failed) return;
            parser.write(chunk);
            const sink = current;
            if (sink !== undefined && sink.writableNeedDrain && !failed) {
              await new Promise<void>((r) => {
                const done = (): void => {
                  sink.off('drain', done);
                  sink.off('close', done);
                  r();
                };
                sink.on('drain', done);
                sink.on('close', done);
              });
            }
          }
          parser.end();
        } catch (err) {
          fail(opts.signal?.aborted ? abortError(opts.signal, `reading ${opts.source}`) : err);
        } finally {
          opts.signal?.removeEventListener('abort', onAbort);
        }
      })();
    });
    return await assemble(dir, small, files, links, opts, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function assemble(
  dir: string,
  small: Map<string, Buffer>,
  files: Map<string, CompressedFile | KnownSpooledLayer>,
  links: Map<string, string>,
  opts: SpoolOptions,
  cleanup: () => Promise<void>,
): Promise<SpooledImage> {
  const manifestBytes = small.get('manifest.json');
  if (manifestBytes === undefined) throw invalid(opts.source, 'it has no manifest.json');
  // Validated like the docker-archive source does: a hand-made manifest.json may hold anything.
  const entries: ManifestEntry[] = parseSaveManifest(manifestBytes, opts.source);
  let entry: ManifestEntry | undefined = entries[0];
  if (entries.length > 1 || opts.select !== undefined) {
    const want = opts.select;
    entry = entries.find((e) => want !== undefined && (e.RepoTags ?? []).some((t) => t === want || t === `${want}:latest` || t.endsWith(`/${want}`)));
    if (entry === undefined && entries.length === 1) entry = entries[0];
    if (entry === undefined) {
      throw invalid(opts.source, `it holds ${entries.length} images; name one of ${entries.flatMap((e) => e.RepoTags ?? []).join(', ') || '(untagged images)'}`);
    }
  }
  if (typeof entry?.Config !== 'string' || !Array.isArray(entry.Layers)) throw invalid(opts.source, 'manifest.json entry lacks Config or Layers');
  const resolve = (p: string): string => {
    let cur = cleanPath(p);
    for (let i = 0; i < 16 && links.has(cur); i++) cur = links.get(cur) as string;
    return cur;
  };
  const rawConfig = small.get(resolve(entry.Config));
  if (rawConfig === undefined) throw invalid(opts.source, `the config ${entry.Config} is missing`);
  const config: ImageConfig = parseImageConfig(rawConfig, `config of ${opts.source}`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== entry.Layers.length) {
    throw invalid(opts.source, `the config lists ${diffIds.length} layers but manifest.json ${entry.Layers.length}`);
  }
  const layers: Array<SpooledLayer | KnownSpooledLayer> = [];
  for (const [i, layerPath] of entry.Layers.entries()) {
    const path = resolve(layerPath);
    let file = files.get(path);
    const inMemory = small.get(path);
    if (file === undefined && inMemory !== undefined) {
      // A small layer was kept in memory while its role was unknown; compress it now.
      file = await gzipToFile(Readable.from([inMemory]), join(dir, `layer-small-${i}.gz`), {
        ...(opts.gzipLevel === undefined ? {} : { level: opts.gzipLevel }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
      files.set(path, file);
      opts.onLayer?.({ ...file, entryPath: path });
    }
    if (file === undefined) throw invalid(opts.source, `layer ${layerPath} is missing`);
    const expected = diffIds[i];
    if (file.diffId !== expected) {
      throw new ImgtoolError('DIGEST_MISMATCH', `layer ${i + 1} of ${opts.source} hashes to ${file.diffId}, but the config says ${expected ?? '(nothing)'}`, {
        details: { reference: opts.source, expected, actual: file.diffId },
        hint: 'the archive is damaged or was assembled by hand; save the image again',
      });
    }
    if ('known' in file) {
      layers.push(file);
      continue;
    }
    const f = file;
    layers.push({
      diffId: f.diffId,
      digest: f.digest,
      size: f.size,
      uncompressedSize: f.uncompressedSize,
      mediaType: DOCKER_LAYER_GZIP,
      blobPath: f.path,
      compressed: async (signal?: AbortSignal) => createReadStream(f.path, signal === undefined ? {} : { signal }),
      uncompressed: async (signal?: AbortSignal) => createReadStream(f.path, signal === undefined ? {} : { signal }).pipe(createGunzip()),
    });
  }
  const full = (): SpooledLayer[] => {
    if (layers.some((l) => 'known' in l)) throw new ImgtoolError('IO', `${opts.source}: some layers were skipped as already in the registry and have no local copy`);
    return layers as SpooledLayer[];
  };
  return {
    source: opts.source,
    repoTags: entry.RepoTags ?? [],
    rawConfig: async () => rawConfig,
    config: async () => config,
    spooledLayers: () => layers,
    layers: async () => full(),
    cleanup,
  };
}
