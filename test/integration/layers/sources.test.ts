/**
 * The layer inspector against the real test world: an image built on the private dockerd is
 * read from the engine (docker-daemon:), from `docker save` (docker-archive:), from the open
 * registry without pulling (docker://), and from an OCI layout made by skopeo (oci:); sizes
 * must agree with each other and with `docker history`, compressed sizes with the manifest.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, truncateSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HistoryReport, InspectReport } from '../../../src/layers/report.js';
import { dockerCli } from '../../world/base-image.js';
import { world, type World } from '../../world/world.js';
import { runInProcess, type InProcessResult } from '../../world/in-process.js';

/** Runs imgtool in-process with captured output against the private daemon. */
function imgtool(argv: string[]): Promise<InProcessResult> {
  const w = world();
  return runInProcess(argv, {
    label: 'layers/sources',
    env: { PATH: process.env['PATH'] ?? '', HOME: mkdtempSync(join(w.tmp, 'lh-')), DOCKER_CONFIG: mkdtempSync(join(w.tmp, 'lc-')), DOCKER_HOST: w.docker.host },
    cwd: w.tmp,
  });
}

async function json<T>(argv: string[]): Promise<T> {
  const r = await imgtool([...argv, '--json']);
  expect(r.stderr.includes('imgtool:') ? r.stderr : '').toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

const BIG = 3 * 1024 * 1024;
const id = randomBytes(4).toString('hex');

interface Fixture {
  w: World;
  local: string; // engine tag
  remote: string; // registry reference (not in the engine)
  archive: string;
  oci: string;
  repo: string;
}
let fx: Fixture;

/** Layer sizes (bytes) `docker history` reports, base first, non-empty steps only is not knowable: all rows. */
function dockerHistorySizes(w: World, ref: string): number[] {
  return dockerCli(w.docker.host, ['history', '--human=false', '--no-trunc', '--format', '{{.Size}}', ref])
    .trim()
    .split('\n')
    .map(Number);
}

async function registryJson(w: World, path: string, accept: string): Promise<{ body: Record<string, unknown>; raw: string }> {
  const res = await fetch(`${w.open.url}${path}`, { headers: { accept } });
  expect(res.status).toBe(200);
  const raw = await res.text();
  return { body: JSON.parse(raw) as Record<string, unknown>, raw };
}

beforeAll(() => {
  const w = world();
  const dir = mkdtempSync(join(w.tmp, 'layers-'));
  mkdirSync(join(dir, 'ctx'));
  // Layer 4 ships a 3 MiB file and a cache dir; layer 5 deletes the file (whiteout); layer 6
  // replaces the cache dir (rm -rf + mkdir: an opaque directory on overlay2).
  writeFileSync(
    join(dir, 'ctx', 'Dockerfile'),
    [
      `FROM ${w.baseImage}`,
      `RUN mkdir -p /data/cache && dd if=/dev/urandom of=/data/big.bin bs=1024 count=${BIG / 1024} 2>/dev/null && echo one > /data/cache/one && echo two2 > /data/cache/two`,
      'ENV LAYERS_TEST=1',
      'RUN rm /data/big.bin',
      'RUN rm -rf /data/cache && mkdir -p /data/cache && echo new > /data/cache/three',
      '',
    ].join('\n'),
  );
  const local = `imgtool-test/layers-waste:${id}`;
  dockerCli(w.docker.host, ['build', '-q', '-t', local, join(dir, 'ctx')]);
  const archive = join(dir, 'waste.tar');
  dockerCli(w.docker.host, ['save', '-o', archive, local]);
  const repo = `layers/waste-${id}`;
  const remote = `${w.open.host}/${repo}:1`;
  dockerCli(w.docker.host, ['tag', local, remote]);
  dockerCli(w.docker.host, ['push', remote]);
  // The base image in the same repository, for the multi-platform index.
  dockerCli(w.docker.host, ['tag', w.baseImage, `${w.open.host}/${repo}:base`]);
  dockerCli(w.docker.host, ['push', `${w.open.host}/${repo}:base`]);
  // Forget the registry tags locally: docker:// must read the registry, not the engine.
  dockerCli(w.docker.host, ['rmi', remote, `${w.open.host}/${repo}:base`]);
  const oci = join(dir, 'oci');
  execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${remote}`, `oci:${oci}:v1`], { stdio: 'pipe' });
  fx = { w, local, remote, archive, oci, repo };
});

describe('history from all four sources', () => {
  it('per-layer uncompressed sizes agree between engine, docker save, registry, OCI layout and docker history', async () => {
    const daemon = await json<HistoryReport>(['history', `docker-daemon:${fx.local}`]);
    const archive = await json<HistoryReport>(['history', `docker-archive:${fx.archive}`]);
    const remote = await json<HistoryReport>(['history', `docker://${fx.remote}`, '--uncompressed']);
    const oci = await json<HistoryReport>(['history', `oci:${fx.oci}:v1`]);
    expect(daemon.sizes.uncompressed).toBe('engine');
    expect(archive.sizes.uncompressed).toBe('computed');
    const rowSizes = (r: HistoryReport): number[] => r.rows.map((row) => (row.emptyLayer ? 0 : (row.layer?.size ?? -1)));
    const docker = dockerHistorySizes(fx.w, fx.local);
    expect(rowSizes(daemon)).toEqual(docker);
    expect(rowSizes(archive)).toEqual(docker);
    expect(rowSizes(remote)).toEqual(docker);
    expect(rowSizes(oci)).toEqual(docker);
    // 9 entries (5 of the base image), 7 layers, 2 empty (CMD, ENV).
    expect(daemon.totals).toMatchObject({ entries: 9, layers: 7, emptyLayers: 2 });
    expect(archive.totals.size).toBe(daemon.totals.size);
    expect(daemon.rows.map((r) => r.layer?.diffId)).toEqual(archive.rows.map((r) => r.layer?.diffId));
    expect(remote.rows.map((r) => r.layer?.diffId)).toEqual(archive.rows.map((r) => r.layer?.diffId));
    // Newest first, cleaned instruction text, relative and absolute time.
    expect(archive.rows[0]?.createdBy).toContain('rm -rf /data/cache');
    expect(archive.rows[2]).toMatchObject({ createdBy: 'ENV LAYERS_TEST=1', emptyLayer: true });
    expect(archive.rows[2]?.createdByRaw).toBe('/bin/sh -c #(nop)  ENV LAYERS_TEST=1');
    expect(archive.rows[0]?.createdRelative).toMatch(/ago$/);
    expect(Date.parse(archive.rows[0]?.created ?? '')).not.toBeNaN();
    expect(archive.rows[0]?.cumulativeSize).toBe(archive.totals.size);
  });

  it('registry history reads manifest and config only, and compressed sizes agree with the manifest', async () => {
    const remote = await json<HistoryReport>(['history', `docker://${fx.remote}`]);
    expect(remote.sizes).toEqual({ uncompressed: 'unavailable', compressed: true });
    const { body, raw } = await registryJson(fx.w, `/v2/${fx.repo}/manifests/1`, 'application/vnd.docker.distribution.manifest.v2+json');
    const layers = body['layers'] as Array<{ size: number; digest: string }>;
    const fromReport = remote.rows.filter((r) => r.layer).map((r) => ({ size: r.layer?.compressedSize, digest: r.layer?.digest })).reverse();
    expect(fromReport).toEqual(layers.map((l) => ({ size: l.size, digest: l.digest })));
    expect(remote.totals.compressedSize).toBe(layers.reduce((a, l) => a + l.size, 0));
    const { createHash } = await import('node:crypto');
    expect(remote.manifestDigest).toBe(`sha256:${createHash('sha256').update(raw).digest('hex')}`);
    // Not pulled: the engine still does not know the registry reference.
    const images = dockerCli(fx.w.docker.host, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(images).not.toContain(fx.remote);
  });

  it('the table output is like docker history and --no-trunc shows full text', async () => {
    const r = await imgtool(['history', `docker-archive:${fx.archive}`]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^LAYER\s+CREATED\s+CREATED BY\s+SIZE\s+CUMULATIVE/);
    expect(lines.some((l) => l.includes('<empty layer>') && l.includes('ENV LAYERS_TEST=1'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^total: 7 layers, 9 history entries \(2 empty\)/);
    const full = await imgtool(['history', '--no-trunc', `docker-archive:${fx.archive}`]);
    expect(full.stdout).toContain('rm -rf /data/cache && mkdir -p /data/cache && echo new > /data/cache/three');
  });

  it('a bare reference uses the engine when it has the image, else the registry, and says which', async () => {
    const fromEngine = await imgtool(['history', '--json', fx.local]);
    expect(fromEngine.code).toBe(0);
    expect((JSON.parse(fromEngine.stdout) as HistoryReport).resolvedFrom).toBe('engine');
    expect(fromEngine.stderr).toContain('from the engine');
    const fromRegistry = await imgtool(['history', '--json', fx.remote]);
    expect(fromRegistry.code).toBe(0);
    expect((JSON.parse(fromRegistry.stdout) as HistoryReport).resolvedFrom).toBe('registry');
    expect(fromRegistry.stderr).toContain('reading it from its registry');
  });
});

describe('multi-platform index in the registry', () => {
  let indexRef: string;
  beforeAll(async () => {
    const w = fx.w;
    const manifestOf = async (tag: string): Promise<{ digest: string; size: number; mediaType: string }> => {
      const res = await fetch(`${w.open.url}/v2/${fx.repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
      const bytes = Buffer.from(await res.arrayBuffer());
      const { createHash } = await import('node:crypto');
      return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' };
    };
    const amd = await manifestOf('1');
    const arm = await manifestOf('base');
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [
        { ...amd, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    };
    const put = await fetch(`${w.open.url}/v2/${fx.repo}/manifests/multi`, {
      method: 'PUT',
      headers: { 'content-type': index.mediaType },
      body: JSON.stringify(index),
    });
    expect(put.status).toBe(201);
    indexRef = `docker://${w.open.host}/${fx.repo}:multi`;
  });

  it('chooses the platform asked for, and the amd64 image by default on this host', async () => {
    const arm = await json<HistoryReport>(['history', indexRef, '--platform', 'linux/arm64']);
    expect(arm.totals.layers).toBe(4);
    const def = await json<HistoryReport>(['history', indexRef, '--platform', 'linux/amd64']);
    expect(def.totals.layers).toBe(7);
    if (process.arch === 'x64') expect((await json<HistoryReport>(['history', indexRef])).totals.layers).toBe(7);
  });

  it('a platform the index lacks is a clear error listing what it offers', async () => {
    const r = await imgtool(['history', indexRef, '--platform', 'linux/s390x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no image for linux/s390x');
    expect(r.stderr).toContain('linux/amd64, linux/arm64/v8');
  });
});

describe('inspect: wasted space, opaque directories, gates', () => {
  const check = (r: InspectReport): void => {
    // The deleted 3 MiB file is wasted, and so are the two files hidden by the opaque directory.
    expect(r.wastedBytes).toBeGreaterThanOrEqual(BIG);
    const big = r.wasted.find((x) => x.path === 'data/big.bin');
    expect(big).toMatchObject({ size: BIG, how: 'deleted', layer: 4, hiddenBy: 5 });
    const byOpaque = r.wasted.filter((x) => x.hiddenBy === 6).map((x) => x.path).sort();
    expect(byOpaque).toEqual(['data/cache/one', 'data/cache/two']);
    expect(r.wastedBytes).toBe(BIG + 4 + 5);
    expect(r.layers[6]?.removed.paths).toEqual(['data/cache/']);
    expect(r.layers[6]?.added).toEqual({ count: 1, bytes: 4 });
    expect(r.layers[5]?.removed).toEqual({ paths: ['data/big.bin'], files: 1, bytes: BIG });
    expect(r.efficiency).toBeCloseTo(1 - r.wastedBytes / r.totalBytes, 12);
    expect(r.biggest.map((f) => f.path)).not.toContain('data/big.bin');
    expect(r.layers[0]?.biggest[0]?.path).toBe('bin/busybox');
  };

  it('gives the same file-level analysis from every source', async () => {
    const reports = [
      await json<InspectReport>(['inspect', `docker-daemon:${fx.local}`]),
      await json<InspectReport>(['inspect', `docker-archive:${fx.archive}`]),
      await json<InspectReport>(['inspect', `docker://${fx.remote}`]),
      await json<InspectReport>(['inspect', `oci:${fx.oci}:v1`]),
    ];
    for (const r of reports) check(r);
    // skopeo rewrites the config as OCI when it writes a layout, so its digest differs there.
    const strip = (r: InspectReport): unknown => ({ ...r, image: '', configDigest: undefined, manifestDigest: undefined, resolvedFrom: undefined, compressedBytes: undefined, layers: r.layers.map((l) => ({ ...l, digest: undefined, compressedSize: undefined })) });
    expect(strip(reports[1]!)).toEqual(strip(reports[0]!));
    expect(JSON.parse(JSON.stringify(strip(reports[2]!)))).toEqual(JSON.parse(JSON.stringify(strip(reports[1]!))));
    expect(JSON.parse(JSON.stringify(strip(reports[3]!)))).toEqual(JSON.parse(JSON.stringify(strip(reports[1]!))));
    // Layer sizes agree with docker history here too.
    expect(reports[1]!.totalBytes).toBe(dockerHistorySizes(fx.w, fx.local).reduce((a, b) => a + b, 0));
    expect(reports[1]!.configDigest).toBe(reports[0]!.configDigest);
  });

  it('a breached gate prints which one and exits 1; passing gates exit 0', async () => {
    const fail = await imgtool(['inspect', `docker-archive:${fx.archive}`, '--max-wasted', '1MB', '--min-efficiency', '0.1', '--max-size', '1GB']);
    expect(fail.code).toBe(1);
    expect(fail.stdout).toMatch(/FAIL\s+max-wasted/);
    expect(fail.stdout).toMatch(/PASS\s+max-size/);
    expect(fail.stderr).toContain('gate failed: max-wasted');
    expect(fail.stderr).not.toContain('gate failed: max-size');
    const json = await imgtool(['inspect', `docker-archive:${fx.archive}`, '--json', '--max-size', '1kB']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as InspectReport;
    expect(report.passed).toBe(false);
    expect(report.gates).toEqual([{ gate: 'max-size', limit: 1000, actual: report.totalBytes, passed: false }]);
    const ok = await imgtool(['inspect', `docker-archive:${fx.archive}`, '--max-wasted', '4MiB', '--min-efficiency', '10%']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('wasted space');
    expect(ok.stdout).toContain('/data/big.bin');
  });
});

describe('damaged sources are clear errors', () => {
  it('a truncated docker save tar', async () => {
    const dir = mkdtempSync(join(fx.w.tmp, 'trunc-'));
    const file = join(dir, 'cut.tar');
    writeFileSync(file, readFileSync(fx.archive));
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const r = await imgtool(['inspect', `docker-archive:${file}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/imgtool: docker-archive:.* is not a valid tar archive: archive is truncated/);
  });

  it('an OCI layout whose layer blob does not match its digest', async () => {
    const dir = mkdtempSync(join(fx.w.tmp, 'tamper-'));
    execFileSync('cp', ['-r', fx.oci, join(dir, 'oci')]);
    const blobs = join(dir, 'oci', 'blobs', 'sha256');
    const index = JSON.parse(readFileSync(join(dir, 'oci', 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const manifest = JSON.parse(readFileSync(join(blobs, index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }> };
    const victim = join(blobs, manifest.layers[4]!.digest.slice(7));
    const bytes = readFileSync(victim);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20]! + 1) & 0xff;
    writeFileSync(victim, bytes);
    expect(readdirSync(blobs).length).toBeGreaterThan(3);
    const r = await imgtool(['inspect', `oci:${join(dir, 'oci')}:v1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/hashes to sha256:[0-9a-f]{64}, not sha256:|could not be decompressed/);
  });
});

describe('library: engine and registry images as Image', () => {
  it('DaemonImage gives the exact config bytes and layer streams verified against diff_ids', async () => {
    const { connectEngine } = await import('../../../src/engine/client.js');
    const { DaemonImage } = await import('../../../src/engine/image-source.js');
    const { digestStream, sha256 } = await import('../../../src/image/digest.js');
    const engine = await connectEngine({ env: { DOCKER_HOST: fx.w.docker.host } });
    try {
      const image = await DaemonImage.open(engine, fx.local);
      const inspect = await engine.imageInspect(fx.local);
      expect(sha256(await image.rawConfig())).toBe(inspect.Id);
      const layers = await image.layers();
      expect(layers.map((l) => l.diffId)).toEqual(inspect.RootFS.Layers);
      const big = layers[4]!;
      expect((await digestStream(await big.uncompressed())).digest).toBe(big.diffId);
    } finally {
      await engine.close();
    }
  });

  it('RemoteImage exposes the manifest bytes and compressed blobs matching their descriptors', async () => {
    const { RegistryClient } = await import('../../../src/registry/client/client.js');
    const { openRemoteImage } = await import('../../../src/registry/image-source.js');
    const { parseReference } = await import('../../../src/image/reference.js');
    const { digestStream, sha256 } = await import('../../../src/image/digest.js');
    const client = new RegistryClient(fx.w.open.host);
    try {
      const image = await openRemoteImage(client, parseReference(fx.remote));
      const raw = await image.rawManifest();
      expect(sha256(raw.bytes)).toBe(image.manifestDigest);
      const layer = (await image.layers())[6]!;
      const c = await digestStream(await layer.compressed!());
      expect(c).toEqual({ digest: layer.digest, size: layer.size });
      expect((await digestStream(await layer.uncompressed())).digest).toBe(layer.diffId);
    } finally {
      await client.close();
    }
  });
});
