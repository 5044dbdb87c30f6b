/**
 * `docker-archive:PATH[:REF|:@N]` — a `docker save` tar, read in place: Engine ≤ 24 writes
 * `manifest.json` + `<id>/layer.tar` + `<hex>.json`; Engine ≥ 25 writes an OCI layout with the
 * same `manifest.json` pointing into `blobs/sha256/`. Both are read through manifest.json; a tar
 * that only carries an OCI layout (`skopeo copy … oci-archive:`) is read as a layout.
 *
 * The tar is indexed in one pass (headers only) and layers are streamed from their offsets,
 * decompressed on the fly when stored compressed, and checked against the config's diff_ids.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { ImgtoolError } from '../image/errors.js';
import { digestOf, verifyingStream } from '../image/digest.js';
import type { Image, Layer } from '../image/image.js';
import { parseImageConfig, type ImageConfig } from '../image/manifest.js';
import { DOCKER_LAYER } from '../image/media-types.js';
import { parseReference } from '../image/reference.js';
import { decompressed } from './decompress.js';
import { MAX_METADATA_BYTES, openLayout, type OpenOciOptions } from './oci-layout.js';
import { TarFileStore, type FileStore } from './store.js';

/** One entry of a docker save `manifest.json`. */
export interface DockerSaveManifestEntry {
  readonly Config: string;
  readonly RepoTags: readonly string[] | null;
  readonly Layers: readonly string[];
}

/** Options for {@link openDockerArchive}. */
export interface OpenArchiveOptions extends Omit<OpenOciOptions, 'ref'> {
  /** A repo:tag from RepoTags, or `@N` (0-based position in manifest.json), as skopeo accepts. */
  readonly ref?: string;
}

/** Parses and validates a docker save manifest.json. */
export function parseSaveManifest(bytes: Buffer, what: string): DockerSaveManifestEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ImgtoolError('ARCHIVE_INVALID', `${what} manifest.json is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(v) || v.length === 0) throw new ImgtoolError('ARCHIVE_INVALID', `${what} manifest.json is not a non-empty array`);
  return v.map((e: unknown, i) => {
    const o = e as Record<string, unknown> | null;
    if (
      typeof o !== 'object' ||
      o === null ||
      typeof o['Config'] !== 'string' ||
      !Array.isArray(o['Layers']) ||
      !o['Layers'].every((l) => typeof l === 'string') ||
      (o['RepoTags'] !== null && o['RepoTags'] !== undefined && (!Array.isArray(o['RepoTags']) || !o['RepoTags'].every((t) => typeof t === 'string')))
    ) {
      throw new ImgtoolError('ARCHIVE_INVALID', `${what} manifest.json entry ${i} needs Config, Layers and RepoTags`);
    }
    return { Config: o['Config'] as string, RepoTags: (o['RepoTags'] as string[] | null | undefined) ?? null, Layers: o['Layers'] as string[] };
  });
}

function sameRef(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return parseReference(a).toString() === parseReference(b).toString();
  } catch {
    return false;
  }
}

/** Chooses the manifest.json entry `ref` names. */
function chooseEntry(entries: DockerSaveManifestEntry[], ref: string | undefined, source: string): DockerSaveManifestEntry {
  const tags = entries.flatMap((e) => e.RepoTags ?? []);
  if (ref === undefined) {
    if (entries.length === 1) return entries[0] as DockerSaveManifestEntry;
    throw new ImgtoolError('USAGE', `${source} holds ${entries.length} images; say which one`, {
      details: { tags },
      hint: `append :REPO:TAG (one of ${tags.join(', ') || 'none tagged'}) or :@N for the N-th image`,
    });
  }
  if (/^@\d+$/.test(ref)) {
    const e = entries[Number(ref.slice(1))];
    if (!e) throw new ImgtoolError('IMAGE_NOT_FOUND', `${source} has no image ${ref} (it holds ${entries.length})`);
    return e;
  }
  const hit = entries.find((e) => (e.RepoTags ?? []).some((t) => sameRef(t, ref)));
  if (!hit) {
    throw new ImgtoolError('IMAGE_NOT_FOUND', `${source} has no image tagged ${JSON.stringify(ref)}`, {
      details: { tags },
      hint: tags.length ? `tags in this archive: ${tags.join(', ')}` : 'the archive has no tags; use :@0',
    });
  }
  return hit;
}

/** A layer inside a save tar, stored raw or compressed, verified against its diff_id. */
class ArchiveLayer implements Layer {
  readonly mediaType = DOCKER_LAYER;
  readonly uncompressedSize?: number;

  constructor(
    private readonly store: FileStore,
    private readonly path: string,
    readonly diffId: string,
    storedSize: number,
    storedRaw: boolean,
    private readonly what: string,
  ) {
    if (storedRaw) this.uncompressedSize = storedSize;
  }

  async uncompressed(signal?: AbortSignal): Promise<Readable> {
    const raw = await this.store.stream(this.path, signal);
    const tar = await decompressed(raw, 'auto', this.what);
    return pipeline(tar, verifyingStream(this.diffId, this.uncompressedSize, { what: this.what }), () => {});
  }
}

class ArchiveImage implements Image {
  constructor(
    readonly source: string,
    private readonly configBytes: Buffer,
    private readonly parsed: ImageConfig,
    private readonly layerList: Layer[],
  ) {}
  async rawConfig(): Promise<Buffer> {
    return this.configBytes;
  }
  async config(): Promise<ImageConfig> {
    return this.parsed;
  }
  async layers(): Promise<Layer[]> {
    return [...this.layerList];
  }
}

/** Reads the first bytes of a stored layer to learn whether it is compressed. */
async function isStoredRaw(store: FileStore, path: string, signal?: AbortSignal): Promise<boolean> {
  const s = await store.stream(path, signal);
  try {
    for await (const chunk of s) {
      const b = chunk as Buffer;
      return !(b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) && !(b.length >= 4 && b.readUInt32BE(0) === 0x28b52ffd);
    }
    return true;
  } finally {
    s.destroy();
  }
}

/** Opens a docker save tar. */
export async function openDockerArchive(file: string, options: OpenArchiveOptions = {}): Promise<Image> {
  const source = `docker-archive:${file}${options.ref === undefined ? '' : `:${options.ref}`}`;
  const { signal } = options;
  const store = await TarFileStore.open(file, source, signal);
  if ((await store.size('manifest.json', signal)) === undefined) {
    if ((await store.size('index.json', signal)) !== undefined) {
      return openLayout(store, source, { ...options });
    }
    throw new ImgtoolError('ARCHIVE_INVALID', `${source} is not a docker save archive (no manifest.json or index.json)`, {
      hint: 'make one with `docker save IMAGE -o FILE`',
    });
  }
  const entries = parseSaveManifest(await store.read('manifest.json', MAX_METADATA_BYTES, signal), source);
  const entry = chooseEntry(entries, options.ref, source);
  const configBytes = await store.read(entry.Config, MAX_METADATA_BYTES, signal);
  // The config's name is its digest (`<hex>.json` ≤ 24, `blobs/sha256/<hex>` ≥ 25): check it.
  const named = /([a-f0-9]{64})(?:\.json)?$/.exec(entry.Config)?.[1];
  if (named !== undefined) {
    const actual = digestOf(configBytes);
    if (actual !== `sha256:${named}`) {
      throw new ImgtoolError('DIGEST_MISMATCH', `${source}: config ${entry.Config} hashes to ${actual}, not sha256:${named}`, {
        hint: 'the archive was modified after docker saved it; do not trust it',
      });
    }
  }
  const config = parseImageConfig(configBytes, `config ${entry.Config} of ${source}`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== entry.Layers.length) {
    throw new ImgtoolError(
      'ARCHIVE_INVALID',
      `${source}: manifest.json lists ${entry.Layers.length} layers but the config lists ${diffIds.length} diff_ids`,
      { hint: 'the archive is inconsistent; save the image again' },
    );
  }
  const layers: Layer[] = [];
  for (let i = 0; i < entry.Layers.length; i++) {
    const path = entry.Layers[i] as string;
    const size = await store.size(path, signal);
    if (size === undefined) {
      throw new ImgtoolError('ARCHIVE_INVALID', `${source}: layer ${path} listed in manifest.json is missing`, {
        hint: 'the archive is incomplete; save the image again',
      });
    }
    const raw = size === 0 ? true : await isStoredRaw(store, path, signal);
    layers.push(new ArchiveLayer(store, path, diffIds[i] as string, size, raw, `layer ${i} (${path}) of ${source}`));
  }
  return new ArchiveImage(source, configBytes, config, layers);
}
