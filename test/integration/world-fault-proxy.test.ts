/**
 * The fault proxy against the real registry and the real daemon socket: every fault kind is
 * injected when asked and observed by a real client, counters match, the PRNG sequence is
 * reproducible, and with faults off it is transparent (docker push/pull/run through it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { world } from '../world/world.js';
import { dockerCliAsync } from '../world/base-image.js';
import { startFaultProxy, seededRandom, type FaultProxy } from '../world/fault-proxy.js';

const proxies: FaultProxy[] = [];
afterEach(async () => {
  while (proxies.length) await proxies.pop()?.close();
});

async function proxyTo(target: { host: string } | { socketPath: string }, listenSocket?: string): Promise<FaultProxy> {
  const p = await startFaultProxy({ target, ...(listenSocket ? { listenSocket } : {}) });
  proxies.push(p);
  return p;
}

/** A raw HTTP exchange that reports a cut connection instead of throwing. */
function exchange(opts: { host?: string; socketPath?: string; method: string; path: string; body?: Buffer; chunked?: boolean }): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer } | { cut: string; received: number }> {
  return new Promise((resolve) => {
    const [hostname, port] = (opts.host ?? '').split(':');
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (opts.body && !opts.chunked) headers['content-length'] = String(opts.body.length);
    const req = request({ ...(opts.socketPath ? { socketPath: opts.socketPath } : { hostname, port: Number(port) }), method: opts.method, path: opts.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        received += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (err) => resolve({ cut: String(err), received }));
      res.on('aborted', () => resolve({ cut: 'aborted', received }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ cut: err.code ?? err.message, received: 0 }));
    if (opts.body && opts.chunked) {
      // Stream the body in pieces with no declared length.
      const body = opts.body;
      for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.subarray(i, i + 16 * 1024));
      req.end();
    } else {
      req.end(opts.body);
    }
  });
}

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Opens an upload session straight at the registry; returns the path (with query) to PUT the blob to. */
async function startUpload(host: string, repo: string): Promise<string> {
  const r = await exchange({ host, method: 'POST', path: `/v2/${repo}/blobs/uploads/` });
  if (!('status' in r) || r.status !== 202) throw new Error(`test setup: upload start failed: ${JSON.stringify(r)}`);
  const location = new URL(String(r.headers.location), `http://${host}`);
  return `${location.pathname}${location.search}`;
}

/** `PUT <upload>&digest=` with the whole blob (a monolithic upload) via `host`. */
async function putBlob(host: string, upload: string, blob: Buffer, chunked = false): ReturnType<typeof exchange> {
  return exchange({ host, method: 'PUT', path: `${upload}&digest=${digestOf(blob)}`, body: blob, chunked });
}

/** Uploads a blob straight to the registry, not through the proxy. */
async function uploadBlob(host: string, repo: string, blob: Buffer): Promise<string> {
  const r = await putBlob(host, await startUpload(host, repo), blob);
  if (!('status' in r) || r.status !== 201) throw new Error(`test setup: blob upload failed: ${JSON.stringify('status' in r ? r.status : r)}`);
  return digestOf(blob);
}

describe('fault proxy in front of the real registry', () => {
  it('is transparent with faults off (counters count, nothing injected)', async () => {
    const w = world();
    const p = await proxyTo({ host: w.open.host });
    const r = await exchange({ host: p.host, method: 'GET', path: '/v2/' });
    expect('status' in r && r.status).toBe(200);
    expect(p.counters).toMatchObject({ requests: 1, forwarded: 1 });
    expect(p.injected()).toBe(0);
  });

  it('injects 500, 503 and 429 with Retry-After, each as a registry error body', async () => {
    const w = world();
    const p = await proxyTo({ host: w.open.host });
    for (const [kind, status] of [['status500', 500], ['status503', 503], ['status429', 429]] as const) {
      p.setFaults({ rate: 1, kinds: { [kind]: 1 }, retryAfterSeconds: 7 });
      const r = await exchange({ host: p.host, method: 'GET', path: '/v2/' });
      if (!('status' in r)) throw new Error(`expected an answer, got ${r.cut}`);
      expect(r.status).toBe(status);
      expect((JSON.parse(r.body.toString()) as { errors: Array<{ code: string }> }).errors[0]?.code).toBe(status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN');
      if (status === 429) expect(r.headers['retry-after']).toBe('7');
    }
    expect(p.counters).toMatchObject({ requests: 3, forwarded: 0, status500: 1, status503: 1, status429: 1 });
  });

  it('cuts an upload mid-body: the client sees a broken connection and the blob never lands', async () => {
    const w = world();
    const p = await proxyTo({ host: w.open.host });
    const blob = randomBytes(512 * 1024);
    const digest = digestOf(blob);
    p.setFaults({ rate: 1, kinds: { cutUpload: 1 }, seed: 42 });
    const r = await putBlob(p.host, await startUpload(w.open.host, 'faults/cut-up'), blob);
    expect('cut' in r).toBe(true);
    expect(p.counters.cutUpload).toBe(1);
    const head = await exchange({ host: w.open.host, method: 'HEAD', path: `/v2/faults/cut-up/blobs/${digest}` });
    expect('status' in head && head.status).toBe(404);
    // The same upload through the proxy with faults off lands.
    p.setFaults({});
    const ok = await putBlob(p.host, await startUpload(w.open.host, 'faults/cut-up'), blob);
    expect('status' in ok && ok.status).toBe(201);
  });

  it('cuts a download mid-body: fewer bytes than the blob, then a broken connection', async () => {
    const w = world();
    const blob = randomBytes(2 * 1024 * 1024);
    const digest = await uploadBlob(w.open.host, 'faults/cut-down', blob);
    const p = await proxyTo({ host: w.open.host });
    p.setFaults({ rate: 1, kinds: { cutDownload: 1 }, seed: 7 });
    const r = await exchange({ host: p.host, method: 'GET', path: `/v2/faults/cut-down/blobs/${digest}` });
    if (!('cut' in r)) throw new Error(`expected a cut, got status ${r.status} with ${r.body.length} bytes`);
    expect(r.received).toBeLessThan(blob.length);
    expect(p.counters.cutDownload).toBe(1);
    p.setFaults({});
    const ok = await exchange({ host: p.host, method: 'GET', path: `/v2/faults/cut-down/blobs/${digest}` });
    expect('status' in ok && digestOf(ok.body)).toBe(digest);
  });

  it('answers slow but correctly', async () => {
    const w = world();
    const p = await proxyTo({ host: w.open.host });
    p.setFaults({ rate: 1, kinds: { slow: 1 }, slowMs: 50 });
    const r = await exchange({ host: p.host, method: 'GET', path: '/v2/' });
    expect('status' in r && r.status).toBe(200);
    expect(p.counters).toMatchObject({ slow: 1, forwarded: 1 });
  });

  it('answers 413 to bodies over the limit, declared or streamed, and lets smaller ones through', async () => {
    const w = world();
    const p = await proxyTo({ host: w.open.host });
    p.setFaults({ maxBodyBytes: 64 * 1024 });
    const big = randomBytes(256 * 1024);
    const declared = await putBlob(p.host, await startUpload(w.open.host, 'faults/big'), big);
    expect('status' in declared && declared.status).toBe(413);
    const streamed = await putBlob(p.host, await startUpload(w.open.host, 'faults/big'), big, true);
    // A streamed body may see the 413 or, if the proxy closes first, a reset: never a 201.
    expect('status' in streamed ? streamed.status : 413).toBe(413);
    const small = randomBytes(1024);
    const ok = await putBlob(p.host, await startUpload(w.open.host, 'faults/big'), small);
    expect('status' in ok && ok.status).toBe(201);
    expect(p.counters.status413).toBe(2);
    const head = await exchange({ host: w.open.host, method: 'HEAD', path: `/v2/faults/big/blobs/${digestOf(big)}` });
    expect('status' in head && head.status).toBe(404);
  });

  it('draws the same faults for the same seed and request sequence, and honours `only`', async () => {
    const w = world();
    const run = async (seed: number): Promise<string[]> => {
      const p = await proxyTo({ host: w.open.host });
      p.setFaults({ rate: 0.5, seed, kinds: { status500: 1, status503: 1, status429: 1, slow: 1 }, slowMs: 1 });
      for (let i = 0; i < 30; i++) await exchange({ host: p.host, method: 'GET', path: '/v2/' });
      return p.events.map((e) => e.fault);
    };
    const a = await run(1234);
    expect(await run(1234)).toEqual(a);
    expect(a.filter((f) => f !== 'none').length).toBeGreaterThan(5);
    expect(a.filter((f) => f === 'none').length).toBeGreaterThan(5);
    expect(await run(99)).not.toEqual(a);

    const p = await proxyTo({ host: w.open.host });
    p.setFaults({ rate: 1, kinds: { status503: 1 }, only: (method, path) => method === 'PUT' && path.includes('/manifests/') });
    const r = await exchange({ host: p.host, method: 'GET', path: '/v2/' });
    expect('status' in r && r.status).toBe(200);
    expect(p.injected()).toBe(0);
  });

  it('a docker push under faults ends in the right digest or a clear error; with faults off push/pull go through', async () => {
    const w = world();
    const p = await proxyTo({ host: w.open.host });
    const ref = `${p.host}/faults/busybox:${randomBytes(3).toString('hex')}`;
    expect((await dockerCliAsync(w.docker.host, ['tag', w.baseImage, ref])).code).toBe(0);
    // One cut upload: the daemon's retry back-off (5 s, 10 s, ...) makes more faults slow.
    p.setFaults({ rate: 1, maxFaults: 1, kinds: { cutUpload: 1 }, only: (method) => method === 'PATCH' || method === 'PUT' });
    const first = await dockerCliAsync(w.docker.host, ['push', ref]);
    const firstDigest = /digest: (sha256:[0-9a-f]{64})/.exec(first.stdout)?.[1];
    if (first.code !== 0) expect(first.stderr.trim().length).toBeGreaterThan(0);
    else expect(firstDigest).toMatch(/^sha256:/);
    expect(p.counters.cutUpload).toBe(1);
    p.setFaults({});
    const again = await dockerCliAsync(w.docker.host, ['push', ref]);
    expect(again.code).toBe(0);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(again.stdout)?.[1];
    if (firstDigest !== undefined) expect(digest).toBe(firstDigest);
    const tlsEnv = { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: w.dockerTls.certPath };
    const pull = await dockerCliAsync(w.dockerTls.host, ['pull', ref], undefined, tlsEnv);
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain(`Digest: ${digest}`);
  });
});

describe('fault proxy in front of the real daemon socket', () => {
  it('forwards the Engine API (and attach upgrades) and injects engine-style errors', async () => {
    const w = world();
    const sock = join(w.tmp, `fp-${randomBytes(3).toString('hex')}.sock`);
    const p = await proxyTo({ socketPath: w.docker.socketPath }, sock);
    expect(p.url).toBe(`unix://${sock}`);
    const ping = await exchange({ socketPath: sock, method: 'GET', path: '/_ping' });
    expect('status' in ping && ping.body.toString()).toBe('OK');
    // docker run attaches through an HTTP upgrade: the proxy must pass it through.
    const run = await dockerCliAsync(p.url, ['run', '--rm', '--network', 'none', w.baseImage, 'echo', 'through the proxy']);
    expect(run.stdout.trim()).toBe('through the proxy');
    p.setFaults({ rate: 1, kinds: { status500: 1 } });
    const r = await exchange({ socketPath: sock, method: 'GET', path: '/version' });
    if (!('status' in r)) throw new Error(`expected an answer, got ${r.cut}`);
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body.toString())).toEqual({ message: 'fault proxy: injected 500' });
    const cli = await dockerCliAsync(p.url, ['version', '--format', '{{.Server.APIVersion}}']);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('fault proxy: injected 500');
  });
});

describe('seededRandom', () => {
  it('is deterministic per seed and spreads over [0, 1)', () => {
    const a = seededRandom(5);
    const b = seededRandom(5);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.filter((x) => x < 0.5).length).toBeGreaterThan(400);
    expect(xs.filter((x) => x < 0.5).length).toBeLessThan(600);
  });
});
