import { describe, expect, it } from 'vitest';
import { parseImageConfig, parseManifest, selectManifest, type ImageIndex } from '../../../src/image/manifest.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, layerCompression } from '../../../src/image/media-types.js';
import { formatPlatform, hostPlatform, parsePlatform, platformMatches } from '../../../src/image/platform.js';

const dg = (c: string): string => `sha256:${c.repeat(64)}`;
const desc = (c: string, mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip', extra = {}) => ({ mediaType, digest: dg(c), size: 10, ...extra });

describe('parseManifest', () => {
  it('parses Docker and OCI manifests and indexes, by mediaType, hint or shape', () => {
    const m = { schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: desc('a', 'application/vnd.docker.container.image.v1+json'), layers: [desc('b')] };
    expect(parseManifest(JSON.stringify(m))).toMatchObject({ kind: 'manifest', mediaType: DOCKER_MANIFEST });
    const bare = { schemaVersion: 2, config: desc('a'), layers: [] };
    expect(parseManifest(JSON.stringify(bare)).mediaType).toBe(OCI_MANIFEST);
    const idx = { schemaVersion: 2, manifests: [desc('c', OCI_MANIFEST, { platform: { os: 'linux', architecture: 'amd64' } })] };
    expect(parseManifest(JSON.stringify(idx))).toMatchObject({ kind: 'index', mediaType: OCI_INDEX });
    expect(parseManifest(JSON.stringify(idx), `${DOCKER_MANIFEST_LIST}; charset=utf-8`).mediaType).toBe(DOCKER_MANIFEST_LIST);
  });

  it('refuses bad JSON, schema 1, bad digests and bad sizes with MANIFEST_INVALID', () => {
    expect(() => parseManifest('{nope')).toThrow(expect.objectContaining({ code: 'MANIFEST_INVALID' }));
    expect(() => parseManifest(JSON.stringify({ schemaVersion: 1, fsLayers: [] }))).toThrow(/schema 1/);
    expect(() => parseManifest(JSON.stringify({ schemaVersion: 2, config: { ...desc('a'), digest: 'sha256:xyz' }, layers: [] }))).toThrow(/not a valid digest/);
    expect(() => parseManifest(JSON.stringify({ schemaVersion: 2, config: { ...desc('a'), size: -1 }, layers: [] }))).toThrow(/size/);
    expect(() => parseManifest(JSON.stringify({ schemaVersion: 2, mediaType: 'text/plain', layers: [] }))).toThrow(/neither/);
  });
});

describe('parseImageConfig', () => {
  it('requires rootfs.diff_ids of digests and history of objects (CONFIG_INVALID)', () => {
    expect(parseImageConfig(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [dg('1')] } })).rootfs.diff_ids).toHaveLength(1);
    expect(() => parseImageConfig('{"rootfs":')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => parseImageConfig('{}')).toThrow(/diff_ids is missing/);
    expect(() => parseImageConfig(JSON.stringify({ rootfs: { diff_ids: ['x'] } }))).toThrow(/not a digest/);
    expect(() => parseImageConfig(JSON.stringify({ rootfs: { diff_ids: [] }, history: [1] }))).toThrow(/history\[0\]/);
  });
});

describe('platforms', () => {
  it('parses, normalises and matches like containerd', () => {
    expect(formatPlatform(parsePlatform('linux/arm64'))).toBe('linux/arm64/v8');
    expect(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'arm64' })).toBe(false);
    expect(hostPlatform('darwin', 'x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(() => parsePlatform('linux')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('selectManifest picks the platform, skips attestations, and lists offers when missing', () => {
    const index: ImageIndex = {
      schemaVersion: 2,
      manifests: [
        desc('a', OCI_MANIFEST, { platform: { os: 'linux', architecture: 'amd64' } }),
        desc('b', OCI_MANIFEST, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
        desc('c', OCI_MANIFEST, { platform: { os: 'unknown', architecture: 'unknown' } }),
      ],
    };
    expect(selectManifest(index, parsePlatform('linux/arm64'), undefined, 'x').digest).toBe(dg('b'));
    expect(selectManifest(index, undefined, { os: 'linux', architecture: 'amd64' }, 'x').digest).toBe(dg('a'));
    expect(() => selectManifest(index, parsePlatform('linux/s390x'), undefined, 'x')).toThrow(
      expect.objectContaining({ code: 'PLATFORM_NOT_FOUND', message: expect.stringContaining('linux/amd64, linux/arm64/v8') }),
    );
  });
});

describe('media types', () => {
  it('knows layer compression', () => {
    expect(layerCompression('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe('gzip');
    expect(layerCompression('application/vnd.oci.image.layer.v1.tar+zstd')).toBe('zstd');
    expect(layerCompression('application/vnd.oci.image.layer.v1.tar')).toBe('none');
    expect(layerCompression('application/json')).toBeUndefined();
  });
});
