/**
 * `oci:DIR[:TAG]` — an OCI image layout (image-spec image-layout.md): `oci-layout`,
 * `index.json` (tags in `org.opencontainers.image.ref.name`), `blobs/<alg>/<hex>`. The same
 * reader serves OCI layouts inside a tar (`oci-archive:`, and docker save tars that only carry
 * the OCI files). Every blob is verified against its descriptor as it is read.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { ImgtoolError } from '../image/errors.js';
import { parseDigest, verifyBytes, verifyingStream } from '../image/digest.js';
import type { Image, Layer, RawManifest } from '../image/image.js';
import {
  parseImageConfig,
  parseManifest,
  selectManifest,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type Manifest,
} from '../image/manifest.js';
import { layerCompression } from '../image/media-types.js';
import type { Platform } from '../image/platform.js';
import { decompressed } from './decompress.js';
import { DirectoryStore, type FileStore } from './store.js';

/** Annotation holding a tag in an OCI layout's index.json. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** Annotation containerd and Engine ≥ 25 add with the full image name. */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/** Largest manifest/index/config imgtool reads (registries limit manifests to 4 MiB). */
export const MAX_METADATA_BYTES = 16 * 1024 * 1024;

/** Options for opening an OCI layout. */
export interface OpenOciOptions {
  /** Tag (`ref.name`), full name, or digest selecting an entry of index.json. */
  readonly ref?: string;
  /** Platform to choose from a multi-platform index. */
  readonly platform?: Platform;
  /** Platform used when an index has several and none was asked for (the host's). */
  readonly defaultPlatform?: Platform;
  readonly signal?: AbortSignal;
}

/** Path of a blob inside a layout. */
export function blobPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

/** Reads a small blob and checks it against its descriptor. */
export async function readVerifiedBlob(store: FileStore, d: Descriptor, what: string, signal?: AbortSignal): Promise<Buffer> {
  if (d.size > MAX_METADATA_BYTES) {
    throw new ImgtoolError('MANIFEST_INVALID', `${what} declares ${d.size} bytes, more than the ${MAX_METADATA_BYTES} allowed for metadata`);
  }
  const bytes = await store.read(blobPath(d.digest), MAX_METADATA_BYTES, signal);
  if (bytes.length !== d.size) {
    throw new ImgtoolError('DIGEST_MISMATCH', `${what} has ${bytes.length} bytes but its descriptor declares ${d.size}`, {
      details: { digest: d.digest },
      hint: 'the layout was modified after it was written; produce it again',
    });
  }
  verifyBytes(bytes, d.digest, what);
  return bytes;
}

/** A layer stored as a blob of a layout, verified against its descriptor while streaming. */
export class StoreBlobLayer implements Layer {
  readonly diffId: string;
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  readonly uncompressedSize?: number;

  constructor(
    private readonly store: FileStore,
    private readonly descriptor: Descriptor,
    diffId: string,
    private readonly what: string,
  ) {
    this.diffId = diffId;
    this.digest = descriptor.digest;
    this.size = descriptor.size;
    this.mediaType = descriptor.mediaType;
    if (layerCompression(descriptor.mediaType) === 'none') this.uncompressedSize = descriptor.size;
  }

  async compressed(signal?: AbortSignal): Promise<Readable> {
    const raw = await this.store.stream(blobPath(this.digest), signal);
    const verify = verifyingStream(this.digest, this.size, { what: this.what });
    return pipeline(raw, verify, () => {});
  }

  async uncompressed(signal?: AbortSignal): Promise<Readable> {
    return decompressed(await this.compressed(signal), layerCompression(this.mediaType) ?? 'auto', this.what);
  }
}

function refMatches(d: Descriptor, ref: string): boolean {
  if (d.digest === ref) return true;
  const name = d.annotations?.[REF_NAME_ANNOTATION];
  const full = d.annotations?.[CONTAINERD_NAME_ANNOTATION];
  return name === ref || full === ref || (full !== undefined && full.endsWith(`/${ref}`));
}

/** An image read from a layout (directory or tar). */
class LayoutImage implements Image {
  constructor(
    readonly source: string,
    private readonly store: FileStore,
    private readonly manifestBytes: Buffer,
    private readonly manifestDescriptor: Descriptor,
    private readonly manifest: Manifest,
    private readonly configBytes: Buffer,
    private readonly parsedConfig: ImageConfig,
  ) {}

  async rawConfig(): Promise<Buffer> {
    return this.configBytes;
  }

  async config(): Promise<ImageConfig> {
    return this.parsedConfig;
  }

  async rawManifest(): Promise<RawManifest> {
    return { bytes: this.manifestBytes, mediaType: this.manifest.mediaType ?? this.manifestDescriptor.mediaType };
  }

  async layers(): Promise<Layer[]> {
    return this.manifest.layers.map(
      (d, i) => new StoreBlobLayer(this.store, d, this.parsedConfig.rootfs.diff_ids[i] as string, `layer ${d.digest} of ${this.source}`),
    );
  }
}

/** Opens the image `options.ref` selects from a layout held by `store`. */
export async function openLayout(store: FileStore, source: string, options: OpenOciOptions = {}): Promise<Image> {
  const { signal } = options;
  const layoutFile = await store.size('oci-layout', signal);
  if (layoutFile === undefined) {
    throw new ImgtoolError('MANIFEST_INVALID', `${source} is not an OCI image layout (no oci-layout file)`, {
      hint: 'point oci: at a directory written by skopeo, buildah, crane or docker save ≥ 25',
    });
  }
  const indexBytes = await store.read('index.json', MAX_METADATA_BYTES, signal);
  const top = parseManifest(indexBytes, undefined, `${source} index.json`);
  if (top.kind !== 'index') throw new ImgtoolError('MANIFEST_INVALID', `${source} index.json is not an image index`);
  const entries = top.index.manifests;
  let chosen: Descriptor;
  if (options.ref !== undefined) {
    const ref = options.ref;
    const hits = entries.filter((d) => refMatches(d, ref));
    if (hits.length === 0) {
      const tags = entries.map((d) => d.annotations?.[REF_NAME_ANNOTATION]).filter((t): t is string => t !== undefined);
      throw new ImgtoolError('IMAGE_NOT_FOUND', `${source} has no image tagged ${JSON.stringify(ref)}`, {
        details: { tags },
        hint: tags.length ? `tags in this layout: ${tags.join(', ')}` : 'this layout has no tagged images; omit the tag',
      });
    }
    chosen = hits.length === 1 ? (hits[0] as Descriptor) : selectManifest({ schemaVersion: 2, manifests: hits }, options.platform, options.defaultPlatform, source);
  } else if (entries.length === 1) {
    chosen = entries[0] as Descriptor;
  } else if (entries.length > 1 && entries.every((d) => d.platform !== undefined)) {
    chosen = selectManifest(top.index, options.platform, options.defaultPlatform, source);
  } else {
    const tags = entries.map((d) => d.annotations?.[REF_NAME_ANNOTATION] ?? d.digest);
    throw new ImgtoolError('USAGE', `${source} holds ${entries.length} images; say which one`, {
      details: { tags },
      hint: entries.length ? `append :TAG, one of ${tags.join(', ')}` : 'the layout is empty',
    });
  }
  // Follow nested indexes (an image index per tag) down to one image manifest.
  for (let depth = 0; ; depth++) {
    if (depth > 4) throw new ImgtoolError('MANIFEST_INVALID', `${source} nests indexes too deeply`);
    const what = `manifest ${chosen.digest} of ${source}`;
    const bytes = await readVerifiedBlob(store, chosen, what, signal);
    const parsed = parseManifest(bytes, chosen.mediaType, what);
    if (parsed.kind === 'index') {
      chosen = selectManifest(parsed.index as ImageIndex, options.platform, options.defaultPlatform, `${source} (${chosen.digest})`);
      continue;
    }
    const manifest = parsed.manifest;
    const configBytes = await readVerifiedBlob(store, manifest.config, `config of ${source}`, signal);
    const config = parseImageConfig(configBytes, `config ${manifest.config.digest} of ${source}`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new ImgtoolError(
        'MANIFEST_INVALID',
        `${what} lists ${manifest.layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff_ids`,
        { hint: 'the image is inconsistent; produce it again' },
      );
    }
    return new LayoutImage(source, store, bytes, chosen, manifest, configBytes, config);
  }
}

/** Opens `oci:DIR[:TAG]`. */
export async function openOciLayout(dir: string, options: OpenOciOptions = {}): Promise<Image> {
  const source = `oci:${dir}${options.ref === undefined ? '' : `:${options.ref}`}`;
  return openLayout(new DirectoryStore(dir, source), source, options);
}
