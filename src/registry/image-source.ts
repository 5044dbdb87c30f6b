/**
 * `docker://REF` — an image in a registry, read without pulling it into a daemon: the manifest
 * (an index is resolved to one platform), the config blob, and layer blobs only when someone
 * reads layer content. Every blob is verified against its descriptor while it streams.
 */
import type { Readable } from 'node:stream';
import { ImgtoolError } from '../image/errors.js';
import type { Image, Layer, RawManifest } from '../image/image.js';
import { parseImageConfig, parseManifest, selectManifest, type Descriptor, type ImageConfig, type Manifest } from '../image/manifest.js';
import { layerCompression } from '../image/media-types.js';
import type { Platform } from '../image/platform.js';
import type { Reference } from '../image/reference.js';
import { decompressed } from '../layers/decompress.js';
import type { RegistryClient } from './client/client.js';

/** Largest config blob read into memory. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Options for {@link openRemoteImage}. */
export interface OpenRemoteOptions {
  /** `--platform`: which image of an index to read. */
  readonly platform?: Platform;
  /** Used for an index when no platform was asked for and it has several (the host's). */
  readonly defaultPlatform?: Platform;
  readonly signal?: AbortSignal;
}

/** A layer blob in a registry. */
class RemoteLayer implements Layer {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  readonly uncompressedSize?: number;
  constructor(
    private readonly client: RegistryClient,
    private readonly repository: string,
    d: Descriptor,
    readonly diffId: string,
    private readonly what: string,
  ) {
    this.digest = d.digest;
    this.size = d.size;
    this.mediaType = d.mediaType;
    if (layerCompression(d.mediaType) === 'none') this.uncompressedSize = d.size;
  }
  compressed(signal?: AbortSignal): Promise<Readable> {
    return this.client.getBlob(this.repository, this.digest, { size: this.size, ...(signal ? { signal } : {}) });
  }
  async uncompressed(signal?: AbortSignal): Promise<Readable> {
    return decompressed(await this.compressed(signal), layerCompression(this.mediaType) ?? 'auto', this.what);
  }
}

/** An image in a registry; `manifestDigest` is the digest of the platform manifest read. */
export class RemoteImage implements Image {
  constructor(
    readonly source: string,
    private readonly client: RegistryClient,
    private readonly repository: string,
    private readonly manifestBytes: Buffer,
    private readonly manifestMediaType: string,
    readonly manifestDigest: string,
    readonly manifest: Manifest,
    private readonly configBytes: Buffer,
    private readonly parsed: ImageConfig,
  ) {}
  async rawManifest(): Promise<RawManifest> {
    return { bytes: this.manifestBytes, mediaType: this.manifestMediaType };
  }
  async rawConfig(): Promise<Buffer> {
    return this.configBytes;
  }
  async config(): Promise<ImageConfig> {
    return this.parsed;
  }
  async layers(): Promise<Layer[]> {
    return this.manifest.layers.map(
      (d, i) => new RemoteLayer(this.client, this.repository, d, this.parsed.rootfs.diff_ids[i] as string, `layer ${d.digest} of ${this.source}`),
    );
  }
}

async function readAll(stream: Readable, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > max) {
      stream.destroy();
      throw new ImgtoolError('CONFIG_INVALID', `${what} is larger than ${max} bytes`);
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

/** Opens `reference` in the registry `client` talks to. */
export async function openRemoteImage(client: RegistryClient, reference: Reference, options: OpenRemoteOptions = {}): Promise<RemoteImage> {
  const { signal } = options;
  const repo = reference.repository;
  const source = `docker://${reference.toString()}`;
  const sig = signal ? { signal } : {};
  let fetched = await client.getManifest(repo, reference.digest ?? reference.tag ?? 'latest', sig);
  let parsed = parseManifest(fetched.bytes, fetched.mediaType, `manifest of ${source}`);
  if (parsed.kind === 'index') {
    const chosen = selectManifest(parsed.index, options.platform, options.defaultPlatform, source);
    // Fetching by digest makes the client verify the bytes against the index's descriptor.
    fetched = await client.getManifest(repo, chosen.digest, sig);
    parsed = parseManifest(fetched.bytes, fetched.mediaType || chosen.mediaType, `manifest ${chosen.digest} of ${source}`);
    if (parsed.kind !== 'manifest') throw new ImgtoolError('MANIFEST_INVALID', `${source}: index entry ${chosen.digest} is itself an index`);
  }
  const manifest = parsed.manifest;
  const configBytes = await readAll(
    await client.getBlob(repo, manifest.config.digest, { size: manifest.config.size, ...sig }),
    MAX_CONFIG_BYTES,
    `config of ${source}`,
  );
  const config = parseImageConfig(configBytes, `config ${manifest.config.digest} of ${source}`);
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new ImgtoolError(
      'MANIFEST_INVALID',
      `${source}: the manifest lists ${manifest.layers.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`,
      { hint: 'the image in the registry is inconsistent; push it again' },
    );
  }
  return new RemoteImage(source, client, repo, fetched.bytes, parsed.mediaType, fetched.digest, manifest, configBytes, config);
}
