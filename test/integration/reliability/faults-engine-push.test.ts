/**
 * Engine push (`imgtool push`, in-process: `POST /images/{name}/push` on the private dockerd)
 * through the fault proxy in front of the open registry (issue 7, "Faults"). dockerd retries a
 * failed layer upload after 5 s, 10 s, …, so this run is short: 5 pushes of a 5-layer image,
 * each with at most a few injected faults (`maxFaults`) at a 20% rate. The injected failures
 * are fakes; dockerd, the registry and docker pull are real.
 *
 * Each push either succeeds with the right digest (the one a fault-free engine push of the
 * same image got, and what the registry serves for the tag) or exits 1 with the registry's
 * message; the registry holds no manifest that names a missing blob; docker pull of each
 * pushed tag gives the source image.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leakedSecrets, world } from '../../world/world.js';
import { dockerCliAsync } from '../../world/base-image.js';
import { FAULT_KINDS, startFaultProxy, type FaultCounters } from '../../world/fault-proxy.js';
import { RegistryClient } from '../../../src/registry/client/client.js';
import { addCounters, buildLayeredImage, danglingManifests, dockerPull, faultsByKind, imgtoolEnv, imgtoolInProcess, must, pullerEnv, uniqName, type LayeredImage } from './faults-helpers.js';

const run = uniqName();
const PUSHES = 5;
/** At most this many faults per push: each costs dockerd a 5–15 s back-off. */
const MAX_FAULTS_PER_PUSH = 2;
let image: LayeredImage;
let cleanDigest: string;
const printed: string[] = [];
/** Every kind, the connection cuts three times as likely as the rest. */
const ENGINE_KINDS = { status500: 1, status503: 1, status429: 1, cutUpload: 3, cutDownload: 3, slow: 1 } as const;
/** Requests with a body: blob upload starts, chunks and completions, and the manifest PUT. */
const withBody = (method: string, path: string): boolean => (method === 'PUT' || method === 'PATCH' || method === 'POST') && /\/(blobs\/uploads|manifests)\//.test(path);

beforeAll(async () => {
  const w = world();
  const MB = 1_000_000;
  image = await buildLayeredImage(`imgtool-test/faults-engine:${run}`, [1 * MB, 1.5 * MB, 2 * MB, 1 * MB, 2.5 * MB]);
  // The reference: the same image pushed by the engine straight to the registry, no proxy.
  const ref = `${w.open.host}/faults-${run}/engine-clean:1`;
  must(await dockerCliAsync(w.docker.host, ['tag', image.tag, ref]), 'docker tag');
  const r = await imgtoolInProcess(['push', '-q', ref], imgtoolEnv());
  printed.push(r.stdout, r.stderr);
  expect(r.code, r.stderr).toBe(0);
  cleanDigest = r.stdout.trim();
}, 300_000);

afterAll(() => {
  expect(leakedSecrets(printed.join('\n'))).toEqual([]);
});

describe('engine push through the fault proxy (20% faults, at most 2 a push, fixed seeds)', () => {
  it(`${PUSHES} pushes: right digest or exit 1 with the registry's message; no dangling manifest; docker pull gives the source`, async () => {
    const w = world();
    const proxy = await startFaultProxy({ target: { host: w.open.host } });
    const totals: FaultCounters = { requests: 0, forwarded: 0, status413: 0, status500: 0, status503: 0, status429: 0, cutUpload: 0, cutDownload: 0, slow: 0 };
    const results: Array<{ i: number; repository: string; digest?: string; error?: string }> = [];
    try {
      for (let i = 0; i < PUSHES; i++) {
        const repository = `faults-${run}/engine/r${i}`;
        const target = `${proxy.host}/${repository}:t`;
        must(await dockerCliAsync(w.docker.host, ['tag', image.tag, target]), 'docker tag');
        proxy.resetCounters();
        // Faults go to the requests that carry content (blob uploads, the manifest PUT); with only two a push, cuts weigh more.
        proxy.setFaults({ rate: 0.2, seed: 1000 + i, retryAfterSeconds: 1, slowMs: 150, maxFaults: MAX_FAULTS_PER_PUSH, only: withBody, kinds: ENGINE_KINDS });
        const r = await imgtoolInProcess(['push', target], imgtoolEnv());
        printed.push(r.stdout, r.stderr);
        addCounters(totals, proxy.counters);
        const served = await new RegistryClient(w.open.host).headManifest(repository, 't');
        if (r.code === 0) {
          const digest = r.stdout.trim();
          expect(digest, `push ${i}`).toBe(cleanDigest);
          expect(served?.digest, `push ${i}: what the registry serves`).toBe(digest);
          results.push({ i, repository, digest });
        } else {
          // Exit 1 with the registry's (or dockerd's) message, not a stack or an "imgtool bug".
          expect(r.code, r.stderr).toBe(1);
          expect(r.stderr).toMatch(/^imgtool: /m);
          expect(r.stderr).not.toMatch(/unexpected error|\n\s+at .+:\d+:\d+/);
          expect(r.stdout).toBe('');
          // Nothing wrong published: no tag, or the right manifest (its answer was what got lost).
          if (served !== undefined) expect(served.digest).toBe(cleanDigest);
          results.push({ i, repository, error: (/^imgtool: (.*)$/m.exec(r.stderr)?.[1] ?? '').trim() });
        }
        await dockerCliAsync(w.docker.host, ['rmi', target]);
      }
    } finally {
      await proxy.close();
    }
    const survived = results.filter((r) => r.digest !== undefined).length;
    console.log(`[faults] engine push: ${JSON.stringify({ pushes: PUSHES, survived, failed: PUSHES - survived, failures: results.filter((r) => r.error).map((r) => `#${r.i}: ${r.error}`), requests: totals.requests, injected: faultsByKind(totals) })}`);
    // The faults were really there (at most MAX_FAULTS_PER_PUSH each time).
    const injected = FAULT_KINDS.reduce((a, k) => a + totals[k], 0);
    expect(injected).toBeGreaterThan(0);
    expect(injected).toBeLessThanOrEqual(PUSHES * MAX_FAULTS_PER_PUSH);
    // At most two faults per push: some pushes must get through, or the pull-back checks below
    // would check nothing.
    expect(survived, 'engine pushes that got through').toBeGreaterThan(0);

    expect(danglingManifests(w.open.dataDir as string, `faults-${run}`).dangling).toEqual([]);
    const env = pullerEnv();
    for (const r of results) {
      if (r.digest === undefined) continue;
      const pulled = await dockerPull(`${w.open.host}/${r.repository}:t`, env);
      expect(pulled.id).toBe(image.id);
      expect(pulled.repoDigests).toContain(`${w.open.host}/${r.repository}@${r.digest}`);
    }
  }, 900_000);
});
