/**
 * `pushDirect` against the real world: images built in the private dockerd, read back with
 * `GET /images/{name}/get` (or from a `docker save` file), uploaded straight to the real
 * registries, then pulled and run with the docker CLI 28 on the *other* daemon (which has
 * never seen the image), so the registry content is all that counts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leakedSecrets, world } from '../../world/world.js';
import { recordImgtoolOutput } from '../../world/transcript.js';
import { dockerCli, dockerCliAsync } from '../../world/base-image.js';
import { startFaultProxy } from '../../world/fault-proxy.js';
import { connectEngine } from '../../../src/engine/client.js';
import type { EngineClient } from '../../../src/engine/client.js';
import { parseReference } from '../../../src/image/reference.js';
import { ImgtoolError } from '../../../src/image/errors.js';
import { BlobLocations } from '../../../src/registry/push-direct/blob-locations.js';
import { dockerArchiveSource, engineSource, pushDirect, type PushProgress } from '../../../src/registry/push-direct/push.js';
import { RegistryClient } from '../../../src/registry/client/client.js';
import { openOciLayout } from '../../../src/layers/oci-layout.js';
import { sha256 } from '../../../src/image/digest.js';

const uniq = (): string => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
let engine: EngineClient;
let image: string;
let nonce: string;
/** Layers of the test image plus its config: the number of blobs a push handles. */
let blobCount: number;
const logs: string[] = [];
const log = (l: string): void => void logs.push(l);

/** Builds a 3-layer image (base + 2 RUN layers, one with 2 MiB of random bytes) with a unique nonce. */
function buildImage(tag: string, n: string, randomMiB = 2): void {
  const w = world();
  const dir = join(w.tmp, `direct-${uniq()}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), [
    `FROM ${w.baseImage}`,
    `RUN echo ${n} > /nonce`,
    `RUN dd if=/dev/urandom of=/data bs=1048576 count=${randomMiB} 2>/dev/null`,
    'CMD ["cat", "/nonce"]',
    '',
  ].join('\n'));
  dockerCli(w.docker.host, ['build', '-q', '-t', tag, dir]);
}

/** docker pull + run on the TLS daemon (which never had the image), with an optional login. */
async function pullAndRun(ref: string, login?: { host: string; username: string; password: string }): Promise<string> {
  const w = world();
  const cfg = join(w.tmp, `dcfg-${uniq()}`);
  mkdirSync(cfg, { recursive: true });
  const env = { DOCKER_CERT_PATH: w.dockerTls.certPath, DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: cfg };
  if (login) {
    const r = await dockerCliAsync(w.dockerTls.host, ['login', login.host, '-u', login.username, '--password-stdin'], login.password, env);
    expect(r.code, r.stderr).toBe(0);
  }
  const pull = await dockerCliAsync(w.dockerTls.host, ['pull', '-q', ref], undefined, env);
  expect(pull.code, pull.stderr).toBe(0);
  const run = await dockerCliAsync(w.dockerTls.host, ['run', '--rm', '--network', 'none', ref], undefined, env);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim();
}

beforeAll(async () => {
  engine = await connectEngine({ host: world().docker.host, env: {} });
  nonce = uniq();
  image = `imgtool-test/direct:${nonce}`;
  buildImage(image, nonce);
  blobCount = (JSON.parse(dockerCli(world().docker.host, ['image', 'inspect', '--format', '{{json .RootFS.Layers}}', image])) as string[]).length + 1;
});

afterAll(async () => {
  await engine?.close();
  recordImgtoolOutput('direct-push: pushDirect log lines', logs.join('\n'));
  expect(leakedSecrets(logs.join('\n'))).toEqual([]);
});

describe('direct push from the engine', () => {
  it('pushes to the open registry; docker pulls and runs it; a re-push uploads no blob; another repo mounts (201)', async () => {
    const { open } = world();
    const target = parseReference(`${open.host}/direct/app:${nonce}`);
    const locations = new BlobLocations();
    const events: PushProgress[] = [];
    const first = await pushDirect(engineSource(engine, image), target, { blobLocations: locations, onProgress: (e) => events.push(e), log });
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    // Base layers may already be there from other tests; the two new layers and the config are not.
    expect(first.blobs.uploaded + first.blobs.exists + first.blobs.mounted).toBe(blobCount);
    expect(first.blobs.uploaded).toBeGreaterThanOrEqual(3);
    expect(events.at(-1)).toEqual({ kind: 'manifest', digest: first.digest });
    expect(await pullAndRun(target.toString())).toBe(nonce);

    // Re-push of the unchanged image: every blob exists, nothing is uploaded, same digest.
    const client = new RegistryClient(open.host);
    const again = await pushDirect(engineSource(engine, image), target, { client, log });
    await client.close();
    expect(again.digest).toBe(first.digest);
    expect(again.blobs).toEqual({ exists: blobCount, mounted: 0, uploaded: 0 });
    expect(client.stats.blobUploads).toBe(0);
    expect(client.stats.bytesUploaded).toBe(0);

    // Same image into another repository of the same registry: blobs are mounted, not uploaded.
    const other = parseReference(`${open.host}/direct/other-${nonce}:1`);
    const c2 = new RegistryClient(open.host);
    const mounted = await pushDirect(engineSource(engine, image), other, { client: c2, blobLocations: locations, log });
    await c2.close();
    expect(mounted.blobs.mounted).toBe(blobCount);
    expect(mounted.blobs.uploaded).toBe(0);
    expect(c2.stats.mounts).toBe(blobCount); // each mount answered 201
    expect(mounted.digest).toBe(first.digest);
  });

  it('pushes a docker-archive: file the same way (same digest as from the engine)', async () => {
    const { open } = world();
    const file = join(world().tmp, `save-${uniq()}.tar`);
    dockerCli(world().docker.host, ['save', '-o', file, image]);
    const target = parseReference(`${open.host}/direct/archive:${nonce}`);
    const r = await pushDirect(dockerArchiveSource(file), target, { log });
    const fromEngine = await pushDirect(engineSource(engine, image), parseReference(`${open.host}/direct/archive:engine-${nonce}`), { log });
    expect(r.digest).toBe(fromEngine.digest);
    expect(await pullAndRun(target.toString())).toBe(nonce);
  });

  it('pushes an oci: layout (made by skopeo) keeping its manifest digest; docker runs it', async () => {
    const { open, tmp } = world();
    const file = join(tmp, `oci-src-${uniq()}.tar`);
    dockerCli(world().docker.host, ['save', '-o', file, image]);
    const dir = join(tmp, `oci-${uniq()}`);
    execFileSync('skopeo', ['copy', '--quiet', `docker-archive:${file}`, `oci:${dir}:v1`], { stdio: 'pipe' });
    const layout = await openOciLayout(dir, { ref: 'v1' });
    const raw = await (layout.rawManifest as NonNullable<typeof layout.rawManifest>)();
    const target = parseReference(`${open.host}/direct/oci:${nonce}`);
    const r = await pushDirect(layout, target, { log });
    expect(r.digest).toBe(sha256(raw.bytes));
    expect(r.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(await pullAndRun(target.toString())).toBe(nonce);
  });

  it('Basic-auth registry with credentials; wrong credentials fail with REGISTRY_UNAUTHORIZED', async () => {
    const { basic } = world();
    const target = parseReference(`${basic.host}/direct/app:${nonce}`);
    const r = await pushDirect(engineSource(engine, image), target, { credentials: { username: basic.username, password: basic.password }, log });
    expect(r.blobs.uploaded + r.blobs.exists).toBe(blobCount);
    expect(r.blobs.uploaded).toBeGreaterThanOrEqual(3);
    expect(await pullAndRun(target.toString(), { host: basic.host, username: basic.username, password: basic.password })).toBe(nonce);
    const err = await pushDirect(engineSource(engine, image), target, { credentials: { username: basic.username, password: 'wrong' }, log }).catch((e: unknown) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_UNAUTHORIZED');
  });

  it('TLS registry: pushes with --ca-cert; without it says how to trust the CA', async () => {
    const { tls } = world();
    const creds = { username: tls.username, password: tls.password };
    const empty = join(world().tmp, `nocerts-${uniq()}`);
    mkdirSync(empty);
    const target = parseReference(`${tls.ipHost}/direct/app:${nonce}`);
    const err = await pushDirect(engineSource(engine, image), target, { credentials: creds, certsDir: empty, log }).catch((e: unknown) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_TLS');
    expect((err as ImgtoolError).hint).toContain('--ca-cert');
    const r = await pushDirect(engineSource(engine, image), target, { credentials: creds, caFile: tls.caFile, certsDir: empty, log });
    expect(r.blobs.uploaded + r.blobs.exists).toBe(blobCount);
    // The docker daemon trusts localhost:<port> through certs.d; pull through that name.
    const viaName = parseReference(`${tls.host}/direct/app:${nonce}`);
    expect(await pullAndRun(viaName.toString(), { host: tls.host, ...creds })).toBe(nonce);
  });

  it('Hub-like registry: own namespace works; library/ is explained', async () => {
    const { hub } = world();
    const creds = { username: hub.username, password: hub.password };
    const target = parseReference(`${hub.host}/${hub.namespace}direct:${nonce}`);
    const r = await pushDirect(engineSource(engine, image), target, { credentials: creds, log });
    expect(r.digest).toMatch(/^sha256:/);
    expect(await pullAndRun(target.toString(), { host: hub.host, ...creds })).toBe(nonce);
    const err = await pushDirect(engineSource(engine, image), parseReference(`${hub.host}/library/direct:${nonce}`), { credentials: creds, log }).catch((e: unknown) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_DENIED');
    expect((err as ImgtoolError).message).toMatch(/official images/);
    expect((err as ImgtoolError).hint).toContain(`${hub.username}/direct`);
  });
});

describe('direct push to Harbor', () => {
  it('a robot of the project pushes and docker pulls it back', async () => {
    const { harbor } = world();
    const creds = { username: harbor.username, password: harbor.password };
    const target = parseReference(`${harbor.host}/${harbor.project}/direct:${nonce}`);
    const r = await pushDirect(engineSource(engine, image), target, { credentials: creds, log });
    expect(r.digest).toMatch(/^sha256:/);
    expect(await pullAndRun(target.toString(), { host: harbor.host, ...creds })).toBe(nonce);
  });

  it('a robot pushing to a project that does not exist gets told so, not "unauthorized"', async () => {
    const { harbor } = world();
    const err = await pushDirect(engineSource(engine, image), parseReference(`${harbor.host}/missing-${nonce}/app:1`), {
      credentials: { username: harbor.username, password: harbor.password },
      log,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImgtoolError);
    expect((err as ImgtoolError).code).toBe('REGISTRY_NOT_FOUND');
    expect((err as ImgtoolError).message).toBe(`project "missing-${nonce}" does not exist on ${harbor.host}: create it, or push to an existing project`);
  });

  it('a pull-only robot is told it lacks push permission on the existing project', async () => {
    const { harbor } = world();
    const err = await pushDirect(engineSource(engine, image), parseReference(`${harbor.host}/${harbor.project}/direct:${nonce}-r`), {
      credentials: harbor.reader,
      log,
    }).catch((e: unknown) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_DENIED');
    expect((err as ImgtoolError).message).toMatch(/lacks push permission/);
    expect((err as ImgtoolError).details['robot']).toBe(true);
  });
});

describe('direct push through a proxy that limits body size (fault proxy: 413 above 1 MiB)', () => {
  it('switches a refused blob to chunks, or uses --chunk-size from the start', async () => {
    const { open } = world();
    const proxy = await startFaultProxy({ target: { host: open.host }, faults: { maxBodyBytes: 6 * 1024 * 1024 } });
    try {
      const n = uniq();
      const big = `imgtool-test/direct-big:${n}`;
      buildImage(big, n, 12);
      const logsHere: string[] = [];
      const auto = await pushDirect(engineSource(engine, big), parseReference(`${proxy.host}/direct/big:${n}`), { log: (l) => logsHere.push(l) });
      expect(auto.blobs.uploaded).toBeGreaterThanOrEqual(3);
      expect(proxy.counters.status413).toBe(1);
      expect(logsHere.some((l) => l.includes('retrying in') && l.includes('chunks'))).toBe(true);
      const before = proxy.counters.status413;
      const chunked = await pushDirect(engineSource(engine, big), parseReference(`${proxy.host}/direct/big2-${n}:1`), { chunkSize: 2 * 1024 * 1024, log });
      expect(chunked.digest).toBe(auto.digest);
      expect(proxy.counters.status413).toBe(before);
      expect(await pullAndRun(`${open.host}/direct/big2-${n}:1`)).toBe(n);
    } finally {
      await proxy.close();
    }
  });
});
