/**
 * Media types of manifests, indexes, configs and layers, OCI and Docker, and the small
 * predicates the sources and the registry client use to branch on them.
 */

/** OCI image manifest (image-spec manifest.md). */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** OCI image index (image-spec image-index.md). */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** OCI image config. */
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** OCI layer, uncompressed tar. */
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
/** OCI layer, gzip-compressed tar. */
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** OCI layer, zstd-compressed tar. */
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
/** OCI non-distributable layer, uncompressed (deprecated by the spec but still seen). */
export const OCI_LAYER_NONDIST = 'application/vnd.oci.image.layer.nondistributable.v1.tar';
/** OCI non-distributable layer, gzip. */
export const OCI_LAYER_NONDIST_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
/** OCI empty descriptor (artifacts), `{}`. */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
/** Docker image manifest, schema 2. */
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
/** Docker manifest list (the Docker flavour of an index). */
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** Docker image config. */
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
/** Docker layer, gzip-compressed tar. */
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
/** Docker layer, uncompressed tar (what `docker save` ≤ 24 writes, never pushed as such). */
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
/** Docker foreign layer (Windows base layers), fetched from `urls`. */
export const DOCKER_FOREIGN_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
/** Docker schema 1 manifest, signed: only recognised in order to refuse it clearly. */
export const DOCKER_MANIFEST_V1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
/** Docker schema 1 manifest, unsigned. */
export const DOCKER_MANIFEST_V1 = 'application/vnd.docker.distribution.manifest.v1+json';

/** The `Accept` list for manifest GETs: images and indexes, OCI and Docker. */
export const MANIFEST_ACCEPT: readonly string[] = [
  OCI_INDEX,
  DOCKER_MANIFEST_LIST,
  OCI_MANIFEST,
  DOCKER_MANIFEST,
];

/** True for an image index or a Docker manifest list. */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/** True for a single-image manifest (OCI or Docker schema 2). */
export function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}

/** How a layer blob is compressed, judged by its media type. */
export type LayerCompression = 'gzip' | 'zstd' | 'none';

/**
 * The compression a layer media type declares, or undefined for a type that is not a
 * layer we know (callers then sniff the bytes: a gzip stream starts with 1f 8b).
 */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  switch (mediaType) {
    case OCI_LAYER_GZIP:
    case OCI_LAYER_NONDIST_GZIP:
    case DOCKER_LAYER_GZIP:
    case DOCKER_FOREIGN_LAYER:
      return 'gzip';
    case OCI_LAYER_ZSTD:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd':
      return 'zstd';
    case OCI_LAYER:
    case OCI_LAYER_NONDIST:
    case DOCKER_LAYER:
      return 'none';
    default:
      return undefined;
  }
}

/** True when `mediaType` names a layer (as opposed to a config or an artifact blob). */
export function isLayerMediaType(mediaType: string): boolean {
  return layerCompression(mediaType) !== undefined;
}
