/**
 * What the registry already has of an image, learnt before any layer is read or compressed.
 * A layer is named by its diff id (the config's `rootfs.diff_ids`, known up front); the blob the
 * registry would hold is a *compressed* digest, which two sources map the diff id to:
 *   - the blob-location cache (what imgtool compressed that diff id to before, `BlobLocations`);
 *   - the target tag's current manifest and config in the registry (index i of the manifest's
 *     layers is diff_ids[i]), which covers a re-push with an empty cache, or an image another
 *     tool pushed.
 * A candidate counts only once the target repository confirms it (HEAD, size checked) or a
 * cross-repository mount succeeds: a manifest is never written naming a blob the registry lacks.
 * Docker does the same with its "v2 metadata" (diff id → digest) store.
 */
import type { Readable } from 'node:stream';
import { ImgtoolError, isImgtoolError } from '../../image/errors.js';
import { parseImageConfig, parseManifest, type Descriptor } from '../../image/manifest.js';
import { DOCKER_CONFIG, DOCKER_LAYER_GZIP, OCI_LAYER_GZIP } from '../../image/media-types.js';
import type { RegistryClient } from '../client/client.js';
import type { BlobLocations, CompressedInfo } from './blob-locations.js';

/** A blob confirmed present in the target repository. */
export interface KnownBlob {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  /** How it got there: already present, or mounted just now. */
  readonly outcome: 'exists' | 'mounted';
}

/** A config blob confirmed present, with its bytes (read back and verified). */
export interface KnownConfig extends KnownBlob {
  readonly bytes: Buffer;
}

/** The target tag's manifest as found in the registry. */
export interface RemoteManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly configDigest: string;
  readonly layers: readonly Descriptor[];
}

/** Largest config blob read into memory. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** Mount sources tried per blob. */
const MAX_MOUNT_TRIES = 3;

/** Runs a registry task under the push's concurrency bound (and its abort-on-failure rule). */
export type TaskRunner = <T>(task: () => Promise<T>) => Promise<T>;

function gzipLayer(d: Pick<Descriptor, 'mediaType'>): boolean {
  // Only plain gzip layers: the manifest imgtool writes labels every layer as gzip.
  return d.mediaType === DOCKER_LAYER_GZIP || d.mediaType === OCI_LAYER_GZIP;
}

async function readAll(stream: Readable, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      stream.destroy();
      throw new ImgtoolError('CONFIG_INVALID', `${what} is larger than ${max} bytes`);
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/**
 * True for answers that mean "not there" rather than "the push cannot work": a 401/403 is not
 * one (a push needs pull access to check blobs anyway), so it fails the push right here, where
 * the failure diagnosis explains it.
 */
function absent(err: unknown): boolean {
  return isImgtoolError(err, 'REGISTRY_NOT_FOUND');
}

/** Learns and confirms which blobs of an image the target repository has. */
export class KnownBlobs {
  private readonly fromRemote = new Map<string, CompressedInfo>();
  private readonly resolved = new Map<string, Promise<KnownBlob | undefined>>();
  private readonly configReads = new Map<string, Promise<Buffer | undefined>>();
  private remoteManifest: RemoteManifest | undefined;
  /** Registry requests this object made (tests count them). */
  requests = 0;

  constructor(
    private readonly client: RegistryClient,
    private readonly repository: string,
    private readonly locations: BlobLocations,
    private readonly run: TaskRunner,
    private readonly signal: AbortSignal,
    private readonly log?: (line: string) => void,
  ) {}

  /** The target tag's manifest, when {@link loadRemote} found one. */
  get remote(): RemoteManifest | undefined {
    return this.remoteManifest;
  }

  /**
   * Reads the manifest `reference` names in the target repository (and its config when its
   * config digest is not the image's, `identity` — awaited only once the manifest is in) to map
   * diff ids to the blobs it lists. A missing tag or an index just teaches nothing; a refusal
   * (401/403) or a failing registry fails the push.
   */
  async loadRemote(reference: string, identity?: Promise<{ configDigest: string; diffIds: readonly string[] } | undefined>): Promise<void> {
    const sig = { signal: this.signal };
    let fetched;
    try {
      this.requests++;
      fetched = await this.client.getManifest(this.repository, reference, sig);
    } catch (err) {
      if (!absent(err)) throw err;
      this.log?.(`no manifest ${this.repository}:${reference} to compare with yet (${(err as Error).message.split('\n')[0]})`);
      return;
    }
    const id = await identity;
    const configDigest = id?.configDigest;
    const diffIds = id?.diffIds;
    let manifest;
    try {
      const parsed = parseManifest(fetched.bytes, fetched.mediaType, `manifest ${this.repository}:${reference}`);
      if (parsed.kind !== 'manifest') return;
      manifest = parsed.manifest;
    } catch {
      this.log?.(`manifest ${this.repository}:${reference} is not one imgtool reads; not comparing with it`);
      return;
    }
    this.remoteManifest = { bytes: fetched.bytes, mediaType: fetched.mediaType, configDigest: manifest.config.digest, layers: manifest.layers };
    let remoteDiffIds: readonly string[] | undefined;
    if (configDigest !== undefined && manifest.config.digest === configDigest && diffIds !== undefined) {
      // Same config digest: same config bytes, so the same diff ids in the same order.
      remoteDiffIds = diffIds;
    } else {
      try {
        this.requests++;
        const bytes = await readAll(
          await this.client.getBlob(this.repository, manifest.config.digest, { ...sig, size: manifest.config.size }),
          MAX_CONFIG_BYTES,
          `config of ${this.repository}:${reference}`,
        );
        remoteDiffIds = parseImageConfig(bytes).rootfs.diff_ids;
      } catch (err) {
        // Only a refusal or a cancel ends the push here; a cut or failed read of a blob that is
        // merely a shortcut just teaches nothing, and the normal upload path takes over.
        if (mustStop(err)) throw err;
        this.log?.(`config of ${this.repository}:${reference} unreadable (${(err as Error).message.split('\n')[0]}); not comparing with it`);
        return;
      }
    }
    if (remoteDiffIds.length !== manifest.layers.length) return;
    manifest.layers.forEach((d, i) => {
      const diffId = remoteDiffIds[i];
      if (diffId !== undefined && gzipLayer(d)) this.fromRemote.set(diffId, { digest: d.digest, size: d.size, mediaType: d.mediaType });
    });
  }

  /** True when some diff id has a candidate blob (so hashing layers before compressing can pay off). */
  mayKnowAny(): boolean {
    return this.fromRemote.size > 0 || this.locations.hasCompressed();
  }

  /** Candidate blobs for `diffId`, the cache's first. */
  candidates(diffId: string): CompressedInfo[] {
    const out: CompressedInfo[] = [];
    for (const c of [this.locations.compressed(diffId), this.fromRemote.get(diffId)]) {
      if (c !== undefined && gzipLayer(c) && !out.some((o) => o.digest === c.digest)) out.push(c);
    }
    return out;
  }

  /** The blob for `diffId` the target repository has (or was mounted into it now); memoised. */
  resolve(diffId: string): Promise<KnownBlob | undefined> {
    let p = this.resolved.get(diffId);
    if (p === undefined) {
      p = this.resolveNow(diffId);
      this.resolved.set(diffId, p);
    }
    return p;
  }

  private async resolveNow(diffId: string): Promise<KnownBlob | undefined> {
    for (const c of this.candidates(diffId)) {
      const found = await this.present(c.digest, c.size);
      if (found !== undefined) {
        this.locations.setCompressed(diffId, { digest: c.digest, size: c.size, mediaType: c.mediaType });
        return { digest: c.digest, size: c.size, mediaType: c.mediaType, outcome: found };
      }
    }
    return undefined;
  }

  /** HEAD in the target repository, else a mount from where the cache saw it. */
  private async present(digest: string, size: number | undefined): Promise<'exists' | 'mounted' | undefined> {
    const { client, repository } = this;
    const sig = { signal: this.signal };
    const head = await this.run(async () => {
      this.requests++;
      return client.headBlob(repository, digest, sig);
    });
    if (head !== undefined) {
      if (size !== undefined && head.size !== undefined && head.size !== size) {
        this.log?.(`${repository} has ${digest} with ${head.size} bytes, expected ${size}; not using it`);
        return undefined;
      }
      this.locations.add(digest, client.registry, repository);
      return 'exists';
    }
    for (const from of this.locations.candidates(digest, client.registry, repository).slice(0, MAX_MOUNT_TRIES)) {
      const r = await this.run(async () => {
        this.requests++;
        return client.mountBlob(repository, digest, from, sig);
      });
      if (r.mounted) {
        this.locations.add(digest, client.registry, repository);
        return 'mounted';
      }
      if (r.session !== undefined) {
        // The registry opened an upload instead of mounting; nothing will be sent on it.
        await client.cancelUpload(r.session, sig);
        break;
      }
    }
    return undefined;
  }

  /**
   * The config blob `digest` when the target repository has it (or it was mounted): read back
   * (the client verifies the digest) and checked to be an image config with exactly `diffIds`,
   * so an engine's image ID that is not a config digest (the containerd image store names
   * images by manifest) can never end up as a manifest's config.
   */
  async resolveConfig(digest: string, diffIds: readonly string[]): Promise<KnownConfig | undefined> {
    let outcome: 'exists' | 'mounted' = 'exists';
    let bytes = await this.readConfig(digest);
    if (bytes === undefined) {
      const mounted = await this.present(digest, undefined);
      if (mounted === undefined) return undefined;
      outcome = mounted;
      this.configReads.delete(digest);
      bytes = await this.readConfig(digest);
      if (bytes === undefined) return undefined;
    }
    try {
      const ids = parseImageConfig(bytes).rootfs.diff_ids;
      if (ids.length !== diffIds.length || ids.some((d, i) => d !== diffIds[i])) return undefined;
    } catch {
      return undefined;
    }
    this.locations.add(digest, this.client.registry, this.repository);
    return { digest, size: bytes.length, mediaType: DOCKER_CONFIG, outcome, bytes };
  }

  /** Starts reading the config blob `digest` (for {@link resolveConfig}) without waiting. */
  prefetchConfig(digest: string): void {
    // A failure surfaces when resolveConfig awaits the same read.
    this.readConfig(digest).catch(() => undefined);
  }

  private readConfig(digest: string): Promise<Buffer | undefined> {
    let p = this.configReads.get(digest);
    if (p === undefined) {
      p = this.readConfigNow(digest);
      this.configReads.set(digest, p);
    }
    return p;
  }

  private readConfigNow(digest: string): Promise<Buffer | undefined> {
    // "Not there" is an answer, not a failure: it must not reach the runner as an error.
    return this.run(async () => {
      this.requests++;
      try {
        return await readAll(await this.client.getBlob(this.repository, digest, { signal: this.signal }), MAX_CONFIG_BYTES, `config ${digest}`);
      } catch (err) {
        if (isImgtoolError(err, 'REGISTRY_NOT_FOUND') || isImgtoolError(err, 'CONFIG_INVALID')) return undefined;
        if (isImgtoolError(err, 'DIGEST_MISMATCH')) {
          this.log?.(`${this.repository} serves config ${digest} with other content; uploading it instead`);
          return undefined;
        }
        if (mustStop(err)) throw err;
        this.log?.(`config ${digest} unreadable in ${this.repository} (${(err as Error).message.split('\n')[0]}); uploading it instead`);
        return undefined;
      }
    });
  }
}

/** Errors that must end the push rather than fall back to uploading: refusals and cancels. */
function mustStop(err: unknown): boolean {
  return isImgtoolError(err, 'REGISTRY_UNAUTHORIZED', 'REGISTRY_DENIED', 'ABORTED');
}
