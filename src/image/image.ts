/**
 * The read-only image model every source implements (daemon, registry, docker-archive, OCI
 * layout), in go-containerregistry's style: small interfaces whose content methods return a
 * fresh stream on every call, so nothing is held in memory and a consumer can read a layer
 * twice without the source caring.
 */
import type { Readable } from 'node:stream';
import type { ImageConfig } from './manifest.js';

/** One layer of an image. */
export interface Layer {
  /** `sha256:…` of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  readonly diffId: string;
  /** Digest of the compressed blob, when the source knows it (registry, OCI layout). */
  readonly digest?: string;
  /** Size in bytes of the compressed blob, when known. */
  readonly size?: number;
  /** Size in bytes of the uncompressed tar, when known without reading it. */
  readonly uncompressedSize?: number;
  /** Media type of the blob as stored by the source. */
  readonly mediaType: string;
  /** A fresh stream of the uncompressed tar. */
  uncompressed(signal?: AbortSignal): Promise<Readable>;
  /** A fresh stream of the compressed blob, when the source has one. */
  compressed?(signal?: AbortSignal): Promise<Readable>;
}

/** A raw manifest as the source holds it: the exact bytes (digests are of these) and their media type. */
export interface RawManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
}

/** One image, wherever it lives. */
export interface Image {
  /** Where the image was read from, skopeo-style: `docker-archive:/x.tar`, `oci:/dir:tag`, `docker://host/repo:tag`, `docker-daemon:repo:tag`. */
  readonly source: string;
  /** The config blob's exact bytes. */
  rawConfig(signal?: AbortSignal): Promise<Buffer>;
  /** The parsed, validated config. */
  config(signal?: AbortSignal): Promise<ImageConfig>;
  /** Layers, base first, in `rootfs.diff_ids` order. */
  layers(signal?: AbortSignal): Promise<Layer[]>;
  /** The manifest, when the source has one (registry, OCI layout; not the engine). */
  rawManifest?(signal?: AbortSignal): Promise<RawManifest>;
}
