/**
 * Direct push without re-reading what the registry has (issue 5, push performance): the layer
 * blobs a push needs are learnt by diff id — from the blob-location cache, or from the target
 * tag's current manifest — and confirmed (HEAD or mount) before the engine is asked to export
 * anything. Counted here on the real world: layers compressed (`layersCompressed`), engine
 * exports (`imageSave` calls through a counting wrapper), blob uploads (the client's stats).
 * Every pushed tag is pulled and run by docker on the other daemon, so the registry content
 * is what counts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leakedSecrets, world } from '../../world/world.js';
import { dockerCli, dockerCliAsync } from '../../world/base-image.js';
import { startFaultProxy } from '../../world/fault-proxy.js';
import { connectEngine, type EngineClient } from '../../../src/engine/client.js';
import { parseReference } from '../../../src/image/reference.js';
import { BlobLocations } from '../../../src/registry/push-direct/blob-locations.js';
import { dockerArchiveSource, engineSource, pushDirect, type EngineImageReader } from '../../../src/registry/push-direct/push.js';
import { RegistryClient } from '../../../src/registry/client/client.js';
import { sha256 } from '../../../src/image/digest.js';
import { runInProcess } from '../../world/in-process.js';

const uniq = (): string => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
let engine: EngineClient;
let nonce: string;
let image: string;
let diffIds: string[];
const logs: string[] = [];
const log = (l: string): void => void logs.push(l);

function build(tag: string, lines: string[]): void {
  const dir = join(world().tmp, `repush-${uniq()}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), [...lines, ''].join('\n'));
  dockerCli(world().docker.host, ['build', '-q', '-t', tag, dir]);
}

function layersOf(tag: string): string[] {
  return JSON.parse(dockerCli(world().docker.host, ['image', 'inspect', '--format', '{{json .RootFS.Layers}}', tag])) as string[];
}

/** The engine, with its export and inspect calls counted. */
function counting(e: EngineClient): { reader: EngineImageReader; calls: { save: number; inspect: number } } {
  const calls = { save: 0, inspect: 0 };
  return {
    calls,
    reader: {
      imageSave: (names, signal) => {
        calls.save++;
        return e.imageSave(names, signal);
      },
      imageInspect: (name, signal) => {
        calls.inspect++;
        return e.imageInspect(name, signal);
      },
    },
  };
}

/** docker pull + run on the TLS daemon (which never had the image). */
async function pullAndRun(ref: string): Promise<string> {
  const w = world();
  const cfg = join(w.tmp, `dcfg-${uniq()}`);
  mkdirSync(cfg, { recursive: true });
  const env = { DOCKER_CERT_PATH: w.dockerTls.certPath, DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: cfg };
  const pull = await dockerCliAsync(w.dockerTls.host, ['pull', '-q', ref], undefined, env);
  expect(pull.code, pull.stderr).toBe(0);
  const run = await dockerCliAsync(w.dockerTls.host, ['run', '--rm', '--network', 'none', ref], undefined, env);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim();
}

beforeAll(() => {
  nonce = uniq();
  image = `imgtool-test/repush:${nonce}`;
  build(image, [`FROM ${world().baseImage}`, `RUN echo ${nonce} > /nonce`, 'RUN dd if=/dev/urandom of=/data bs=1048576 count=3 2>/dev/null', 'CMD ["cat", "/nonce"]']);
  diffIds = layersOf(image);
}, 120_000);

beforeAll(async () => {
  engine = await connectEngine({ host: world().docker.host, env: {} });
});

afterAll(async () => {
  await engine?.close();
  expect(leakedSecrets(logs.join('\n'))).toEqual([]);
});

describe('re-push without compressing or exporting what the registry has', () => {
  it('an empty cache: the tag\'s manifest names the blobs; nothing is compressed, exported or uploaded, same digest', async () => {
    const { open } = world();
    const target = parseReference(`${open.host}/repush/empty:${nonce}`);
    const first = await pushDirect(engineSource(engine, image), target, { log });
    expect(first.layersCompressed).toBe(diffIds.length);
    expect(first.sourceRead).toBe(true);

    const { reader, calls } = counting(engine);
    const client = new RegistryClient(open.host);
    const again = await pushDirect(engineSource(reader, image), target, { client, blobLocations: new BlobLocations(), log });
    await client.close();
    expect(again.digest).toBe(first.digest);
    expect(again.layersCompressed).toBe(0);
    expect(again.sourceRead).toBe(false);
    expect(calls).toEqual({ save: 0, inspect: 1 });
    expect(again.blobs).toEqual({ exists: diffIds.length + 1, mounted: 0, uploaded: 0 });
    expect(client.stats.blobUploads).toBe(0);
    expect(client.stats.manifestPuts).toBe(1); // re-PUT, as docker does

    // A docker-archive file cannot say its diff ids up front: it is read, but hashed, not compressed.
    const file = join(world().tmp, `repush-${uniq()}.tar`);
    dockerCli(world().docker.host, ['save', '-o', file, image]);
    const fromFile = await pushDirect(dockerArchiveSource(file), target, { blobLocations: new BlobLocations(), log });
    expect(fromFile.digest).toBe(first.digest);
    expect(fromFile.layersCompressed).toBe(0);
    expect(fromFile.sourceRead).toBe(true);
    expect(fromFile.blobs.uploaded).toBe(0);
    expect(await pullAndRun(target.toString())).toBe(nonce);
  });

  it('with a cache: another repository gets every blob by mount without an export; a changed image compresses only its new layer', async () => {
    const { open } = world();
    const cacheFile = join(world().tmp, `cache-${uniq()}`, 'blob-locations.json');
    const first = await pushDirect(engineSource(engine, image), parseReference(`${open.host}/repush/cached:${nonce}`), { blobLocations: new BlobLocations(), log });
    // Round-trip the cache through its file, as the CLI does between runs.
    const learnt = new BlobLocations();
    await pushDirect(engineSource(engine, image), parseReference(`${open.host}/repush/cached:${nonce}`), { blobLocations: learnt, log });
    await learnt.save(cacheFile);
    const cache = await BlobLocations.load(cacheFile);
    for (const d of diffIds) expect(cache.compressed(d)?.digest).toMatch(/^sha256:/);

    const { reader, calls } = counting(engine);
    const c2 = new RegistryClient(open.host);
    const other = parseReference(`${open.host}/repush/cached-other-${nonce}:1`);
    const mounted = await pushDirect(engineSource(reader, image), other, { client: c2, blobLocations: cache, log });
    await c2.close();
    expect(calls.save).toBe(0);
    expect(mounted.sourceRead).toBe(false);
    expect(mounted.layersCompressed).toBe(0);
    expect(mounted.blobs).toEqual({ exists: 0, mounted: diffIds.length + 1, uploaded: 0 });
    expect(c2.stats.mounts).toBe(diffIds.length + 1);
    expect(mounted.digest).toBe(first.digest);
    expect(await pullAndRun(other.toString())).toBe(nonce);

    // One more layer on top: the export is needed, but only the new layer is compressed and sent.
    const changed = `imgtool-test/repush:${nonce}-v2`;
    build(changed, [`FROM ${image}`, `RUN echo v2 > /v2`]);
    const c3 = new RegistryClient(open.host);
    const v2 = await pushDirect(engineSource(reader, changed), parseReference(`${open.host}/repush/cached:${nonce}-v2`), { client: c3, blobLocations: cache, log });
    await c3.close();
    expect(calls.save).toBe(1);
    expect(v2.sourceRead).toBe(true);
    expect(v2.layersCompressed).toBe(1);
    expect(v2.blobs).toEqual({ exists: diffIds.length, mounted: 0, uploaded: 2 });
    expect(c3.stats.blobUploads).toBe(2);
    expect(await pullAndRun(`${open.host}/repush/cached:${nonce}-v2`)).toBe(nonce);
  });

  it('an image docker pushed: a direct push of the same tag keeps docker\'s blobs and manifest (same digest)', async () => {
    const { open, docker } = world();
    const ref = `${open.host}/repush/by-docker:${nonce}`;
    dockerCli(docker.host, ['tag', image, ref]);
    dockerCli(docker.host, ['push', '-q', ref]);
    const reader = new RegistryClient(open.host);
    const dockers = await reader.headManifest('repush/by-docker', nonce);
    await reader.close();
    const { reader: eng, calls } = counting(engine);
    const r = await pushDirect(engineSource(eng, image), parseReference(ref), { blobLocations: new BlobLocations(), log });
    expect(r.digest).toBe(dockers?.digest);
    expect(r.layersCompressed).toBe(0);
    expect(r.blobs.uploaded).toBe(0);
    expect(calls.save).toBe(0);
  });

  it('a cache entry naming a blob the registry lacks, or has with another size, is not trusted: the layer is compressed', async () => {
    const { open } = world();
    const repo = `repush/stale-${nonce}`;
    const truth = new BlobLocations();
    const clean = await pushDirect(engineSource(engine, image), parseReference(`${open.host}/${repo}:1`), { blobLocations: truth, log });
    const real = truth.compressed(diffIds[0] as string);
    expect(real).toBeDefined();
    const lying = new BlobLocations();
    const bogus = sha256(Buffer.from(`not a layer ${nonce}`));
    for (const d of diffIds) lying.setCompressed(d, { digest: bogus, size: 17, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' });
    lying.add(bogus, open.host, repo);
    // The first layer's blob is in the repository, but not with the size the cache claims.
    lying.setCompressed(diffIds[0] as string, { ...(real as NonNullable<typeof real>), size: (real?.size ?? 0) + 1 });
    const here: string[] = [];
    const r = await pushDirect(engineSource(engine, image), parseReference(`${open.host}/${repo}:2`), { blobLocations: lying, log: (l) => here.push(l) });
    logs.push(...here);
    expect(r.digest).toBe(clean.digest);
    expect(r.layersCompressed).toBe(diffIds.length);
    expect(here.some((l) => l.includes(`${real?.digest} with ${real?.size} bytes, expected ${(real?.size ?? 0) + 1}`))).toBe(true);
    expect(await pullAndRun(`${open.host}/${repo}:2`)).toBe(nonce);
  });
});

describe('a large layer is uploaded while it is compressed', () => {
  it('streams it in one PATCH and commits it by digest; a stream cut mid-way falls back to the file (fault proxy)', async () => {
    const { open } = world();
    const n = uniq();
    const big = `imgtool-test/repush-big:${n}`;
    // 40 MiB of random bytes: above the 32 MiB streaming threshold.
    build(big, [`FROM ${world().baseImage}`, `RUN echo ${n} > /nonce`, 'RUN dd if=/dev/urandom of=/big bs=1048576 count=40 2>/dev/null', 'CMD ["cat", "/nonce"]']);
    // The cut is a fake (no registry fails on demand); the registry behind the proxy is real.
    const proxy = await startFaultProxy({ target: { host: open.host } });
    try {
      const clean = await pushDirect(engineSource(engine, big), parseReference(`${proxy.host}/repush/big:${n}`), { log });
      const patches = proxy.events.filter((e) => e.method === 'PATCH');
      expect(patches.length).toBe(1); // the big layer, streamed; the small ones go monolithic
      expect(clean.blobs.uploaded).toBeGreaterThanOrEqual(3);
      expect(await pullAndRun(`${open.host}/repush/big:${n}`)).toBe(n);

      proxy.setFaults({ rate: 1, kinds: { cutUpload: 1 }, only: (m) => m === 'PATCH', maxFaults: 1 });
      proxy.resetCounters();
      const here: string[] = [];
      const cut = await pushDirect(engineSource(engine, big), parseReference(`${proxy.host}/repush/big-cut-${n}:1`), { log: (l) => here.push(l) });
      logs.push(...here);
      expect(proxy.counters.cutUpload).toBe(1);
      expect(here.some((l) => /streamed upload of sha256:[0-9a-f]{64} failed .*uploading it from its file/.test(l))).toBe(true);
      expect(cut.digest).toBe(clean.digest);
      expect(await pullAndRun(`${open.host}/repush/big-cut-${n}:1`)).toBe(n);
    } finally {
      await proxy.close();
    }
  });
});

describe('imgtool push --direct keeps its cache under XDG_CACHE_HOME', () => {
  async function cli(argv: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
    const r = await runInProcess(argv, { label: 'direct-push-repush', env, cwd: world().tmp });
    logs.push(r.stdout, r.stderr);
    return r;
  }

  it('a damaged cache file is ignored with a debug note and rewritten; the next push to another repository reads nothing from the engine', async () => {
    const w = world();
    const home = join(w.tmp, `home-${uniq()}`);
    const cacheHome = join(home, 'xdg-cache');
    const file = join(cacheHome, 'imgtool', 'blob-locations.json');
    mkdirSync(join(cacheHome, 'imgtool'), { recursive: true });
    writeFileSync(file, '{"version":1,"locations":{"sha256:');
    const env = { DOCKER_HOST: w.docker.host, DOCKER_CONFIG: home, HOME: home, XDG_CACHE_HOME: cacheHome, PATH: process.env['PATH'] ?? '/usr/bin:/bin', NO_COLOR: '1' };
    const first = await cli(['--debug', 'push', '--direct', '-q', '--from', `docker-daemon:${image}`, `${w.open.host}/repush/cli:${nonce}`], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/blob location cache .* is damaged .*ignoring it/);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { version: number; compressed: Record<string, { digest: string }> };
    expect(saved.version).toBe(1);
    for (const d of diffIds) expect(saved.compressed[d]?.digest).toMatch(/^sha256:/);

    const second = await cli(['--debug', 'push', '--direct', '-q', '--from', `docker-daemon:${image}`, `${w.open.host}/repush/cli-other-${nonce}:1`], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe(first.stdout.trim());
    expect(second.stderr).toMatch(/the registry has all \d+ blobs; not reading docker-daemon:/);
    expect(second.stderr).not.toMatch(/damaged/);
    // No temporary file is left next to the cache.
    expect(existsSync(`${file}.tmp`)).toBe(false);
  });
});
