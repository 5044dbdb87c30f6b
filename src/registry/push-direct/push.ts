/**
 * Direct push: upload an image straight to a registry without the engine's push.
 *   0. before reading any layer: learn which blobs the target repository has already, by diff id
 *      (`KnownBlobs`: the blob-location cache and the target tag's current manifest). When the
 *      source names its config digest and diff ids up front (the engine's image inspect) and
 *      every blob is there, the image is not exported at all: only the manifest is (re-)PUT;
 *   1. every other blob (layers, config): HEAD in the target repository → present: skip;
 *      else mount from another repository the hints name (201 mounted / 202 upload);
 *      else upload (monolithic, or chunked when asked) — at most `concurrency` at a time;
 *   2. the manifest last, only after every blob it references was confirmed present.
 * Layers without a compressed form are gzipped to temporary files (digest and size learnt
 * on the way; layers the registry has are hashed, not compressed); a layer is never held in memory.
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
import { KnownBlobs, type KnownBlob } from './known-blobs.js';
import { StreamedUpload } from './stream-upload.js';
import { gzipToFile } from './compress.js';
import { limiter, type Limiter } from './limit.js';
import type { SpooledImage } from './spool-save.js';

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
  /** gzip level for layers imgtool compresses (default `DEFAULT_GZIP_LEVEL`). */
  readonly gzipLevel?: number;
  /** Chunks of one layer deflated at once (default: cores + 1). */
  readonly compressConcurrency?: number;
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
  /** Layers imgtool compressed for this push (0 when the registry had them all). */
  readonly layersCompressed: number;
  /** Whether the image content was read from its source (false: the registry had everything). */
  readonly sourceRead: boolean;
}

/** What a source can say about an image without reading its layers. */
export interface ImageIdentity {
  /** sha256 of the raw config (the image ID on a classic engine store). */
  readonly configDigest: string;
  /** The config's `rootfs.diff_ids`. */
  readonly diffIds: readonly string[];
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
  /**
   * The image's config digest and diff ids, cheaply (no export); undefined when unknown. Lets a
   * push whose blobs the registry has skip reading the tar altogether.
   */
  identify?(signal?: AbortSignal): Promise<ImageIdentity | undefined>;
}

/** The engine calls {@link engineSource} uses. */
export interface EngineImageReader {
  imageSave(names: readonly string[], signal?: AbortSignal): Promise<Readable>;
  imageInspect?(name: string, signal?: AbortSignal): Promise<{ readonly Id: string; readonly RootFS?: { readonly Layers?: readonly string[] | null } }>;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/**
 * Reads the image to push from an engine (`GET /images/{name}/get`); identifies it with
 * `GET /images/{name}/json` (on a classic store the image ID is the config digest; the config
 * is read back from the registry and checked before it is relied on, see `KnownBlobs`).
 */
export function engineSource(engine: EngineImageReader, name: string): SaveTarSource {
  const inspect = engine.imageInspect?.bind(engine);
  return {
    kind: 'save-tar',
    source: `docker-daemon:${name}`,
    open: (signal) => engine.imageSave([name], signal),
    select: name,
    ...(inspect === undefined
      ? {}
      : {
          identify: async (signal?: AbortSignal): Promise<ImageIdentity | undefined> => {
            const info = await inspect(name, signal);
            const diffIds = info.RootFS?.Layers ?? [];
            if (!DIGEST_RE.test(info.Id) || diffIds.length === 0 || !diffIds.every((d) => DIGEST_RE.test(d))) return undefined;
            return { configDigest: info.Id, diffIds };
          },
        }),
  };
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
  /** Already confirmed in the registry (no HEAD or upload needed). */
  readonly ensured?: boolean;
  /** imgtool compressed it for this push. */
  readonly compressed?: boolean;
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
    private readonly abort: () => void,
  ) {
    this.limit = limiter(opts.concurrency ?? 4);
  }

  /**
   * Runs a registry task within the concurrency bound. A failure cancels the push before the
   * next queued task starts, so a registry that keeps failing sees one failing request, not one
   * per queued blob.
   */
  readonly run = <T>(task: () => Promise<T>): Promise<T> =>
    this.limit(async () => {
      if (this.signal.aborted) throw abortError(this.signal, 'push');
      try {
        return await task();
      } catch (err) {
        if (this.failure === undefined && !isImgtoolError(err, 'ABORTED')) this.failure = err;
        this.abort();
        throw err;
      }
    });

  /** The first failure that cancelled the push (what to report instead of the ABORTED it caused). */
  failure: unknown;

  /** Makes sure the registry has `blob` in the repository (memoised per digest). */
  ensure(blob: BlobSource): Promise<BlobOutcome> {
    let p = this.done.get(blob.digest);
    if (p === undefined) {
      p = this.run(() => this.ensureNow(blob));
      this.done.set(blob.digest, p);
    }
    return p;
  }

  /**
   * Completes a blob streamed to the registry while it was compressed (see `StreamedUpload`);
   * when that did not work, falls back to the ordinary path (HEAD, then upload from the file).
   */
  finishStreamed(blob: BlobSource, upload: StreamedUpload): Promise<BlobOutcome> {
    const existing = this.done.get(blob.digest);
    if (existing !== undefined) {
      // The same layer twice in one image: the first one is the upload.
      upload.abort();
      return existing;
    }
    const p = (async (): Promise<BlobOutcome> => {
      if (await upload.complete(blob.digest, blob.size)) {
        this.counts.uploaded++;
        this.locations.add(blob.digest, this.client.registry, this.repository);
        this.opts.onProgress?.({ kind: 'blob', digest: blob.digest, size: blob.size, state: 'uploaded' });
        return 'uploaded';
      }
      return this.run(() => this.ensureNow(blob));
    })();
    this.done.set(blob.digest, p);
    return p;
  }

  /** Counts a blob found present before the push read its source (once per digest). */
  count(outcome: 'exists' | 'mounted', blob: { digest: string; size: number }): void {
    if (this.done.has(blob.digest)) return;
    this.done.set(blob.digest, Promise.resolve(outcome));
    this.counts[outcome]++;
    this.opts.onProgress?.({ kind: 'blob', digest: blob.digest, size: blob.size, state: outcome });
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
  const pusher = new Pusher(client, target.repository, opts, locations, signal, () => own.abort());
  const known = new KnownBlobs(client, target.repository, locations, pusher.run, signal, opts.log);
  const reference = target.tag ?? target.digest ?? 'latest';
  let spooled: SpooledImage | undefined;
  let tmp: string | undefined;
  let layersCompressed = 0;
  let sourceRead = false;
  const streams: StreamedUpload[] = [];
  const pending: Array<Promise<BlobOutcome>> = [];
  const track = (p: Promise<BlobOutcome>): void => {
    // The first failure cancels the rest; the error surfaces where the promise is awaited.
    p.catch(() => own.abort());
    pending.push(p);
  };
  const finish = async (manifest: { bytes: Buffer; mediaType: string }): Promise<PushResult> => {
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
      layersCompressed,
      sourceRead,
    };
  };
  try {
    // The engine is asked who the image is while the registry is pinged and authorised.
    const identifying = isSaveTar(image) ? identifySource(image, signal, opts.log) : Promise.resolve(undefined);
    // Awaited below; if authorisation fails first, its outcome is of no interest.
    identifying.catch(() => undefined);
    // Fail fast on auth/TLS problems before reading a large image, and ask for pull+push once.
    await client.authorize([pushScope(target.repository)], signal);
    let img: Image;
    if (isSaveTar(image)) {
      await known.loadRemote(reference, identifying);
      const identity = await identifying;
      let knownIds: Set<string> | undefined;
      if (identity !== undefined) {
        // The config is read back while the layers are checked (it is small; wasted only when a layer is missing).
        known.prefetchConfig(identity.configDigest);
        const layers = await Promise.all(identity.diffIds.map((d) => known.resolve(d)));
        knownIds = new Set(identity.diffIds.filter((_, i) => layers[i] !== undefined));
        const all = layers.every((l): l is KnownBlob => l !== undefined) ? layers : undefined;
        const config = all === undefined ? undefined : await known.resolveConfig(identity.configDigest, identity.diffIds);
        if (all !== undefined && config !== undefined) {
          // The registry has every blob: no export, no compression — only the manifest.
          for (const l of all) pusher.count(l.outcome, l);
          pusher.count(config.outcome, config);
          const remote = known.remote;
          const manifest =
            remote !== undefined && remote.configDigest === config.digest && sameDigests(remote.layers, all)
              ? { bytes: remote.bytes, mediaType: remote.mediaType }
              : buildManifest(false, config, all.map((l) => ({ digest: l.digest, size: l.size, mediaType: DOCKER_LAYER_GZIP })));
          opts.log?.(`${target.toString()}: the registry has all ${all.length + 1} blobs; not reading ${image.source}`);
          return await finish(manifest);
        }
      }
      sourceRead = true;
      opts.onProgress?.({ kind: 'preparing', what: `reading ${image.source}` });
      const tar = await image.open(signal);
      const ids = knownIds;
      // Loaded only when a tar is read: a push the registry has everything of never needs it.
      const { spoolSaveTar } = await import('./spool-save.js');
      spooled = await spoolSaveTar(tar, {
        source: image.source,
        signal,
        ...(image.select === undefined ? {} : { select: image.select }),
        ...(opts.tmpDir === undefined ? {} : { tmpDir: opts.tmpDir }),
        ...(opts.gzipLevel === undefined ? {} : { gzipLevel: opts.gzipLevel }),
        ...(opts.compressConcurrency === undefined ? {} : { compressConcurrency: opts.compressConcurrency }),
        known: ids !== undefined ? async (d) => ids.has(d) : async (d) => (await known.resolve(d)) !== undefined,
        mayKnow: ids !== undefined ? ids.size > 0 : known.mayKnowAny(),
        // A large layer nothing is known about is uploaded while it is compressed (as docker does;
        // not with chunked uploads, which need sizes up front); other layers once compressed.
        ...(opts.chunkSize === undefined
          ? {
              streamLayer: async () => {
                const upload = await StreamedUpload.start(client, target.repository, signal, opts.log);
                if (upload !== undefined) streams.push(upload);
                return upload;
              },
            }
          : {}),
        onLayer: (f) => {
          layersCompressed++;
          locations.setCompressed(f.diffId, { digest: f.digest, size: f.size, mediaType: DOCKER_LAYER_GZIP });
          const blob = fileBlob(f.path, f.digest, f.size);
          track(f.streamed instanceof StreamedUpload ? pusher.finishStreamed(blob, f.streamed) : pusher.ensure(blob));
        },
      });
      img = spooled;
    } else {
      img = image;
    }
    const rawConfig = await img.rawConfig(signal);
    const configDigest = digestOf(rawConfig);
    const raw = img.rawManifest === undefined ? undefined : await img.rawManifest(signal).catch(() => undefined);
    const prepared: PreparedBlob[] = [];
    if (spooled !== undefined) {
      for (const layer of spooled.spooledLayers()) {
        if ('known' in layer) prepared.push(knownPrepared(await knownLayer(known, layer.diffId), DOCKER_LAYER_GZIP, pusher));
        else prepared.push({ source: fileBlob(layer.blobPath, layer.digest, layer.size), mediaType: layer.mediaType });
      }
    } else {
      const layers = await img.layers(signal);
      const oci = raw?.mediaType === OCI_MANIFEST || layers.some((l) => l.mediaType.startsWith('application/vnd.oci.'));
      const tmpDir = async (): Promise<string> => (tmp ??= await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'imgtool-push-')));
      for (const layer of layers) {
        const p = await prepareLayer(layer, oci, opts, signal, tmpDir, known, pusher);
        if (p.compressed) {
          layersCompressed++;
          locations.setCompressed(layer.diffId, { digest: p.source.digest, size: p.source.size, mediaType: p.mediaType });
        }
        prepared.push(p);
      }
    }
    const oci = raw?.mediaType === OCI_MANIFEST || prepared.some((p) => p.mediaType.startsWith('application/vnd.oci.'));
    for (const p of prepared) if (!p.ensured) track(pusher.ensure(p.source));
    track(pusher.ensure(bufferBlob(rawConfig, configDigest)));
    const settled = await Promise.allSettled(pending);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !isImgtoolError(s.reason, 'ABORTED'));
    if (failure !== undefined) throw failure.reason;
    const aborted = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (aborted !== undefined) throw aborted.reason;

    // Reuse the source's manifest bytes when its blobs are exactly what was uploaded (the digest
    // then survives the copy), else the tag's current manifest when it names the same blobs.
    let manifest: { bytes: Buffer; mediaType: string };
    const remote = known.remote;
    if (raw !== undefined && manifestMatches(raw.bytes, raw.mediaType, configDigest, prepared)) {
      manifest = { bytes: raw.bytes, mediaType: raw.mediaType };
    } else if (remote !== undefined && remote.configDigest === configDigest && sameDigests(remote.layers, prepared.map((p) => p.source))) {
      manifest = { bytes: remote.bytes, mediaType: remote.mediaType };
    } else {
      manifest = buildManifest(oci, { digest: configDigest, size: rawConfig.length }, prepared.map((p) => ({ digest: p.source.digest, size: p.source.size, mediaType: p.mediaType })));
    }
    return await finish(manifest);
  } catch (caught) {
    own.abort();
    const settled = await Promise.allSettled(pending);
    let err = caught;
    if (isImgtoolError(err, 'ABORTED') && opts.signal?.aborted !== true) {
      // Our own abort (after an upload failed) surfaced first; report the failure that caused it.
      const cause = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !isImgtoolError(s.reason, 'ABORTED'));
      if (cause !== undefined) err = cause.reason;
      else if (pusher.failure !== undefined) err = pusher.failure;
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
    // Streams a failure left unfinished: their sessions are cancelled (completed ones ignore this).
    if (own.signal.aborted) for (const s of streams) s.abort();
    await spooled?.cleanup().catch(() => undefined);
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (opts.client === undefined) await client.close();
  }
}

/** The source's identity, or undefined when it cannot say (the push then reads it). */
async function identifySource(image: SaveTarSource, signal: AbortSignal, log?: (line: string) => void): Promise<ImageIdentity | undefined> {
  if (image.identify === undefined) return undefined;
  try {
    return await image.identify(signal);
  } catch (err) {
    if (signal.aborted) throw abortError(signal, 'push');
    // Reading the image will report the real problem (e.g. no such image) in its own words.
    log?.(`could not identify ${image.source} up front (${(err as Error).message}); reading it`);
    return undefined;
  }
}

async function knownLayer(known: KnownBlobs, diffId: string): Promise<KnownBlob> {
  const k = await known.resolve(diffId);
  if (k === undefined) throw new ImgtoolError('PUSH_FAILED', `layer ${diffId} was skipped as present in the registry, but is not`);
  return k;
}

/** A layer blob confirmed present before upload: counted now, never opened. */
function knownPrepared(k: KnownBlob, mediaType: string, pusher: Pusher): PreparedBlob {
  pusher.count(k.outcome, k);
  return {
    source: {
      digest: k.digest,
      size: k.size,
      open: () => {
        throw new ImgtoolError('PUSH_FAILED', `blob ${k.digest} is in the registry already and has no local copy`);
      },
    },
    mediaType,
    ensured: true,
  };
}

function sameDigests(a: ReadonlyArray<{ digest: string }>, b: ReadonlyArray<{ digest: string }>): boolean {
  return a.length === b.length && a.every((d, i) => d.digest === b[i]?.digest);
}

function manifestMatches(bytes: Buffer, mediaType: string, configDigest: string, prepared: readonly PreparedBlob[]): boolean {
  try {
    const m = parseImageManifest(bytes, mediaType);
    return m.config.digest === configDigest && m.layers.length === prepared.length && m.layers.every((l, i) => l.digest === prepared[i]?.source.digest);
  } catch {
    return false;
  }
}

/** Turns a layer into an uploadable blob: its own compressed form, a blob the registry has, or a fresh gzip file. */
async function prepareLayer(
  layer: Layer,
  oci: boolean,
  opts: PushDirectOptions,
  signal: AbortSignal,
  tmpDir: () => Promise<string>,
  known: KnownBlobs,
  pusher: Pusher,
): Promise<PreparedBlob> {
  const compression = layerCompression(layer.mediaType);
  const blobPath = (layer as { blobPath?: unknown }).blobPath;
  if (layer.digest !== undefined && layer.size !== undefined && (compression === 'gzip' || compression === 'zstd')) {
    const source = typeof blobPath === 'string' ? fileBlob(blobPath, layer.digest, layer.size) : layer.compressed !== undefined ? streamBlob(layer as Layer & { digest: string; size: number }) : undefined;
    if (source !== undefined) return { source, mediaType: layer.mediaType };
  }
  const mediaType = oci ? OCI_LAYER_GZIP : DOCKER_LAYER_GZIP;
  const k = await known.resolve(layer.diffId);
  if (k !== undefined) return knownPrepared(k, mediaType, pusher);
  opts.onProgress?.({ kind: 'preparing', what: `compressing layer ${layer.diffId.slice(7, 19)}` });
  const dir = await tmpDir();
  const file = await gzipToFile(await layer.uncompressed(signal), join(dir, `${layer.diffId.replace(':', '-')}.gz`), {
    signal,
    ...(opts.gzipLevel === undefined ? {} : { level: opts.gzipLevel }),
    ...(opts.compressConcurrency === undefined ? {} : { concurrency: opts.compressConcurrency }),
  });
  if (file.diffId !== layer.diffId) {
    throw new ImgtoolError('DIGEST_MISMATCH', `a layer hashes to ${file.diffId}, but the image config says ${layer.diffId}`, {
      details: { expected: layer.diffId, actual: file.diffId },
      hint: 'the image source is damaged; rebuild or re-save the image',
    });
  }
  return { source: fileBlob(file.path, file.digest, file.size), mediaType, compressed: true };
}
