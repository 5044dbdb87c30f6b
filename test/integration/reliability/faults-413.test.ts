/**
 * A proxy in front of the registry that refuses request bodies over N bytes with 413 (the
 * fault proxy's `maxBodyBytes`, as an nginx `client_max_body_size` does; the 413 is a fake, the
 * registry behind it is real). Direct push must never repeat a refused request until it gives
 * up: it switches a large blob to chunked upload, or fails fast telling the user to use
 * `--chunk-size`; with `--chunk-size` below N it succeeds. The proxy's counters bound the
 * requests made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leakedSecrets, world } from '../../world/world.js';
import { startFaultProxy, type FaultEvent, type FaultProxy } from '../../world/fault-proxy.js';
import { connectEngine, type EngineClient } from '../../../src/engine/client.js';
import { ImgtoolError, isImgtoolError } from '../../../src/image/errors.js';
import { parseReference } from '../../../src/image/reference.js';
import { FALLBACK_CHUNK_SIZE } from '../../../src/registry/client/upload.js';
import { engineSource, pushDirect } from '../../../src/registry/push-direct/push.js';
import { buildLayeredImage, danglingManifests, dockerPull, imgtoolEnv, imgtoolInProcess, pullerEnv, storedTags, uniqName, type LayeredImage } from './faults-helpers.js';

const MiB = 1024 * 1024;
const run = uniqName();
let engine: EngineClient;
/** Three layers of 3 MB random bytes: each over a 1 MiB limit, each under the 5 MiB fallback chunk. */
let small: LayeredImage;
/** Two layers of 12 MB random bytes: over the fallback chunk size. */
let large: LayeredImage;
/** Fault-free digests of the two images. */
const clean = new Map<string, string>();
const printed: string[] = [];
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  const w = world();
  engine = await connectEngine({ host: w.docker.host, env: {} });
  [small, large] = await Promise.all([
    buildLayeredImage(`imgtool-test/faults-413s:${run}`, [3_000_000, 3_000_000, 3_000_000]),
    buildLayeredImage(`imgtool-test/faults-413l:${run}`, [12_000_000, 12_000_000]),
  ]);
  for (const img of [small, large]) {
    clean.set(img.tag, (await pushDirect(engineSource(engine, img.tag), parseReference(`${w.open.host}/faults-${run}/clean:${img === small ? 's' : 'l'}`), {})).digest);
  }
}, 300_000);

afterAll(async () => {
  for (const p of proxies) await p.close();
  await engine?.close();
  expect(leakedSecrets(printed.join('\n'))).toEqual([]);
  expect(danglingManifests(world().open.dataDir as string, `faults-${run}`).dangling).toEqual([]);
});

async function limitProxy(maxBodyBytes: number): Promise<FaultProxy> {
  const p = await startFaultProxy({ target: { host: world().open.host }, faults: { maxBodyBytes } });
  proxies.push(p);
  return p;
}

/** The most 413s any single URL got: 1 means no refused request was ever sent again. */
function max413PerUrl(events: readonly FaultEvent[]): number {
  const n = new Map<string, number>();
  for (const e of events) if (e.fault === 'status413') n.set(`${e.method} ${e.path}`, (n.get(`${e.method} ${e.path}`) ?? 0) + 1);
  return Math.max(0, ...n.values());
}

/**
 * A bound on a push's requests that does not depend on which checks the push makes first: a
 * few per blob (HEAD, mount, upload start, PUT, cancel, config read), the chunks, and a few
 * for the push (ping, the tag's manifest, the manifest PUT). Repeating refused requests until
 * the retries give up would cost `attempts` (5) per refusal on top, which the per-URL 413
 * count catches exactly.
 */
const requestBound = (blobs: number, patches: number): number => 5 + 6 * blobs + patches;

/** `PUT`s to upload Locations (monolithic uploads and chunked upload completions). */
const uploadPuts = (events: readonly FaultEvent[]): number => events.filter((e) => e.method === 'PUT' && e.path.includes('/blobs/uploads/')).length;

/** Blobs of an image whose compressed size is over `limit` (random data does not compress: about the layer size). */
const blobsOver = (img: LayeredImage): number => (img === small ? 3 : 2);

describe('413 from a proxy that limits request bodies', () => {
  it('large blobs (over the 5 MiB fallback chunk) switch to chunked upload after one 413 each and the push succeeds', async () => {
    const proxy = await limitProxy(6 * MiB);
    const logs: string[] = [];
    const target = `faults-${run}/limit6/auto`;
    const r = await pushDirect(engineSource(engine, large.tag), parseReference(`${proxy.host}/${target}:1`), { log: (l) => logs.push(l) });
    printed.push(...logs);
    expect(r.digest).toBe(clean.get(large.tag));
    // One 413 per large blob, never twice for the same request, then 5 MiB PATCHes (12 MB → 3 chunks each).
    expect(proxy.counters.status413).toBe(blobsOver(large));
    expect(max413PerUrl(proxy.events)).toBe(1);
    const patches = proxy.events.filter((e) => e.method === 'PATCH').length;
    expect(patches).toBe(blobsOver(large) * Math.ceil(12_000_000 / FALLBACK_CHUNK_SIZE));
    // Bounded: the blob PUTs are one per blob plus the refused one per large blob; everything else stays within a few requests a blob.
    const blobs = large.layers.length + 1;
    expect(uploadPuts(proxy.events)).toBeLessThanOrEqual(blobs + blobsOver(large));
    expect(proxy.counters.requests).toBeLessThanOrEqual(requestBound(blobs, patches));
    expect(logs.some((l) => /413 for sha256:[0-9a-f]{64} .* retrying in \d+-byte chunks/.test(l))).toBe(true);
    const pulled = await dockerPull(`${world().open.host}/${target}:1`, pullerEnv());
    expect(pulled.id).toBe(large.id);
  });

  it('blobs over the limit but under the fallback chunk fail fast with REGISTRY_TOO_LARGE and a --chunk-size hint; nothing is published', async () => {
    const proxy = await limitProxy(1 * MiB);
    const target = `faults-${run}/limit1/fast`;
    const err = await pushDirect(engineSource(engine, small.tag), parseReference(`${proxy.host}/${target}:1`), {}).catch((e: unknown) => e);
    expect(isImgtoolError(err, 'REGISTRY_TOO_LARGE'), String(err)).toBe(true);
    const e = err as ImgtoolError;
    printed.push(e.message, e.hint ?? '');
    expect(e.message).toMatch(/HTTP 413/);
    // The advice must work against this proxy: a chunk size below its limit, e.g. nginx's default 1m.
    expect(e.hint).toMatch(/--chunk-size/);
    expect(e.hint).toMatch(/below/);
    expect(e.hint).not.toMatch(/--chunk-size 8M/);
    // Fast: each refused request was sent once, at most one per blob over the limit.
    expect(max413PerUrl(proxy.events)).toBe(1);
    expect(proxy.counters.status413).toBeGreaterThanOrEqual(1);
    expect(proxy.counters.status413).toBeLessThanOrEqual(blobsOver(small));
    expect(proxy.counters.requests).toBeLessThanOrEqual(requestBound(small.layers.length + 1, 0));
    expect(proxy.events.filter((ev) => ev.method === 'PUT' && ev.path.includes('/manifests/'))).toEqual([]);
    expect(storedTags(world().open.dataDir as string, target).size).toBe(0);
  });

  it('the CLI says the same (exit 1, the hint), and with --chunk-size below the limit the push succeeds without a 413', async () => {
    const proxy = await limitProxy(1 * MiB);
    const env = imgtoolEnv();
    const failed = await imgtoolInProcess(['push', '--direct', '--from', `docker-daemon:${small.tag}`, `${proxy.host}/faults-${run}/limit1/cli:1`], env);
    printed.push(failed.stdout, failed.stderr);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toMatch(/^imgtool: .*HTTP 413/m);
    expect(failed.stderr).toMatch(/hint: .*--chunk-size/);
    expect(failed.stdout).toBe('');
    expect(max413PerUrl(proxy.events)).toBe(1);
    expect(proxy.counters.status413).toBeLessThanOrEqual(blobsOver(small));

    proxy.resetCounters();
    const target = `faults-${run}/limit1/chunked`;
    const ok = await imgtoolInProcess(['push', '--direct', '--chunk-size', '512KiB', '--from', `docker-daemon:${small.tag}`, `${proxy.host}/${target}:1`], env);
    printed.push(ok.stdout, ok.stderr);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(clean.get(small.tag));
    expect(proxy.counters.status413).toBe(0);
    // 3 MB layers in 512 KiB chunks: 6 PATCHes each; nothing sent twice.
    const patches = proxy.events.filter((e) => e.method === 'PATCH').length;
    expect(patches).toBeGreaterThanOrEqual(3 * Math.ceil(3_000_000 / (512 * 1024)));
    expect(uploadPuts(proxy.events)).toBeLessThanOrEqual(small.layers.length + 1);
    expect(proxy.counters.requests).toBeLessThanOrEqual(requestBound(small.layers.length + 1, patches));
    const pulled = await dockerPull(`${world().open.host}/${target}:1`, pullerEnv());
    expect(pulled.id).toBe(small.id);
  });

  it('a large blob refused even in fallback chunks stops after two 413s per blob with a --chunk-size hint', async () => {
    // 2 MiB: the base layers and the config fit, the 12 MB layers and their 5 MiB fallback chunks do not.
    const proxy = await limitProxy(2 * MiB);
    const err = await pushDirect(engineSource(engine, large.tag), parseReference(`${proxy.host}/faults-${run}/limit1/large:1`), {}).catch((e: unknown) => e);
    expect(isImgtoolError(err, 'REGISTRY_TOO_LARGE'), String(err)).toBe(true);
    const e = err as ImgtoolError;
    printed.push(e.message, e.hint ?? '');
    expect(e.message).toMatch(/even in \d+-byte chunks/);
    expect(e.hint).toMatch(/--chunk-size 1M/);
    expect(max413PerUrl(proxy.events)).toBe(1);
    // The monolithic PUT and the first 5 MiB PATCH, for at most every large blob.
    expect(proxy.counters.status413).toBeLessThanOrEqual(2 * blobsOver(large));
    expect(proxy.counters.requests).toBeLessThanOrEqual(requestBound(large.layers.length + 1, 2 * blobsOver(large)));
  });
});
