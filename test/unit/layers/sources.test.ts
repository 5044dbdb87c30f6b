/**
 * On-disk sources built in the test: docker save archives (Engine ≤ 24 layout) and OCI
 * layouts, well-formed and hostile. Hostile inputs must be coded errors, never crashes, and
 * nothing may be written anywhere (the sources only read).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../../src/image/digest.js';
import { isImgtoolError } from '../../../src/image/errors.js';
import { openDockerArchive } from '../../../src/layers/docker-archive.js';
import { openOciLayout } from '../../../src/layers/oci-layout.js';
import { scanLayers } from '../../../src/layers/gather.js';
import { analyzeLayers } from '../../../src/layers/analysis.js';
import { scanSaveStream } from '../../../src/layers/save-stream.js';
import { buildTar, type BuildEntry } from './tar-builder.js';

const root = mkdtempSync(join(tmpdir(), 'imgtool-layers-'));
afterAll(() => {
  // Reading must never have created anything besides what the tests wrote.
  expect(readdirSync(root).every((n) => n.startsWith('case-'))).toBe(true);
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
const caseDir = (): string => {
  const d = join(root, `case-${n++}`);
  mkdirSync(d);
  return d;
};

interface SaveOptions {
  readonly configOverride?: Buffer;
  readonly configName?: string;
  readonly layerPaths?: string[];
  readonly history?: unknown[];
}

/** A docker save tar (≤ 24 layout) for `layers` (each a list of entries). */
function dockerSave(layers: BuildEntry[][], o: SaveOptions = {}): { file: string; tar: Buffer } {
  const tars = layers.map((l) => buildTar(l));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256(t)) },
      history: o.history ?? tars.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `/bin/sh -c step ${i}` })),
    }),
  );
  const configBytes = o.configOverride ?? config;
  const configName = o.configName ?? `${sha256(configBytes).slice(7)}.json`;
  const paths = o.layerPaths ?? tars.map((_, i) => `l${i}/layer.tar`);
  const manifest = JSON.stringify([{ Config: configName, RepoTags: ['example/app:1'], Layers: paths }]);
  const outer: BuildEntry[] = [
    ...tars.map((t, i) => ({ path: `l${i}/layer.tar`, content: t })),
    { path: configName, content: configBytes },
    { path: 'manifest.json', content: manifest },
  ];
  const tar = buildTar(outer);
  const file = join(caseDir(), 'save.tar');
  writeFileSync(file, tar);
  return { file, tar };
}

/** An OCI layout with gzip layers; `tamper` may change a blob after it was described. */
function ociLayout(layers: BuildEntry[][], tamper?: (blobs: Map<string, Buffer>) => void): string {
  const dir = caseDir();
  const blobs = new Map<string, Buffer>();
  const put = (b: Buffer): { digest: string; size: number } => {
    const digest = sha256(b);
    blobs.set(digest, b);
    return { digest, size: b.length };
  };
  const tars = layers.map((l) => buildTar(l));
  const layerDescs = tars.map((t) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gzipSync(t)) }));
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256(t)) } })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: layerDescs })));
  tamper?.(blobs);
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const [d, b] of blobs) writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), b);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }),
  );
  return dir;
}

const base: BuildEntry[] = [{ path: 'etc/', type: 'dir' }, { path: 'etc/big', content: Buffer.alloc(4000, 7) }];
const del: BuildEntry[] = [{ path: 'etc/.wh.big' }];

async function inspect(open: Promise<import('../../../src/image/image.js').Image>) {
  const image = await open;
  return analyzeLayers(await scanLayers(image, await image.layers()));
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    if (isImgtoolError(err)) return err.code;
    throw err;
  }
  return undefined;
}

describe('docker-archive', () => {
  it('reads layers by offset and finds the wasted file', async () => {
    const { file } = dockerSave([base, del]);
    const image = await openDockerArchive(file);
    expect(image.source).toBe(`docker-archive:${file}`);
    const layers = await image.layers();
    expect(layers[0]?.uncompressedSize).toBe(buildTar(base).length);
    const a = analyzeLayers(await scanLayers(image, layers));
    expect(a.wastedBytes).toBe(4000);
    expect(await openDockerArchive(file, { ref: 'example/app:1' })).toBeTruthy();
    expect(await openDockerArchive(file, { ref: 'docker.io/example/app:1' })).toBeTruthy();
    expect(await code(openDockerArchive(file, { ref: 'other:2' }))).toBe('IMAGE_NOT_FOUND');
  });

  it('refuses a layer entry with ../ or an absolute path', async () => {
    expect(await code(inspect(openDockerArchive(dockerSave([[{ path: '../../etc/passwd', content: 'x' }]]).file)))).toBe('LAYER_INVALID');
    expect(await code(inspect(openDockerArchive(dockerSave([[{ path: '/etc/passwd', content: 'x' }]]).file)))).toBe('LAYER_INVALID');
  });

  it('refuses manifest.json paths that climb out of the archive', async () => {
    const { file } = dockerSave([base], { layerPaths: ['../../../etc/passwd'] });
    expect(await code(openDockerArchive(file))).toBe('ARCHIVE_INVALID');
  });

  it('a config with bad JSON is CONFIG_INVALID', async () => {
    const { file } = dockerSave([base], { configOverride: Buffer.from('{"rootfs": [') , configName: 'config.json' });
    expect(await code(openDockerArchive(file))).toBe('CONFIG_INVALID');
  });

  it('a config that does not hash to its name is DIGEST_MISMATCH', async () => {
    const { file } = dockerSave([base], { configOverride: Buffer.from('{}'), configName: `${'a'.repeat(64)}.json` });
    expect(await code(openDockerArchive(file))).toBe('DIGEST_MISMATCH');
  });

  it('a layer that does not match its diff_id is DIGEST_MISMATCH when read', async () => {
    const good = dockerSave([base]);
    // Same archive, but one content byte of the layer changed (headers intact).
    const tar = Buffer.from(good.tar);
    const at = tar.indexOf(Buffer.alloc(100, 7));
    tar[at] = 8;
    const file = join(caseDir(), 'bad.tar');
    writeFileSync(file, tar);
    expect(await code(inspect(openDockerArchive(file)))).toBe('DIGEST_MISMATCH');
  });

  it('a truncated archive is ARCHIVE_INVALID, a gzip archive is refused with a hint', async () => {
    const { tar } = dockerSave([base]);
    const cut = join(caseDir(), 'cut.tar');
    writeFileSync(cut, tar.subarray(0, 2000));
    expect(await code(openDockerArchive(cut))).toBe('ARCHIVE_INVALID');
    const gz = join(caseDir(), 'save.tar.gz');
    writeFileSync(gz, gzipSync(tar));
    await expect(openDockerArchive(gz)).rejects.toThrow(/gzip-compressed/);
    expect(await code(openDockerArchive(join(root, 'missing.tar')))).toBe('IMAGE_NOT_FOUND');
  });

  it('layer count disagreeing with diff_ids is ARCHIVE_INVALID', async () => {
    const { file } = dockerSave([base, del], { layerPaths: ['l0/layer.tar'] });
    expect(await code(openDockerArchive(file))).toBe('ARCHIVE_INVALID');
  });
});

describe('docker save stream (engine export)', () => {
  it('scans every layer in one pass and orders them by manifest.json', async () => {
    const { tar } = dockerSave([base, del]);
    const s = await scanSaveStream(Readable.from([tar]), { what: 'test stream' });
    expect(s.listings.map((l) => l.contentSize)).toEqual([4000, 0]);
    expect(analyzeLayers(s.listings).wastedBytes).toBe(4000);
  });

  it('a hostile layer inside the stream is a coded error', async () => {
    const { tar } = dockerSave([[{ path: '../x', content: 'x' }]]);
    expect(await code(scanSaveStream(Readable.from([tar]), { what: 'test stream' }))).toBe('LAYER_INVALID');
  });
});

describe('oci layout', () => {
  it('reads gzip layers by tag', async () => {
    const dir = ociLayout([base, del]);
    const a = await inspect(openOciLayout(dir, { ref: 'v1' }));
    expect(a.wastedBytes).toBe(4000);
    expect(await code(openOciLayout(dir, { ref: 'v2' }))).toBe('IMAGE_NOT_FOUND');
  });

  it('a manifest that does not match its digest in index.json is DIGEST_MISMATCH', async () => {
    const dir = ociLayout([base], (blobs) => {
      for (const [d, b] of blobs) {
        if (b.toString().includes('"layers"')) blobs.set(d, Buffer.from(b.toString().replace('"schemaVersion":2', '"schemaVersion":2 ')));
      }
    });
    expect(await code(openOciLayout(dir))).toBe('DIGEST_MISMATCH');
  });

  it('a layer blob that does not match its descriptor is DIGEST_MISMATCH (or a gzip error) when read', async () => {
    const dir = ociLayout([base], (blobs) => {
      for (const [d, b] of blobs) if (b[0] === 0x1f) blobs.set(d, Buffer.concat([b.subarray(0, b.length - 8), Buffer.alloc(8)]));
    });
    const c = await code(inspect(openOciLayout(dir)));
    expect(['DIGEST_MISMATCH', 'LAYER_INVALID']).toContain(c);
  });

  it('a truncated layer blob is an error, not a crash', async () => {
    const dir = ociLayout([[{ path: 'f', content: Buffer.alloc(100_000, 1) }]], (blobs) => {
      for (const [d, b] of blobs) if (b[0] === 0x1f) blobs.set(d, b.subarray(0, Math.floor(b.length / 2)));
    });
    expect(['DIGEST_MISMATCH', 'LAYER_INVALID']).toContain(await code(inspect(openOciLayout(dir))));
  });

  it('an OCI layout inside a tar (oci-archive:) is read in place', async () => {
    const dir = ociLayout([base, del]);
    const files: BuildEntry[] = [];
    const walk = (rel: string): void => {
      for (const name of readdirSync(join(dir, rel), { withFileTypes: true })) {
        const p = rel ? `${rel}/${name.name}` : name.name;
        if (name.isDirectory()) walk(p);
        else files.push({ path: p, content: readFileSync(join(dir, p)) });
      }
    };
    walk('');
    const file = join(caseDir(), 'oci.tar');
    writeFileSync(file, buildTar(files));
    expect((await inspect(openDockerArchive(file, { ref: 'v1' }))).wastedBytes).toBe(4000);
  });

  it('a directory that is not a layout is a clear error', async () => {
    expect(await code(openOciLayout(caseDir()))).toBe('MANIFEST_INVALID');
  });
});
