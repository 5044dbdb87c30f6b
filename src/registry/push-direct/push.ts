/**
 * Direct push: upload an image straight to a registry without the engine's push.
 *   1. every blob (layers, config): HEAD in the target repository → present: skip;
 *      else mount from another repository the hints name (201 mounted / 202 upload);
 *      else upload (monolithic, or chunked when asked) — at most `concurrency` at a time;
 *   2. the manifest last, only after every blob it references was confirmed present.
 * Layers without a compressed form are gzipped to temporary files (digest and size learnt
 * on the way); a layer is never held in memory.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ImgtoolError, abortError, isImgtoolError } from '../../image/errors.js';
import { digestOf } from '../../image/digest.js';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  OCI_CONFIG,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  layerCompression,
} from '../../image/media-types.js';
import { parseImageManifest } from '../../image/manifest.js';
import { registryApiHost, type Reference } from '../../image/reference.js';
import type { Image, Layer } from '../../image/image.js';
import { RegistryClient, type RegistryClientOptions } from '../client/client.js';
import { bufferBlob, fileBlob, uploadBlob, type BlobSource } from '../client/upload.js';
import { pushScope } from '../client/scope.js';
import { explainRegistryFailure } from '../diagnose.js';
import { BlobLocations } from './blob-locations.js';
import { gzipToFile } from './compress.js';
import { limiter, type Limiter } from './limit.js';
import { spoolSaveTar, type SpooledImage } from './spool-save.js';

/** What happened to one blob. */
export type BlobOutcome = 'exists' | 'mounted' | 'uploaded';

/** Progress events for the CLI (one line per state change in plain mode). */
export type PushProgress =
  | { readonly kind: 'preparing'; readonly what: string }
  | { readonly kind: 'blob'; readonly digest: string; readonly size: number; readonly state: 'checking' | 'uploading' | BlobOutcome; readonly from?: string }
  | { readonly kind: 'manifest'; readonly digest: string };

/** Options for {@link pushDirect}. */
export interface PushDirectOptions extends RegistryClientOptions {
  /** Parallel blob uploads (default 4). */
  readonly concurrency?: number;
  /** Upload in chunks of this many bytes (`--chunk-size`). */
  readonly chunkSize?: number;
  /** Hints of where blobs live (cross-repository mounts); updated as blobs are seen. */
  readonly blobLocations?: BlobLocations;
  /** Directory for temporary compressed layers (default: the OS temp dir). */
  readonly tmpDir?: string;
  /** gzip level for layers imgtool compresses (default 6). */
  readonly gzipLevel?: number;
  readonly onProgress?: (event: PushProgress) => void;
  /** Use this client (its registry must be the target's API host). */
  readonly client?: RegistryClient;
}

/** The result of a push. */
export interface PushResult {
  /** The reference pushed, e.g. `127.0.0.1:5000/team/app:1.0`. */
  readonly reference: string;
  /** Manifest digest. */
  readonly digest: string;
  readonly mediaType: string;
  /** Manifest size in bytes. */
  readonly size: number;
  /** Blob counts by outcome (layers and config). */
  readonly blobs: { exists: number; mounted: number; uploaded: number };
  /** Blob bytes sent to the registry. */
  readonly bytesUploaded: number;
}

/** An image to push by way of a `docker save` tar (the engine or a docker-archive file). */
export interface SaveTarSource {
  readonly kind: 'save-tar';
  /** skopeo-style name for messages: `docker-daemon:app:1`, `docker-archive:/x.tar`. */
  readonly source: string;
  /** Opens the tar stream. */
  open(signal?: AbortSignal): Promise<Readable>;
  /** RepoTag to pick when the tar holds several images. */
  readonly select?: string;
}

/** Reads the image to push from an engine (`GET /images/{name}/get`). */
export function engineSource(engine: { imageSave(names: readonly string[], signal?: AbortSignal): Promise<Readable> }, name: string): SaveTarSource {
  return { kind: 'save-tar', source: `docker-daemon:${name}`, open: (signal) => engine.imageSave([name], signal), select: name };
}

/** Reads the image to push from a `docker save` file (`docker-archive:<path>[:<repo:tag>]`). */
export function dockerArchiveSource(path: string, select?: string): SaveTarSource {
  return {
    kind: 'save-tar',
    source: `docker-archive:${path}`,
    open: async (signal) => createReadStream(path, signal === undefined ? {} : { signal }),
    ...(select === undefined ? {} : { select }),
  };
}

interface PreparedBlob {
  readonly source: BlobSource;
  readonly mediaType: string;
}

/** Stream-backed blob source: a range re-reads from the start (fine for retries, rare for chunks). */
function streamBlob(layer: Layer & { digest: string; size: number }): BlobSource {
  return {
    digest: layer.digest,
    size: layer.size,
    open: async (start, end, signal) => {
      const full = await (layer.compressed as (s?: AbortSignal) => Promise<Readable>)(signal);
      if (start === 0 && end === layer.size) return full;
      return Readable.from(sliceStream(full, start, end));
    },
  };
}

async function* sliceStream(stream: Readable, start: number, end: number): AsyncGenerator<Buffer> {
  let pos = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const from = Math.max(start - pos, 0);
      const to = Math.min(end - pos, chunk.length);
      if (to > from) yield chunk.subarray(from, to);
      pos += chunk.length;
      if (pos >= end) break;
    }
  } finally {
    stream.destroy();
  }
}

/** Drives the blob uploads of one push. */
class Pusher {
  readonly counts = { exists: 0, mounted: 0, uploaded: 0 };
  private readonly done = new Map<string, Promise<BlobOutcome>>();
  private readonly limit: Limiter;

  constructor(
    readonly client: RegistryClient,
    readonly repository: string,
    private readonly opts: PushDirectOptions,
    private readonly locations: BlobLocations,
    private readonly signal: AbortSignal,
  ) {
    this.limit = limiter(opts.concurrency ?? 4);
  }

  /** Makes sure the registry has `blob` in the repository (memoised per digest). */
  ensure(blob: BlobSource): Promise<BlobOutcome> {
    let p = this.done.get(blob.digest);
    if (p === undefined) {
      p = this.limit(() => this.ensureNow(blob));
      this.done.set(blob.digest, p);
    }
    return p;
  }

  private async ensureNow(blob: BlobSource): Promise<BlobOutcome> {
    if (this.signal.aborted) throw abortError(this.signal, 'push');
    const { client, repository } = this;
    const sig = { signal: this.signal };
    const progress = this.opts.onProgress;
    progress?.({ kind: 'blob', digest: blob.digest, size: blob.size, state: 'checking' });
    const head = await client.headBlob(repository, blob.digest, sig);
    if (head !== undefined) {
      this.counts.exists++;
      this.locations.add(blob.digest, client.registry, repository);
      progress?.({ kind: 'blob', digest: blob.digest, size: blob.size, state: 'exists' });
      return 'exists';
    }
    let session;
    for (const from of this.locations.candidates(blob.digest, client.registry, repository).slice(0, 3)) {
      const r = await client.mountBlob(repository, blob.digest, from, sig);
      if (r.mounted) {
        this.counts.mounted++;
        this.locations.add(blob.digest, client.registry, repository);
        progress?.({ kind: 'blob', digest: blob.digest, size: blob.size, state: 'mounted', from });
        return 'mounted';
      }
      if (r.session !== undefined) {
        // The registry opened an ordinary upload instead; use it rather than opening another.
        session = r.session;
        break;
      }
    }
    progress?.({ kind: 'blob', digest: blob.digest, size: blob.size, state: 'uploading' });
    await uploadBlob(client, repository, blob, {
      ...sig,
      ...(this.opts.chunkSize === undefined ? {} : { chunkSize: this.opts.chunkSize }),
      ...(session === undefined ? {} : { session }),
      ...(this.opts.log === undefined ? {} : { log: this.opts.log }),
    });
    this.counts.uploaded++;
    this.locations.add(blob.digest, client.registry, repository);
    progress?.({ kind: 'blob', digest: blob.digest, size: blob.size, state: 'uploaded' });
    return 'uploaded';
  }
}

/** Builds a schema-2 style manifest (Docker or OCI flavour) for config + layers. */
function buildManifest(oci: boolean, config: { digest: string; size: number }, layers: ReadonlyArray<{ digest: string; size: number; mediaType: string }>): { bytes: Buffer; mediaType: string } {
  const mediaType = oci ? OCI_MANIFEST : DOCKER_MANIFEST;
  const doc = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: oci ? OCI_CONFIG : DOCKER_CONFIG, size: config.size, digest: config.digest },
    layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
  };
  return { bytes: Buffer.from(JSON.stringify(doc)), mediaType };
}

function isSaveTar(x: Image | SaveTarSource): x is SaveTarSource {
  return (x as SaveTarSource).kind === 'save-tar';
}

/**
 * Pushes `image` to `target` directly. Resolves with the manifest digest once the manifest
 * was accepted; every blob it names was confirmed present first.
 */
export async function pushDirect(image: Image | SaveTarSource, target: Reference, opts: PushDirectOptions = {}): Promise<PushResult> {
  const host = registryApiHost(target.registry);
  const own = new AbortController();
  const signal = opts.signal === undefined ? own.signal : AbortSignal.any([opts.signal, own.signal]);
  // The client gets only the caller's signal: our own abort must not stop the failure diagnosis.
  const client = opts.client ?? new RegistryClient(host, opts);
  const locations = opts.blobLocations ?? new BlobLocations();
  const pusher = new Pusher(client, target.repository, opts, locations, signal);
  const reference = target.tag ?? target.digest ?? 'latest';
  let spooled: SpooledImage | undefined;
  let tmp: string | undefined;
  const pending: Array<Promise<BlobOutcome>> = [];
  const track = (p: Promise<BlobOutcome>): void => {
    // The first failure cancels the rest; the error surfaces where the promise is awaited.
    p.catch(() => own.abort());
    pending.push(p);
  };
  try {
    // Fail fast on auth/TLS problems before reading a large image, and ask for pull+push once.
    await client.authorize([pushScope(target.repository)], signal);
    let img: Image;
    if (isSaveTar(image)) {
      opts.onProgress?.({ kind: 'preparing', what: `reading ${image.source}` });
      const tar = await image.open(signal);
      spooled = await spoolSaveTar(tar, {
        source: image.source,
        signal,
        ...(image.select === undefined ? {} : { select: image.select }),
        ...(opts.tmpDir === undefined ? {} : { tmpDir: opts.tmpDir }),
        ...(opts.gzipLevel === undefined ? {} : { gzipLevel: opts.gzipLevel }),
        // Start uploading each layer as soon as it is compressed.
        onLayer: (f) => track(pusher.ensure(fileBlob(f.path, f.digest, f.size))),
      });
      img = spooled;
    } else {
      img = image;
    }
    const rawConfig = await img.rawConfig(signal);
    const configDigest = digestOf(rawConfig);
    const layers = await img.layers(signal);
    const raw = img.rawManifest === undefined ? undefined : await img.rawManifest(signal).catch(() => undefined);
    const oci = raw?.mediaType === OCI_MANIFEST || layers.some((l) => l.mediaType.startsWith('application/vnd.oci.'));
    const prepared: PreparedBlob[] = [];
    for (const layer of layers) prepared.push(await prepareLayer(layer, oci, opts, signal, async () => (tmp ??= await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'imgtool-push-')))));
    for (const p of prepared) track(pusher.ensure(p.source));
    track(pusher.ensure(bufferBlob(rawConfig, configDigest)));
    const settled = await Promise.allSettled(pending);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !isImgtoolError(s.reason, 'ABORTED'));
    if (failure !== undefined) throw failure.reason;
    const aborted = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (aborted !== undefined) throw aborted.reason;

    // Reuse the source's manifest bytes when its blobs are exactly what was uploaded (the digest then survives the copy).
    let manifest: { bytes: Buffer; mediaType: string };
    if (raw !== undefined && manifestMatches(raw.bytes, raw.mediaType, configDigest, prepared)) {
      manifest = { bytes: raw.bytes, mediaType: raw.mediaType };
    } else {
      manifest = buildManifest(oci, { digest: configDigest, size: rawConfig.length }, prepared.map((p) => ({ digest: p.source.digest, size: p.source.size, mediaType: p.mediaType })));
    }
    const digest = await client.putManifest(target.repository, reference, manifest.bytes, manifest.mediaType, { signal });
    if (target.digest !== undefined && target.digest !== digest) {
      throw new ImgtoolError('DIGEST_MISMATCH', `the pushed manifest has digest ${digest}, not the ${target.digest} the target names`, {
        details: { reference: target.toString(), expected: target.digest, actual: digest },
      });
    }
    opts.onProgress?.({ kind: 'manifest', digest });
    return {
      reference: target.toString(),
      digest,
      mediaType: manifest.mediaType,
      size: manifest.bytes.length,
      blobs: { ...pusher.counts },
      bytesUploaded: client.stats.bytesUploaded,
    };
  } catch (caught) {
    own.abort();
    const settled = await Promise.allSettled(pending);
    let err = caught;
    if (isImgtoolError(err, 'ABORTED') && opts.signal?.aborted !== true) {
      // Our own abort (after an upload failed) surfaced first; report the failure that caused it.
      const cause = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !isImgtoolError(s.reason, 'ABORTED'));
      if (cause !== undefined) err = cause.reason;
    }
    throw await explainRegistryFailure(err, {
      client,
      repository: target.repository,
      tag: reference,
      ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
      operation: 'push',
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  } finally {
    await spooled?.cleanup().catch(() => undefined);
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (opts.client === undefined) await client.close();
  }
}

function manifestMatches(bytes: Buffer, mediaType: string, configDigest: string, prepared: readonly PreparedBlob[]): boolean {
  try {
    const m = parseImageManifest(bytes, mediaType);
    return m.config.digest === configDigest && m.layers.length === prepared.length && m.layers.every((l, i) => l.digest === prepared[i]?.source.digest);
  } catch {
    return false;
  }
}

/** Turns a layer into an uploadable blob: its own compressed form, or a fresh gzip file. */
async function prepareLayer(layer: Layer, oci: boolean, opts: PushDirectOptions, signal: AbortSignal, tmpDir: () => Promise<string>): Promise<PreparedBlob> {
  const compression = layerCompression(layer.mediaType);
  const blobPath = (layer as { blobPath?: unknown }).blobPath;
  if (layer.digest !== undefined && layer.size !== undefined && (compression === 'gzip' || compression === 'zstd')) {
    const source = typeof blobPath === 'string' ? fileBlob(blobPath, layer.digest, layer.size) : layer.compressed !== undefined ? streamBlob(layer as Layer & { digest: string; size: number }) : undefined;
    if (source !== undefined) return { source, mediaType: layer.mediaType };
  }
  opts.onProgress?.({ kind: 'preparing', what: `compressing layer ${layer.diffId.slice(7, 19)}` });
  const dir = await tmpDir();
  const file = await gzipToFile(await layer.uncompressed(signal), join(dir, `${layer.diffId.replace(':', '-')}.gz`), {
    signal,
    ...(opts.gzipLevel === undefined ? {} : { level: opts.gzipLevel }),
  });
  if (file.diffId !== layer.diffId) {
    throw new ImgtoolError('DIGEST_MISMATCH', `a layer hashes to ${file.diffId}, but the image config says ${layer.diffId}`, {
      details: { expected: layer.diffId, actual: file.diffId },
      hint: 'the image source is damaged; rebuild or re-save the image',
    });
  }
  return { source: fileBlob(file.path, file.digest, file.size), mediaType: oci ? OCI_LAYER_GZIP : DOCKER_LAYER_GZIP };
}
