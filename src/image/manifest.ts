/**
 * Manifest, index and config types (OCI image-spec and Docker schema 2, which share a shape),
 * and validating parsers: bytes from a registry, a tar or a directory are untrusted, so every
 * field used later is checked here once and errors name what was wrong.
 */
import { ImgtoolError, type ImgtoolErrorCode } from './errors.js';
import { isDigest } from './digest.js';
import {
  DOCKER_MANIFEST_V1,
  DOCKER_MANIFEST_V1_SIGNED,
  OCI_INDEX,
  OCI_MANIFEST,
  isIndexMediaType,
  isManifestMediaType,
} from './media-types.js';
import { formatPlatform, platformMatches, type Platform } from './platform.js';

/** A content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
  readonly artifactType?: string;
}

/** An image manifest: config + ordered layers (OCI image manifest or Docker schema 2). */
export interface Manifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An image index / Docker manifest list. */
export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** One entry of a config's `history`, oldest first (image-spec config.md). */
export interface HistoryEntry {
  readonly created?: string;
  readonly created_by?: string;
  readonly author?: string;
  readonly comment?: string;
  readonly empty_layer?: boolean;
}

/** The runtime part of an image config (`config`), the fields imgtool reads or shows. */
export interface ContainerConfig {
  readonly User?: string;
  readonly ExposedPorts?: Readonly<Record<string, object>>;
  readonly Env?: readonly string[];
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly Volumes?: Readonly<Record<string, object>>;
  readonly WorkingDir?: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
  readonly StopSignal?: string;
  readonly [key: string]: unknown;
}

/** An image config (image-spec config.md; Docker's is a superset). */
export interface ImageConfig {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly created?: string;
  readonly author?: string;
  readonly config?: ContainerConfig;
  readonly rootfs: { readonly type: string; readonly diff_ids: readonly string[] };
  readonly history?: readonly HistoryEntry[];
  readonly [key: string]: unknown;
}

/** A parsed manifest document: either one image or an index of several. */
export type ParsedManifest =
  | { readonly kind: 'manifest'; readonly mediaType: string; readonly manifest: Manifest }
  | { readonly kind: 'index'; readonly mediaType: string; readonly index: ImageIndex };

function fail(code: ImgtoolErrorCode, what: string, why: string, hint?: string): never {
  throw new ImgtoolError(code, `${what} is invalid: ${why}`, hint === undefined ? {} : { hint });
}

function parseJsonObject(bytes: Uint8Array | string, code: ImgtoolErrorCode, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ImgtoolError(code, `${what} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
      hint: 'the source holds a damaged or non-image document',
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(code, what, 'expected a JSON object');
  }
  return value as Record<string, unknown>;
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** Validates one descriptor object; `where` names it in errors (e.g. "manifest layers[2]"). */
export function parseDescriptor(v: unknown, where: string, code: ImgtoolErrorCode = 'MANIFEST_INVALID'): Descriptor {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(code, where, 'not an object');
  const o = v as Record<string, unknown>;
  if (typeof o['mediaType'] !== 'string' || o['mediaType'] === '') fail(code, where, 'mediaType is missing');
  if (!isDigest(o['digest'])) fail(code, where, `digest ${JSON.stringify(o['digest'])} is not a valid digest`);
  const size = o['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) fail(code, where, 'size is not a non-negative integer');
  const d: { -readonly [K in keyof Descriptor]: Descriptor[K] } = {
    mediaType: o['mediaType'] as string,
    digest: o['digest'] as string,
    size,
  };
  if (Array.isArray(o['urls']) && o['urls'].every((u) => typeof u === 'string')) d.urls = o['urls'] as string[];
  if (o['annotations'] !== undefined) {
    if (!isStringRecord(o['annotations'])) fail(code, where, 'annotations must map strings to strings');
    d.annotations = o['annotations'];
  }
  if (o['platform'] !== undefined) {
    const p = o['platform'] as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || typeof p['os'] !== 'string' || typeof p['architecture'] !== 'string') {
      fail(code, where, 'platform needs os and architecture');
    }
    d.platform = p as unknown as Platform;
  }
  if (typeof o['artifactType'] === 'string') d.artifactType = o['artifactType'];
  return d;
}

/**
 * Parses a manifest or index. The kind comes from the document's `mediaType`, else from the
 * `mediaTypeHint` (a Content-Type header or a descriptor), else from its shape (OCI allows
 * omitting mediaType). Schema 1 manifests are refused with a hint.
 */
export function parseManifest(bytes: Uint8Array | string, mediaTypeHint?: string, what = 'manifest'): ParsedManifest {
  const o = parseJsonObject(bytes, 'MANIFEST_INVALID', what);
  const declared = typeof o['mediaType'] === 'string' ? o['mediaType'] : undefined;
  const hint = mediaTypeHint?.split(';')[0]?.trim();
  if (o['schemaVersion'] === 1 || hint === DOCKER_MANIFEST_V1 || hint === DOCKER_MANIFEST_V1_SIGNED) {
    fail('MANIFEST_INVALID', what, 'Docker schema 1 manifests are not supported', 'push the image again with a current docker or imgtool');
  }
  if (o['schemaVersion'] !== 2) fail('MANIFEST_INVALID', what, `schemaVersion is ${JSON.stringify(o['schemaVersion'])}, expected 2`);
  let mediaType = declared ?? (hint && (isIndexMediaType(hint) || isManifestMediaType(hint)) ? hint : undefined);
  if (mediaType === undefined) mediaType = Array.isArray(o['manifests']) ? OCI_INDEX : OCI_MANIFEST;
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(o['manifests'])) fail('MANIFEST_INVALID', what, 'an index needs a manifests array');
    const manifests = (o['manifests'] as unknown[]).map((m, i) => parseDescriptor(m, `${what} manifests[${i}]`));
    const index: { -readonly [K in keyof ImageIndex]: ImageIndex[K] } = { schemaVersion: 2, mediaType, manifests };
    if (isStringRecord(o['annotations'])) index.annotations = o['annotations'];
    if (typeof o['artifactType'] === 'string') index.artifactType = o['artifactType'];
    if (o['subject'] !== undefined) index.subject = parseDescriptor(o['subject'], `${what} subject`);
    return { kind: 'index', mediaType, index };
  }
  if (!isManifestMediaType(mediaType)) {
    fail('MANIFEST_INVALID', what, `media type ${JSON.stringify(mediaType)} is neither an image manifest nor an index`);
  }
  if (!Array.isArray(o['layers'])) fail('MANIFEST_INVALID', what, 'an image manifest needs a layers array');
  const config = parseDescriptor(o['config'], `${what} config`);
  const layers = (o['layers'] as unknown[]).map((l, i) => parseDescriptor(l, `${what} layers[${i}]`));
  const manifest: { -readonly [K in keyof Manifest]: Manifest[K] } = { schemaVersion: 2, mediaType, config, layers };
  if (isStringRecord(o['annotations'])) manifest.annotations = o['annotations'];
  if (typeof o['artifactType'] === 'string') manifest.artifactType = o['artifactType'];
  if (o['subject'] !== undefined) manifest.subject = parseDescriptor(o['subject'], `${what} subject`);
  return { kind: 'manifest', mediaType, manifest };
}

/** Like {@link parseManifest} but refuses an index (MANIFEST_INVALID). */
export function parseImageManifest(bytes: Uint8Array | string, mediaTypeHint?: string, what = 'manifest'): Manifest {
  const parsed = parseManifest(bytes, mediaTypeHint, what);
  if (parsed.kind !== 'manifest') fail('MANIFEST_INVALID', what, 'expected an image manifest, got an index');
  return parsed.manifest;
}

/**
 * Parses and validates an image config: `rootfs.diff_ids` must be digests, `history` an array
 * of objects. Agreement between history and diff_ids is checked where history is mapped to
 * layers (src/layers), so a malformed history can still be reported rather than refused here.
 */
export function parseImageConfig(bytes: Uint8Array | string, what = 'image config'): ImageConfig {
  const o = parseJsonObject(bytes, 'CONFIG_INVALID', what);
  const rootfs = o['rootfs'] as Record<string, unknown> | undefined;
  if (typeof rootfs !== 'object' || rootfs === null || !Array.isArray(rootfs['diff_ids'])) {
    fail('CONFIG_INVALID', what, 'rootfs.diff_ids is missing');
  }
  (rootfs['diff_ids'] as unknown[]).forEach((d, i) => {
    if (!isDigest(d)) fail('CONFIG_INVALID', what, `rootfs.diff_ids[${i}] ${JSON.stringify(d)} is not a digest`);
  });
  if (o['history'] !== undefined && o['history'] !== null) {
    if (!Array.isArray(o['history'])) fail('CONFIG_INVALID', what, 'history is not an array');
    (o['history'] as unknown[]).forEach((h, i) => {
      if (typeof h !== 'object' || h === null || Array.isArray(h)) fail('CONFIG_INVALID', what, `history[${i}] is not an object`);
    });
  }
  if (typeof o['architecture'] !== 'string') o['architecture'] = '';
  if (typeof o['os'] !== 'string') o['os'] = '';
  return o as unknown as ImageConfig;
}

/** The platform an image config declares. */
export function configPlatform(config: ImageConfig): Platform {
  const p: { -readonly [K in keyof Platform]: Platform[K] } = { os: config.os, architecture: config.architecture };
  if (config.variant !== undefined) p.variant = config.variant;
  return p;
}

/** True for index entries that are not runnable images (BuildKit attestations use `unknown/unknown`). */
function isAttestation(d: Descriptor): boolean {
  return (
    (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown') ||
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest'
  );
}

/**
 * Chooses the manifest for `wanted` from an index. Without `wanted`, an index with a single
 * image entry yields it, otherwise `fallback` (the host platform) is used. Fails with
 * PLATFORM_NOT_FOUND listing what the index offers.
 */
export function selectManifest(index: ImageIndex, wanted: Platform | undefined, fallback: Platform | undefined, what: string): Descriptor {
  const images = index.manifests.filter((d) => !isAttestation(d));
  const offered = images.map((d) => (d.platform ? formatPlatform(d.platform) : '(no platform)'));
  if (wanted === undefined && images.length === 1) return images[0] as Descriptor;
  const target = wanted ?? fallback;
  if (target !== undefined) {
    const hit = images.find((d) => d.platform !== undefined && platformMatches(target, d.platform));
    if (hit) return hit;
  }
  if (images.length === 0) {
    throw new ImgtoolError('PLATFORM_NOT_FOUND', `${what} is an index without any image manifest`, {
      hint: 'the index holds only attestations or is empty',
    });
  }
  throw new ImgtoolError(
    'PLATFORM_NOT_FOUND',
    `${what} has no image for ${target ? formatPlatform(target) : 'this platform'}; it offers ${offered.join(', ')}`,
    { details: { offered }, hint: `choose one with --platform, e.g. --platform ${offered[0] ?? 'linux/amd64'}` },
  );
}
