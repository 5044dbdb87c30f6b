/**
 * Direct push (`pushDirect` and `imgtool push --direct` in-process) through the fault proxy
 * (issue 7, "Faults"). The proxy sits in front of the real registries and injects, per request,
 * drawn from a seeded PRNG at a 20% rate: 500, 503, 429 with Retry-After, the connection cut
 * mid-body (upload and download) and slow answers. The injected failures are fakes (no real
 * registry fails on demand); the registry, the daemon and docker pull are real.
 *
 * The promise under test: every push either succeeds with the right digest (the one a
 * fault-free push of the same image gets, and what the registry serves for the tag) or fails
 * with a clear ImgtoolError after bounded retries; the registry never holds a manifest that
 * names a missing blob; `docker pull` of every pushed tag gives the source image.
 *
 * Regression tests at the end name the bugs these runs found in src/registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leakedSecrets, world } from '../../world/world.js';
import { dockerCliAsync } from '../../world/base-image.js';
import { FAULT_KINDS, startFaultProxy, type FaultCounters, type FaultProxy } from '../../world/fault-proxy.js';
import { connectEngine, type EngineClient } from '../../../src/engine/client.js';
import { ImgtoolError, isImgtoolError } from '../../../src/image/errors.js';
import { parseReference } from '../../../src/image/reference.js';
import { RegistryClient } from '../../../src/registry/client/client.js';
import { MAX_UPLOAD_SESSIONS } from '../../../src/registry/client/upload.js';
import { BlobLocations } from '../../../src/registry/push-direct/blob-locations.js';
import { engineSource, pushDirect } from '../../../src/registry/push-direct/push.js';
import {
  addCounters,
  buildLayeredImage,
  danglingManifests,
  dockerPull,
  faultsByKind,
  imgtoolEnv,
  imgtoolInProcess,
  maxHitsPerUrl,
  must,
  pullerEnv,
  storedTags,
  uniqName,
  uploadStarts,
  type LayeredImage,
} from './faults-helpers.js';

/** Retry bounds for the library pushes: the default attempts, shorter waits to keep the run short. */
const RETRY = { attempts: 5, baseDelayMs: 50, maxDelayMs: 500 } as const;
/** The CLI uses the default policy (5 attempts too). */
const ATTEMPTS = 5;
/** The fault mix of the runs: every kind equally likely, 20% of requests. */
const FAULTS = { rate: 0.2, seed: 7_2026, retryAfterSeconds: 1, slowMs: 150 } as const;
const PUSHES = 50;
/** Codes a push may fail with under these faults: each names the registry's or the network's failure. */
const FAILURE_CODES = ['REGISTRY_ERROR', 'REGISTRY_UNREACHABLE', 'REGISTRY_RATE_LIMITED', 'REGISTRY_NOT_FOUND', 'PUSH_FAILED', 'DIGEST_MISMATCH'];

const run = uniqName();
let engine: EngineClient;
/** Two images, 5 and 4 layers of random bytes on top of the base image (fresh content every run). */
let imageA: LayeredImage;
let imageB: LayeredImage;
/** Manifest digests of fault-free pushes of A and B: what every faulted push must reproduce. */
const expected = new Map<string, string>();
const printed: string[] = [];

/** One push of the run, as measured. */
interface Outcome {
  readonly i: number;
  readonly via: 'library' | 'cli';
  readonly repository: string;
  readonly tag: string;
  readonly image: LayeredImage;
  readonly digest?: string;
  readonly error?: { code: string; message: string };
  readonly requests: number;
  readonly maxHits: { url: string; hits: number };
  readonly uploadStarts: number;
}

/** Sums of a whole run, for the report and the README. */
interface Figures {
  pushes: number;
  survived: number;
  failed: number;
  failures: string[];
  requests: number;
  injected: Record<string, number>;
}

beforeAll(async () => {
  const w = world();
  engine = await connectEngine({ host: w.docker.host, env: {} });
  const MB = 1_000_000;
  [imageA, imageB] = await Promise.all([
    buildLayeredImage(`imgtool-test/faults-a:${run}`, [1 * MB, 1.5 * MB, 2 * MB, 2.5 * MB, 3 * MB]),
    buildLayeredImage(`imgtool-test/faults-b:${run}`, [3 * MB, 1 * MB, 2 * MB, 1.5 * MB]),
  ]);
  // The reference digests: the same images pushed straight to the registry, no proxy, no faults.
  for (const img of [imageA, imageB]) {
    const r = await pushDirect(engineSource(engine, img.tag), parseReference(`${w.open.host}/faults-${run}/clean:${img === imageA ? 'a' : 'b'}`), {});
    expected.set(img.tag, r.digest);
  }
  expect(expected.get(imageA.tag)).not.toBe(expected.get(imageB.tag));
}, 300_000);

afterAll(async () => {
  await engine?.close();
  // Nothing any push printed or logged (errors quote requests) may hold a password or token.
  expect(leakedSecrets(printed.join('\n'))).toEqual([]);
});

/** What the registry itself (not the proxy) says the tag's manifest digest is. */
async function servedDigest(registryHost: string, repository: string, tag: string, credentials?: { username: string; password: string }): Promise<string | undefined> {
  const client = new RegistryClient(registryHost, credentials === undefined ? {} : { credentials });
  try {
    return (await client.headManifest(repository, tag))?.digest;
  } finally {
    await client.close();
  }
}

/**
 * Pushes `image` to `<proxy>/<repository>:<tag>` through the library or the CLI and measures
 * what the proxy saw during that push alone.
 */
async function pushOnce(
  proxy: FaultProxy,
  totals: FaultCounters,
  i: number,
  via: Outcome['via'],
  image: LayeredImage,
  repository: string,
  tag: string,
  opts: { locations?: BlobLocations; credentials?: { username: string; password: string } } = {},
): Promise<Outcome> {
  proxy.resetCounters();
  const target = `${proxy.host}/${repository}:${tag}`;
  let digest: string | undefined;
  let error: Outcome['error'];
  if (via === 'library') {
    const logs: string[] = [];
    try {
      const r = await pushDirect(engineSource(engine, image.tag), parseReference(target), {
        retry: RETRY,
        log: (l) => logs.push(l),
        ...(opts.locations === undefined ? {} : { blobLocations: opts.locations }),
        ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
      });
      digest = r.digest;
    } catch (err) {
      // Only ImgtoolErrors are clear errors; anything else is a bug that the test reports as such.
      expect(err, `push ${i} threw a non-ImgtoolError: ${String(err)}`).toBeInstanceOf(ImgtoolError);
      const e = err as ImgtoolError;
      error = { code: e.code, message: e.message };
      printed.push(e.message, e.hint ?? '');
      console.log(`push ${i} failed: ${e.message}\n${logs.filter((l) => /retry|✗|← [45]\d\d|session failed|blob is there/.test(l)).map((l) => l.slice(0, 220)).join('\n')}`);
    }
    printed.push(...logs);
  } else {
    const env = imgtoolEnv(opts.credentials === undefined ? undefined : { host: proxy.host, ...opts.credentials });
    const r = await imgtoolInProcess(['--debug', 'push', '--direct', '--from', `docker-daemon:${image.tag}`, target], env);
    printed.push(r.stdout, r.stderr);
    if (r.code === 0) {
      digest = r.stdout.trim();
    } else {
      expect(r.code, r.stderr).toBe(1);
      // A clear error: "imgtool: <what failed>", no stack, not reported as an imgtool bug.
      expect(r.stderr).toMatch(/^imgtool: .*failed/m);
      expect(r.stderr).not.toMatch(/unexpected error|\n\s+at .+:\d+:\d+/);
      error = { code: 'exit 1', message: (/^imgtool: (.*)$/m.exec(r.stderr)?.[1] ?? r.stderr).trim() };
      console.log(r.stderr.split('\n').filter((l) => /retry|✗|← [45]\d\d|session failed/.test(l)).map((l) => l.slice(0, 200)).join('\n'));
    }
  }
  addCounters(totals, proxy.counters);
  return {
    i,
    via,
    repository,
    tag,
    image,
    ...(digest === undefined ? {} : { digest }),
    ...(error === undefined ? {} : { error }),
    requests: proxy.counters.requests,
    maxHits: maxHitsPerUrl(proxy.events),
    uploadStarts: uploadStarts(proxy.events),
  };
}

/** Checks one push's outcome against the promise; returns nothing, fails the test on a broken promise. */
async function checkOutcome(o: Outcome, registryHost: string, credentials?: { username: string; password: string }): Promise<void> {
  const blobs = o.image.layers.length + 1;
  // Bounded: no URL retried past the policy (times the fresh sessions an upload may take), and
  // no more upload starts than every blob using all its sessions, each start retried fully.
  expect(o.maxHits.hits, `push ${o.i}: ${o.maxHits.url} hit ${o.maxHits.hits} times`).toBeLessThanOrEqual(ATTEMPTS * MAX_UPLOAD_SESSIONS);
  expect(o.uploadStarts, `push ${o.i}: upload starts`).toBeLessThanOrEqual(blobs * MAX_UPLOAD_SESSIONS * ATTEMPTS);
  const served = await servedDigest(registryHost, o.repository, o.tag, credentials);
  if (o.digest !== undefined) {
    expect(o.digest, `push ${o.i} (${o.via}) digest`).toBe(expected.get(o.image.tag));
    expect(served, `push ${o.i}: what the registry serves for ${o.repository}:${o.tag}`).toBe(o.digest);
  } else {
    const e = o.error as { code: string; message: string };
    if (o.via === 'library') expect(FAILURE_CODES, `push ${o.i} failed with ${e.code}: ${e.message}`).toContain(e.code);
    expect(e.message).toMatch(/failed|refused|broke|lost/);
    // Nothing half-done: the tag is absent, or (a re-push, or a manifest whose answer was lost) it names the right manifest.
    if (served !== undefined) expect(served).toBe(expected.get(o.image.tag));
  }
}

/** Pulls every distinct pushed tag with docker on the TLS daemon and compares it with the source. */
async function pullAll(registryHost: string, outcomes: readonly Outcome[], login?: { username: string; password: string }): Promise<number> {
  const env = pullerEnv();
  if (login) must(await dockerCliAsync(world().dockerTls.host, ['login', registryHost, '-u', login.username, '--password-stdin'], login.password, env), 'docker login');
  const seen = new Set<string>();
  for (const o of outcomes) {
    if (o.digest === undefined) continue;
    const ref = `${registryHost}/${o.repository}:${o.tag}`;
    if (seen.has(ref)) continue;
    seen.add(ref);
    const pulled = await dockerPull(ref, env);
    expect(pulled.id, `docker pull ${ref}: image ID`).toBe(o.image.id);
    expect(pulled.repoDigests, `docker pull ${ref}: digest`).toContain(`${registryHost}/${o.repository}@${o.digest}`);
  }
  return seen.size;
}

function figures(outcomes: readonly Outcome[], totals: FaultCounters): Figures {
  const failed = outcomes.filter((o) => o.digest === undefined);
  return {
    pushes: outcomes.length,
    survived: outcomes.length - failed.length,
    failed: failed.length,
    failures: failed.map((o) => `#${o.i} ${o.via}: ${o.error?.code}: ${o.error?.message}`),
    requests: totals.requests,
    injected: faultsByKind(totals),
  };
}

const zero = (): FaultCounters => ({ requests: 0, forwarded: 0, status413: 0, status500: 0, status503: 0, status429: 0, cutUpload: 0, cutDownload: 0, slow: 0 });

describe('direct push through the fault proxy at a 20% fault rate (fixed seed)', () => {
  it(`${PUSHES} pushes to the open registry: right digest or a clear error, no dangling manifest, docker pull gives the source`, async () => {
    const w = world();
    const proxy = await startFaultProxy({ target: { host: w.open.host } });
    const totals = zero();
    const outcomes: Outcome[] = [];
    const locations = new BlobLocations();
    const prefix = `faults-${run}/open`;
    try {
      proxy.setFaults(FAULTS);
      for (let i = 0; i < PUSHES; i++) {
        const image = i % 3 === 2 ? imageB : imageA;
        const prev = outcomes.at(-1);
        let o: Outcome;
        switch (i % 10) {
          case 4: // a second tag in the previous push's repository: blobs exist, HEADs only
            o = await pushOnce(proxy, totals, i, 'library', prev?.image ?? image, prev?.repository ?? `${prefix}/r${i}`, `t${i}`);
            break;
          case 9: // a re-push of the previous push's tag
            o = await pushOnce(proxy, totals, i, 'library', prev?.image ?? image, prev?.repository ?? `${prefix}/r${i}`, prev?.tag ?? `t${i}`);
            break;
          case 7: // a fresh repository with known blob locations: cross-repository mounts
            o = await pushOnce(proxy, totals, i, 'library', image, `${prefix}/r${i}`, `t${i}`, { locations });
            break;
          case 1:
          case 6: // the CLI, in-process
            o = await pushOnce(proxy, totals, i, 'cli', image, `${prefix}/r${i}`, `t${i}`);
            break;
          default: // a fresh repository: every blob uploaded
            o = await pushOnce(proxy, totals, i, 'library', image, `${prefix}/r${i}`, `t${i}`, { locations });
        }
        outcomes.push(o);
        await checkOutcome(o, w.open.host);
      }
    } finally {
      await proxy.close();
    }
    const f = figures(outcomes, totals);
    console.log(`[faults] direct push, open registry: ${JSON.stringify(f)}`);
    // Every kind of fault was really injected, at about the rate asked.
    for (const k of FAULT_KINDS) expect(totals[k], `${k} injected`).toBeGreaterThan(0);
    const injected = FAULT_KINDS.reduce((a, k) => a + totals[k], 0);
    expect(injected / totals.requests).toBeGreaterThan(0.1);
    // Faults this sparse are what retries are for: at least 90% of the pushes must get through
    // (before the upload-session fixes, a cut upload failed the push: about 40% got through).
    expect(f.survived, f.failures.join('\n')).toBeGreaterThanOrEqual(Math.ceil(PUSHES * 0.9));

    const { checked, dangling } = danglingManifests(w.open.dataDir as string, `faults-${run}`);
    expect(dangling).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(new Set(outcomes.filter((o) => o.digest).map((o) => `${o.repository}:${o.tag}`)).size);
    const pulled = await pullAll(w.open.host, outcomes);
    expect(pulled).toBeGreaterThan(0);
  }, 900_000);

  it('the auth path: pushes through the proxy in front of the Basic-auth registry (library and CLI)', async () => {
    const w = world();
    const creds = { username: w.basic.username, password: w.basic.password };
    const proxy = await startFaultProxy({ target: { host: w.basic.host } });
    const totals = zero();
    const outcomes: Outcome[] = [];
    const prefix = `faults-${run}/basic`;
    try {
      // Another seed than the open run's, so this run is not a replay of its first pushes.
      proxy.setFaults({ ...FAULTS, seed: FAULTS.seed + 1 });
      for (let i = 0; i < 8; i++) {
        const image = i % 2 === 0 ? imageA : imageB;
        const via = i % 4 === 3 ? 'cli' : 'library';
        const repository = i === 5 ? `${prefix}/r4` : `${prefix}/r${i}`;
        const o = await pushOnce(proxy, totals, i, via, image, repository, `t${i}`, { credentials: creds });
        outcomes.push(o);
        await checkOutcome(o, w.basic.host, creds);
      }
    } finally {
      await proxy.close();
    }
    const f = figures(outcomes, totals);
    console.log(`[faults] direct push, basic-auth registry: ${JSON.stringify(f)}`);
    expect(f.survived, f.failures.join('\n')).toBeGreaterThanOrEqual(6);
    expect(danglingManifests(w.basic.dataDir as string, `faults-${run}`).dangling).toEqual([]);
    await pullAll(w.basic.host, outcomes, creds);
  }, 600_000);
});

describe('regressions found by the fault runs (src/registry)', () => {
  /** A proxy that faults exactly the requests `only` picks, every time or `maxFaults` times. */
  async function targeted(kind: (typeof FAULT_KINDS)[number], only: (method: string, path: string) => boolean, maxFaults?: number): Promise<FaultProxy> {
    const proxy = await startFaultProxy({ target: { host: world().open.host } });
    proxy.setFaults({ rate: 1, kinds: { [kind]: 1 }, only, retryAfterSeconds: 0, ...(maxFaults === undefined ? {} : { maxFaults }) });
    return proxy;
  }
  const blobPut = (m: string, p: string): boolean => m === 'PUT' && p.includes('/blobs/uploads/');

  it('bug: a monolithic blob PUT cut mid-body was retried on the same upload session, which the registry had dropped (404 BLOB_UPLOAD_INVALID)', async () => {
    const proxy = await targeted('cutUpload', blobPut, 2);
    const logs: string[] = [];
    try {
      const r = await pushDirect(engineSource(engine, imageA.tag), parseReference(`${proxy.host}/faults-${run}/reg/cut-upload:1`), { retry: RETRY, log: (l) => logs.push(l) });
      expect(r.digest).toBe(expected.get(imageA.tag));
      expect(proxy.counters.cutUpload).toBe(2);
      expect(logs.some((l) => l.includes('this session failed') && l.includes('starting a new upload'))).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('bug: when the answer to the completing PUT was lost after the registry committed the blob, the push failed with BLOB_UPLOAD_UNKNOWN', async () => {
    const proxy = await targeted('cutDownload', blobPut, 2);
    const logs: string[] = [];
    try {
      const r = await pushDirect(engineSource(engine, imageB.tag), parseReference(`${proxy.host}/faults-${run}/reg/cut-answer:1`), { retry: RETRY, log: (l) => logs.push(l) });
      expect(r.digest).toBe(expected.get(imageB.tag));
      expect(proxy.counters.cutDownload).toBe(2);
      // The lost answers were recognised as committed blobs (a HEAD), not uploaded again. Both
      // cuts may land on one blob (the transport's own retry of the PUT is cut again), so at
      // least one recognition, and no fresh upload session.
      expect(logs.filter((l) => l.includes('the blob is there')).length).toBeGreaterThanOrEqual(1);
      expect(logs.filter((l) => l.includes('starting a new upload'))).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('bug: a connection that kept breaking surfaced as a bare undici SocketError (reported by the CLI as an imgtool bug), not an ImgtoolError', async () => {
    // Every blob HEAD loses its connection: the library gives up with REGISTRY_UNREACHABLE after the policy's attempts.
    const proxy = await targeted('cutDownload', (m, p) => m === 'HEAD' && p.includes('/blobs/'));
    try {
      const err = await pushDirect(engineSource(engine, imageA.tag), parseReference(`${proxy.host}/faults-${run}/reg/always-cut:1`), { retry: RETRY, concurrency: 1 }).catch((e: unknown) => e);
      expect(isImgtoolError(err, 'REGISTRY_UNREACHABLE'), String(err)).toBe(true);
      expect((err as ImgtoolError).message).toMatch(/^HEAD blob sha256:[0-9a-f]{64} on .+ failed: the connection broke \(UND_ERR_SOCKET\)/);
      expect((err as ImgtoolError).hint).toMatch(/retry/);
      // Bounded: one HEAD, tried `attempts` times, and nothing after it (no manifest PUT).
      expect(proxy.counters.cutDownload).toBe(RETRY.attempts);
      expect(proxy.events.filter((e) => e.method === 'PUT')).toEqual([]);
      expect(storedTags(world().open.dataDir as string, `faults-${run}/reg/always-cut`).size).toBe(0);

      // The CLI says the same thing, exit 1, without calling it a bug.
      proxy.resetCounters();
      const r = await imgtoolInProcess(['push', '--direct', '--concurrency', '1', '--from', `docker-daemon:${imageA.tag}`, `${proxy.host}/faults-${run}/reg/always-cut-cli:1`], imgtoolEnv());
      printed.push(r.stdout, r.stderr);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^imgtool: HEAD blob .* failed: the connection broke/m);
      expect(r.stderr).not.toMatch(/unexpected error/);
      expect(proxy.counters.cutDownload).toBe(ATTEMPTS);
    } finally {
      await proxy.close();
    }
  });

  it('bug: a 404 for a dropped upload session whose error body arrived cut off (no BLOB_UPLOAD_* code to read) failed the push', async () => {
    // Two proxies in a row: the outer one cuts the first blob PUT mid-body (the registry drops
    // that session); the inner one cuts every blob PUT's answer, so each 404 that follows
    // arrives with a truncated body, and each 201 is lost after the commit.
    const inner = await startFaultProxy({ target: { host: world().open.host }, faults: { rate: 1, kinds: { cutDownload: 1 }, only: blobPut } });
    const outer = await startFaultProxy({ target: { host: inner.host }, faults: { rate: 1, kinds: { cutUpload: 1 }, only: blobPut, maxFaults: 1 } });
    const logs: string[] = [];
    try {
      const r = await pushDirect(engineSource(engine, imageB.tag), parseReference(`${outer.host}/faults-${run}/reg/cut-404:1`), { retry: RETRY, concurrency: 1, log: (l) => logs.push(l) }).catch((e: unknown) => {
        console.log(logs.filter((l) => !l.startsWith('→')).map((l) => l.slice(0, 200)).join('\n'), inner.events, outer.events);
        throw e;
      });
      expect(r.digest).toBe(expected.get(imageB.tag));
      expect(outer.counters.cutUpload).toBe(1);
      expect(logs.some((l) => l.includes('starting a new upload'))).toBe(true);
      // Every uploaded blob's commit answer was lost; each was found by a HEAD instead of failing.
      expect(logs.filter((l) => l.includes('the blob is there')).length).toBe(r.blobs.uploaded);
      expect(storedTags(world().open.dataDir as string, `faults-${run}/reg/cut-404`).get('1')).toBe(r.digest);
    } finally {
      await outer.close();
      await inner.close();
    }
  });

  it('a blob PUT cut on every attempt gives up after the bounded sessions with a clear error and publishes nothing', async () => {
    const proxy = await targeted('cutUpload', blobPut);
    try {
      const err = await pushDirect(engineSource(engine, imageB.tag), parseReference(`${proxy.host}/faults-${run}/reg/always-cut-upload:1`), { retry: RETRY, concurrency: 1 }).catch((e: unknown) => e);
      expect(isImgtoolError(err), String(err)).toBe(true);
      expect(['REGISTRY_UNREACHABLE', 'REGISTRY_NOT_FOUND']).toContain((err as ImgtoolError).code);
      // At most `attempts` PUTs per session and MAX_UPLOAD_SESSIONS sessions for the one blob that failed.
      expect(proxy.counters.cutUpload).toBeLessThanOrEqual(RETRY.attempts * MAX_UPLOAD_SESSIONS);
      expect(proxy.events.filter((e) => e.method === 'PUT' && e.path.includes('/manifests/'))).toEqual([]);
      expect(storedTags(world().open.dataDir as string, `faults-${run}/reg/always-cut-upload`).size).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});

describe('regressions: answers cut mid-body on reads (src/registry/client)', () => {
  const manifestGet = (m: string, p: string): boolean => m === 'GET' && p.includes('/manifests/');
  /** Image A pushed straight to the open registry (no proxy), to read back through one. */
  async function pushedClean(): Promise<{ repository: string; tag: string }> {
    const repository = `faults-${run}/reads`;
    await pushDirect(engineSource(engine, imageA.tag), parseReference(`${world().open.host}/${repository}:a`), {});
    return { repository, tag: 'a' };
  }

  it('bug: a manifest GET whose answer broke off mid-body threw a bare SocketError; now it is asked again, then fails as REGISTRY_UNREACHABLE', async () => {
    const w = world();
    const { repository, tag } = await pushedClean();
    const proxy = await startFaultProxy({ target: { host: w.open.host }, faults: { rate: 1, kinds: { cutDownload: 1 }, only: manifestGet, maxFaults: 1 } });
    const logs: string[] = [];
    const client = new RegistryClient(proxy.host, { retry: RETRY, log: (l) => logs.push(l) });
    try {
      // One cut answer: asked again, and the manifest is the one the registry holds.
      const m = await client.getManifest(repository, tag);
      expect(m.digest).toBe(storedTags(w.open.dataDir as string, repository).get(tag));
      expect(proxy.counters.cutDownload).toBe(1);
      expect(logs.some((l) => l.includes('the answer broke off'))).toBe(true);

      // Every answer cut: a bounded number of GETs, then a coded error.
      proxy.setFaults({ rate: 1, kinds: { cutDownload: 1 }, only: manifestGet });
      proxy.resetCounters();
      const err = await client.getManifest(repository, tag).catch((e: unknown) => e);
      expect(isImgtoolError(err, 'REGISTRY_UNREACHABLE'), String(err)).toBe(true);
      expect((err as ImgtoolError).message).toMatch(/^GET manifest .* failed: the connection broke/);
      expect(proxy.counters.requests).toBe(3);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('bug: a blob GET whose answer broke off mid-stream failed the reader with a bare SocketError', async () => {
    const w = world();
    const { repository } = await pushedClean();
    const digest = imageA.id;
    const proxy = await startFaultProxy({ target: { host: w.open.host }, faults: { rate: 1, kinds: { cutDownload: 1 }, only: (m, p) => m === 'GET' && p.includes('/blobs/') } });
    const client = new RegistryClient(proxy.host, { retry: RETRY });
    try {
      const err = await (async () => {
        const stream = await client.getBlob(repository, digest);
        for await (const _chunk of stream) {
          // read to the end (or the cut)
        }
      })().catch((e: unknown) => e);
      expect(isImgtoolError(err, 'REGISTRY_UNREACHABLE'), String(err)).toBe(true);
      expect((err as ImgtoolError).message).toMatch(new RegExp(`^GET blob ${digest} on .* failed: the connection broke`));
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
