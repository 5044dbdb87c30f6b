/**
 * File-level analysis of a `docker save` stream in a single pass, for sources that can only
 * stream it (the engine's `GET /images/{name}/get`): every layer tar is scanned as it flows
 * past, small JSON files are kept, and the layers are put in order from manifest.json at the
 * end. Nothing is buffered beyond listings and metadata, nothing is written to disk.
 */
import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import { ImgtoolError } from '../image/errors.js';
import { digestOf } from '../image/digest.js';
import { parseImageConfig, type ImageConfig } from '../image/manifest.js';
import { decompressed } from './decompress.js';
import { parseSaveManifest, type DockerSaveManifestEntry } from './docker-archive.js';
import { scanLayer, type LayerListing } from './listing.js';
import { normalizeTarPath, readTar } from './tar.js';

/** The image found in a save stream, with one listing per layer (base first). */
export interface ScannedSave {
  readonly entry: DockerSaveManifestEntry;
  readonly configBytes: Buffer;
  readonly config: ImageConfig;
  readonly listings: LayerListing[];
}

const MAX_JSON = 16 * 1024 * 1024;

/** Prepends already-read chunks to the rest of an iterator. */
async function* prepend(first: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* first;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

type Scanned = { json: Buffer } | { listing: LayerListing } | { error: unknown };

/**
 * Scans a docker save stream and returns the image `ref` selects (RepoTag or `@N`; the only
 * image when omitted). `what` names the stream in errors.
 */
export async function scanSaveStream(
  stream: Readable,
  options: { what: string; ref?: string; signal?: AbortSignal },
): Promise<ScannedSave> {
  const { what, signal } = options;
  const results = new Map<string, Scanned>();
  const links = new Map<string, string>();
  const consume = (path: string, size: number) => async (content: AsyncIterable<Buffer>): Promise<Scanned> => {
    const it = content[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    const first = await it.next();
    if (!first.done) head.push(first.value);
    const firstByte = head[0]?.[0];
    const metadataName = /(?:^|\/)(?:[^/]*\.json|json|repositories|oci-layout|VERSION)$/.test(path);
    if ((metadataName || firstByte === 0x7b /* { */ || firstByte === 0x5b) /* [ */ && size <= MAX_JSON) {
      const parts = [...head];
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        parts.push(Buffer.from(r.value));
      }
      return { json: Buffer.concat(parts) };
    }
    try {
      const tar = await decompressed(ReadableStream.from(prepend(head, it)), 'auto', `${path} in ${what}`);
      return { listing: await scanLayer(tar, { what: `layer ${path} of ${what}`, ...(signal ? { signal } : {}) }) };
    } catch (error) {
      // Only an error for a path manifest.json lists as a layer matters; keep it for later.
      if (error instanceof ImgtoolError && error.code === 'ABORTED') throw error;
      return { error };
    }
  };
  for await (const e of readTar(stream, {
    what,
    errorCode: 'ARCHIVE_INVALID',
    ...(signal ? { signal } : {}),
    consumeBody: (entry) => (entry.type === 'file' && entry.size > 0 ? consume(entry.path, entry.size) : undefined),
  })) {
    if (e.type === 'file') {
      results.set(e.path, (e.consumed as Scanned | undefined) ?? { json: Buffer.alloc(0) });
    } else if ((e.type === 'symlink' || e.type === 'hardlink') && e.linkpath !== undefined) {
      const dir = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
      const target =
        e.type === 'hardlink' ? e.linkpath : normalizeTarPath(dir === '' ? e.linkpath : `${dir}/${e.linkpath}`, what, 'ARCHIVE_INVALID');
      links.set(e.path, target);
    }
  }
  const get = (path: string): Scanned | undefined => {
    let p = normalizeTarPath(path, what, 'ARCHIVE_INVALID');
    for (let i = 0; i < 16 && links.has(p); i++) p = links.get(p) as string;
    return results.get(p);
  };
  const manifestScan = get('manifest.json');
  if (!manifestScan || !('json' in manifestScan)) {
    throw new ImgtoolError('ARCHIVE_INVALID', `${what} has no manifest.json`, { hint: 'the stream is not a docker save archive' });
  }
  const entries = parseSaveManifest(manifestScan.json, what);
  let entry: DockerSaveManifestEntry | undefined;
  if (options.ref === undefined) {
    if (entries.length !== 1) throw new ImgtoolError('USAGE', `${what} holds ${entries.length} images; say which one`);
    entry = entries[0];
  } else if (/^@\d+$/.test(options.ref)) {
    entry = entries[Number(options.ref.slice(1))];
  } else {
    entry = entries.find((x) => (x.RepoTags ?? []).includes(options.ref as string)) ?? (entries.length === 1 ? entries[0] : undefined);
  }
  if (!entry) throw new ImgtoolError('IMAGE_NOT_FOUND', `${what} has no image ${options.ref ?? ''}`);
  const configScan = get(entry.Config);
  if (!configScan || !('json' in configScan)) throw new ImgtoolError('ARCHIVE_INVALID', `${what} lacks the config ${entry.Config}`);
  const named = /([a-f0-9]{64})(?:\.json)?$/.exec(entry.Config)?.[1];
  if (named !== undefined && digestOf(configScan.json) !== `sha256:${named}`) {
    throw new ImgtoolError('DIGEST_MISMATCH', `${what}: config ${entry.Config} does not hash to its name`);
  }
  const config = parseImageConfig(configScan.json, `config of ${what}`);
  if (config.rootfs.diff_ids.length !== entry.Layers.length) {
    throw new ImgtoolError('ARCHIVE_INVALID', `${what}: manifest.json lists ${entry.Layers.length} layers, the config ${config.rootfs.diff_ids.length}`);
  }
  const listings = entry.Layers.map((path) => {
    const s = get(path);
    if (!s) throw new ImgtoolError('ARCHIVE_INVALID', `${what}: layer ${path} is missing`);
    if ('error' in s) throw s.error;
    if ('json' in s) {
      // A tiny layer that happens to start with "{" cannot exist (tar headers start with a name); an empty one can.
      if (s.json.length === 0) return { entries: [], whiteouts: [], opaqueDirs: [], contentSize: 0, tarSize: 0 };
      throw new ImgtoolError('ARCHIVE_INVALID', `${what}: layer ${path} is not a tar`);
    }
    return s.listing;
  });
  return { entry, configBytes: configScan.json, config, listings };
}
