/**
 * `docker-daemon:REF` — images in the engine, for the layer inspector. History-level reports
 * need only `GET /images/{name}/json` and `/history` (no export); file-level analysis streams
 * `GET /images/{name}/get` once and scans every layer as it flows past (src/layers/save-stream).
 * The exact config bytes, which the engine does not otherwise expose, also come from `/get`.
 */
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { once } from 'node:events';
import { ImgtoolError } from '../image/errors.js';
import { verifyingStream } from '../image/digest.js';
import type { Image, Layer } from '../image/image.js';
import { parseImageConfig, type HistoryEntry, type ImageConfig } from '../image/manifest.js';
import { DOCKER_LAYER } from '../image/media-types.js';
import { decompressed } from '../layers/decompress.js';
import { parseSaveManifest } from '../layers/docker-archive.js';
import { scanSaveStream, type ScannedSave } from '../layers/save-stream.js';
import { normalizeTarPath, readTar } from '../layers/tar.js';
import type { EngineClient } from './client.js';
import type { ImageHistoryEntry, ImageInspect } from './types.js';

/** What the engine tells about an image's history without exporting it. */
export interface DaemonHistory {
  readonly inspect: ImageInspect;
  /** A config rebuilt from inspect + history (exact when `mapping` is `config`). */
  readonly config: ImageConfig;
  /** Per-layer content sizes from `/history`, base first. */
  readonly sizes: readonly number[];
  /** `config`: the real config was read; `inferred`: empty_layer flags were deduced from sizes and instructions. */
  readonly mapping: 'config' | 'inferred';
}

// Instructions that never create a layer (classic builder "#(nop)" text or BuildKit's plain text).
const METADATA_INSTRUCTION =
  /^(?:\/bin\/sh -c #\(nop\)\s*)?(?:ENV|CMD|LABEL|EXPOSE|ENTRYPOINT|USER|VOLUME|STOPSIGNAL|HEALTHCHECK|SHELL|ONBUILD|ARG|MAINTAINER|WORKDIR)\b/;

/**
 * Deduces which history entries created layers. The engine's `/history` maps entries to layers
 * by `empty_layer` but does not return the flag: an entry with Size > 0 made a layer; among
 * zero-size entries, metadata instructions are taken as empty. Undefined when that does not
 * add up to the number of layers (the caller then reads the real config).
 */
export function inferEmptyLayers(oldestFirst: readonly ImageHistoryEntry[], layerCount: number): boolean[] | undefined {
  const nonEmptyBySize = oldestFirst.filter((h) => h.Size > 0).length;
  const zeros = oldestFirst.filter((h) => h.Size === 0);
  const need = layerCount - nonEmptyBySize;
  if (need < 0) return undefined;
  if (need === 0) return oldestFirst.map((h) => h.Size === 0);
  if (need === zeros.length) return oldestFirst.map(() => false);
  const candidates = zeros.filter((h) => !METADATA_INSTRUCTION.test(h.CreatedBy));
  if (candidates.length !== need) return undefined;
  return oldestFirst.map((h) => h.Size === 0 && METADATA_INSTRUCTION.test(h.CreatedBy));
}

/** Finds the config blob in a save stream, skipping layer content. */
async function configFromSave(engine: EngineClient, name: string, id: string, signal?: AbortSignal): Promise<Buffer> {
  const hex = id.replace(/^sha256:/, '');
  const stream = await engine.imageSave([name], signal);
  for await (const e of readTar(stream, {
    what: `docker save of ${name}`,
    errorCode: 'ARCHIVE_INVALID',
    ...(signal ? { signal } : {}),
    wantBody: (x) => x.path === `${hex}.json` || x.path === `blobs/sha256/${hex}`,
    maxBodyBytes: 16 * 1024 * 1024,
  })) {
    if (e.body) {
      stream.destroy();
      return e.body;
    }
  }
  throw new ImgtoolError('ARCHIVE_INVALID', `the engine's export of ${name} does not contain its config ${id}`);
}

/** Reads history and sizes from the engine (`/json` + `/history`; `/get` only if the mapping is ambiguous). */
export async function daemonHistory(engine: EngineClient, name: string, signal?: AbortSignal): Promise<DaemonHistory> {
  const [inspect, history] = await Promise.all([engine.imageInspect(name, signal), engine.imageHistory(name, signal)]);
  const diffIds = inspect.RootFS.Layers ?? [];
  const oldestFirst = [...history].reverse();
  const flags = inferEmptyLayers(oldestFirst, diffIds.length);
  let config: ImageConfig;
  let mapping: 'config' | 'inferred';
  if (flags) {
    const entries: HistoryEntry[] = oldestFirst.map((h, i) => ({
      created: new Date(h.Created * 1000).toISOString(),
      created_by: h.CreatedBy,
      ...(h.Comment ? { comment: h.Comment } : {}),
      ...(flags[i] ? { empty_layer: true } : {}),
    }));
    config = {
      architecture: inspect.Architecture,
      os: inspect.Os,
      ...(inspect.Variant ? { variant: inspect.Variant } : {}),
      created: inspect.Created,
      ...(inspect.Config ? { config: inspect.Config as ImageConfig['config'] & object } : {}),
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: entries,
    };
    mapping = 'inferred';
  } else {
    config = parseImageConfig(await configFromSave(engine, name, inspect.Id, signal), `config of ${name} in the engine`);
    mapping = 'config';
  }
  // The engine's per-entry Size is the layer's diff size; the n-th non-empty entry is layer n.
  const sizes: number[] = [];
  const nonEmpty = (config.history ?? []).map((h) => h.empty_layer !== true);
  oldestFirst.forEach((h, i) => {
    if (nonEmpty[i]) sizes.push(h.Size);
  });
  return { inspect, config, sizes: sizes.slice(0, diffIds.length), mapping };
}

/** Streams `/get` once and returns listings for every layer of `name`. */
export async function daemonScan(engine: EngineClient, name: string, signal?: AbortSignal): Promise<ScannedSave> {
  const stream = await engine.imageSave([name], signal);
  return scanSaveStream(stream, { what: `docker save of ${name}`, ...(signal ? { signal } : {}) });
}

/** A layer of an engine image; each read is one `/get` export streamed up to that layer. */
class DaemonLayer implements Layer {
  readonly mediaType = DOCKER_LAYER;
  constructor(
    private readonly image: DaemonImage,
    readonly diffId: string,
    private readonly index: number,
  ) {}
  async uncompressed(signal?: AbortSignal): Promise<Readable> {
    return this.image.layerStream(this.index, this.diffId, signal);
  }
}

/**
 * An engine image as an {@link Image}. Layer content needs exports (`/get`): first one to read
 * manifest.json and the config, then one per layer read, streamed up to that layer. Use
 * {@link daemonScan} for analysis of all layers in one export.
 */
export class DaemonImage implements Image {
  readonly source: string;
  private save: Promise<{ layers: string[]; links: Map<string, string>; config: Buffer }> | undefined;

  constructor(
    private readonly engine: EngineClient,
    private readonly name: string,
    private readonly inspect: ImageInspect,
  ) {
    this.source = `docker-daemon:${name}`;
  }

  /** Opens `name` in the engine (IMAGE_NOT_FOUND when it has no such image). */
  static async open(engine: EngineClient, name: string, signal?: AbortSignal): Promise<DaemonImage> {
    return new DaemonImage(engine, name, await engine.imageInspect(name, signal));
  }

  private metadata(signal?: AbortSignal): Promise<{ layers: string[]; links: Map<string, string>; config: Buffer }> {
    this.save ??= (async () => {
      const hex = this.inspect.Id.replace(/^sha256:/, '');
      const stream = await this.engine.imageSave([this.name], signal);
      let manifest: Buffer | undefined;
      let config: Buffer | undefined;
      const links = new Map<string, string>();
      for await (const e of readTar(stream, {
        what: `docker save of ${this.name}`,
        errorCode: 'ARCHIVE_INVALID',
        ...(signal ? { signal } : {}),
        wantBody: (x) => x.path === 'manifest.json' || x.path === `${hex}.json` || x.path === `blobs/sha256/${hex}`,
      })) {
        if (e.path === 'manifest.json') manifest = e.body;
        else if (e.body) config = e.body;
        else if (e.type === 'symlink' && e.linkpath !== undefined) {
          const dir = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
          links.set(e.path, normalizeTarPath(dir ? `${dir}/${e.linkpath}` : e.linkpath, this.source, 'ARCHIVE_INVALID'));
        } else if (e.type === 'hardlink' && e.linkpath !== undefined) links.set(e.path, e.linkpath);
      }
      if (!manifest || !config) throw new ImgtoolError('ARCHIVE_INVALID', `the engine's export of ${this.name} lacks manifest.json or its config`);
      const entry = parseSaveManifest(manifest, this.source)[0];
      if (!entry) throw new ImgtoolError('ARCHIVE_INVALID', `the engine's export of ${this.name} is empty`);
      return { layers: [...entry.Layers], links, config };
    })();
    return this.save;
  }

  async rawConfig(signal?: AbortSignal): Promise<Buffer> {
    return (await this.metadata(signal)).config;
  }

  async config(signal?: AbortSignal): Promise<ImageConfig> {
    return parseImageConfig(await this.rawConfig(signal), `config of ${this.source}`);
  }

  async layers(): Promise<Layer[]> {
    return (this.inspect.RootFS.Layers ?? []).map((d, i) => new DaemonLayer(this, d, i));
  }

  /** Streams layer `index` out of a fresh export, verified against its diff_id. */
  async layerStream(index: number, diffId: string, signal?: AbortSignal): Promise<Readable> {
    const meta = await this.metadata(signal);
    let target = meta.layers[index];
    if (target === undefined) throw new ImgtoolError('ARCHIVE_INVALID', `${this.source} has no layer ${index}`);
    for (let i = 0; i < 16 && meta.links.has(target); i++) target = meta.links.get(target) as string;
    const stream = await this.engine.imageSave([this.name], signal);
    const out = new PassThrough();
    const wanted = target;
    void (async () => {
      let found = false;
      for await (const e of readTar(stream, {
        what: `docker save of ${this.name}`,
        errorCode: 'ARCHIVE_INVALID',
        ...(signal ? { signal } : {}),
        consumeBody: (x) =>
          x.path === wanted
            ? async (content) => {
                for await (const c of content) if (!out.write(c)) await once(out, 'drain');
                return true;
              }
            : undefined,
      })) {
        if (e.consumed === true) {
          found = true;
          break;
        }
      }
      if (!found) throw new ImgtoolError('ARCHIVE_INVALID', `the engine's export of ${this.name} lacks layer ${wanted}`);
      out.end();
    })().catch((err: unknown) => out.destroy(err as Error));
    const tar = await decompressed(out, 'auto', `layer ${index} of ${this.source}`);
    return pipeline(tar, verifyingStream(diffId, undefined, { what: `layer ${index} of ${this.source}` }), () => {});
  }
}
