/**
 * RegistryClient against stand-in servers (node:http on port 0). Each server here is a
 * stand-in for registry or token-service behaviour the real distribution registry in the
 * integration world does not produce on demand; the real registry is exercised in
 * test/integration/registry/.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHash } from 'node:crypto';
import { text as readAll } from 'node:stream/consumers';
import { RegistryClient } from '../../../../src/registry/client/client.js';
import { uploadBlob, bufferBlob } from '../../../../src/registry/client/upload.js';
import { verifyLogin } from '../../../../src/registry/client/login.js';
import { ImgtoolError } from '../../../../src/image/errors.js';
import { json, startStandIn, type StandIn } from './stand-in.js';

const servers: StandIn[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function standIn(handler: Parameters<typeof startStandIn>[0]): Promise<StandIn> {
  const s = await startStandIn(handler);
  servers.push(s);
  return s;
}

function client(host: string, opts: ConstructorParameters<typeof RegistryClient>[1] = {}): RegistryClient {
  const c = new RegistryClient(host, { retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...opts });
  clients.push(c);
  return c;
}

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ImgtoolError) return err.code;
    throw err;
  }
  return 'resolved';
}

describe('ping and scheme (stand-in registry)', () => {
  it('falls back to plain http on a loopback host and reads an anonymous /v2/', async () => {
    const s = await standIn((req, res) => json(res, 200, {}, { 'docker-distribution-api-version': 'registry/2.0' }));
    const c = client(s.host);
    const ping = await c.ping();
    expect(ping).toEqual({ scheme: 'http', apiVersion: 'registry/2.0' });
  });

  it('refuses plain http for a non-loopback, non-insecure host without trying it', async () => {
    // 127.0.0.2 is loopback too; use a name that resolves nowhere to see the https-only path.
    const c = client('registry.invalid:5000', { retry: { attempts: 1 } });
    expect(await codeOf(c.ping())).toBe('REGISTRY_UNREACHABLE');
  });

  it('says "not a registry" when /v2/ is 404', async () => {
    const s = await standIn((_req, res) => json(res, 404, { message: 'nope' }));
    const err = await client(s.host).ping().catch((e: ImgtoolError) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_NOT_FOUND');
    expect((err as ImgtoolError).hint).toMatch(/is it a registry/);
  });
});

describe('Basic auth (stand-in registry)', () => {
  it('sends Basic credentials after a Basic challenge', async () => {
    const s = await standIn((req, res) => {
      if (req.headers.authorization !== basic('u', 'p')) return json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': 'Basic realm="r"' });
      return json(res, 200, { name: 'a', tags: ['1'] });
    });
    const c = client(s.host, { credentials: { username: 'u', password: 'p' } });
    expect(await c.listTags('a')).toEqual(['1']);
  });

  it('wrong Basic credentials fail once with REGISTRY_UNAUTHORIZED (no retry loop)', async () => {
    const s = await standIn((_req, res) => json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': 'Basic realm="r"' }));
    const c = client(s.host, { credentials: { username: 'u', password: 'bad' } });
    expect(await codeOf(c.listTags('a'))).toBe('REGISTRY_UNAUTHORIZED');
    expect(s.seen.filter((r) => r.url.startsWith('/v2/a/')).length).toBe(1);
  });
});

/** A stand-in registry + token service on one host; the service records form and query. */
async function tokenRegistry(opts: { post?: 'ok' | 405 | 404; expiresIn?: number; grant?: (scopes: string[]) => boolean } = {}) {
  let issued = 0;
  const s: StandIn = await standIn((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/token') {
      if (req.method === 'POST') {
        if (opts.post === 405 || opts.post === undefined) return void res.writeHead(405, { allow: 'GET' }).end();
        if (opts.post === 404) return void res.writeHead(404).end();
        const form = new URLSearchParams(req.body.toString());
        issued++;
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        return json(res, 200, { access_token: `tok${issued}|${scopes.join(' ')}`, expires_in: opts.expiresIn ?? 300, ...(form.get('access_type') === 'offline' ? { refresh_token: 'refresh-xyz' } : {}) });
      }
      issued++;
      const scopes = url.searchParams.getAll('scope');
      return json(res, 200, { token: `tok${issued}|${scopes.join(' ')}`, expires_in: opts.expiresIn ?? 300 });
    }
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer tok\d+\|(.*)$/.exec(auth);
    const scopes = m?.[1]?.split(' ').filter(Boolean) ?? [];
    if (!m || (opts.grant && !opts.grant(scopes))) {
      const want = url.pathname.startsWith('/v2/') && url.pathname !== '/v2/' ? `,scope="repository:${url.pathname.split('/')[2]}:pull"` : '';
      return json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, {
        'www-authenticate': `Bearer realm="http://${s.host}/token",service="svc"${want}${m ? ',error="insufficient_scope"' : ''}`,
      });
    }
    if (url.pathname.endsWith('/tags/list')) return json(res, 200, { name: 'x', tags: ['t'] });
    return json(res, 200, {});
  });
  return { s, issued: () => issued };
}

describe('Bearer tokens (stand-in token service)', () => {
  it('GETs a token with service, repeated scope params and Basic credentials, and caches it per scope set', async () => {
    const { s, issued } = await tokenRegistry();
    const c = client(s.host, { credentials: { username: 'u', password: 'p' } });
    await c.listTags('a');
    await c.listTags('a');
    expect(issued()).toBe(1);
    const tokenReq = s.seen.find((r) => r.url.startsWith('/token'));
    const q = new URL(tokenReq?.url ?? '', 'http://x').searchParams;
    expect(q.get('service')).toBe('svc');
    expect(q.getAll('scope')).toEqual(['repository:a:pull']);
    expect(tokenReq?.headers.authorization).toBe(basic('u', 'p'));
    await c.listTags('b');
    expect(issued()).toBe(2);
    expect(c.tokenRequests).toBe(2);
  });

  it('shares one token request between concurrent requests', async () => {
    const { s, issued } = await tokenRegistry();
    const c = client(s.host);
    await Promise.all([c.listTags('a'), c.listTags('a'), c.listTags('a')]);
    expect(issued()).toBe(1);
    expect(s.seen.filter((r) => r.url.startsWith('/token')).every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('fetches a new token once the cached one expired (expires_in, default 60 s)', async () => {
    const { s, issued } = await tokenRegistry({ expiresIn: 1 });
    const c = client(s.host);
    await c.listTags('a');
    vi.setSystemTime(Date.now() + 45_000);
    await c.listTags('a');
    expect(issued()).toBe(1); // expires_in below 60 counts as 60
    vi.setSystemTime(Date.now() + 20_000);
    await c.listTags('a');
    expect(issued()).toBe(2);
  });

  it('sends several scopes as repeated scope= parameters (mount needs pull on the source)', async () => {
    const s: StandIn = await standIn((req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/token') return json(res, 200, { token: 'T' });
      if (req.headers.authorization !== 'Bearer T') return json(res, 401, {}, { 'www-authenticate': `Bearer realm="http://${s.host}/token",service="svc"` });
      return void res.writeHead(201, { location: '/v2/dst/blobs/d', 'content-length': '0' }).end();
    });
    const c = client(s.host);
    expect(await c.mountBlob('dst', 'sha256:' + '0'.repeat(64), 'src')).toEqual({ mounted: true });
    const q = new URL(s.seen.find((r) => r.url.startsWith('/token'))?.url ?? '', 'http://x').searchParams;
    expect(q.getAll('scope')).toEqual(['repository:dst:pull,push', 'repository:src:pull']);
    expect(c.stats.mounts).toBe(1);
  });

  it('a mid-session 401 with insufficient_scope re-challenges, unions the scope and retries once', async () => {
    // Stand-in: the token must carry push on "a" to list its tags (the registry asks for more than the client did).
    const { s } = await tokenRegistry({ grant: (scopes) => scopes.includes('repository:a:pull,push') || !scopes.some((x) => x.startsWith('repository:a')) });
    const s2 = s;
    const c = client(s2.host);
    // The stand-in's challenge asks for pull only, so the union never reaches push: one retry, then a clear failure.
    const err = await c.listTags('a').catch((e: ImgtoolError) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_UNAUTHORIZED');
    expect(s2.seen.filter((r) => r.url.startsWith('/v2/a/tags')).length).toBe(2);
  });

  it('adds the challenge scope to the token request after a 401', async () => {
    let round = 0;
    const s: StandIn = await standIn((req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/token') return json(res, 200, { token: `T${url.searchParams.getAll('scope').join('+')}` });
      if (url.pathname === '/v2/') return json(res, 401, {}, { 'www-authenticate': `Bearer realm="http://${s.host}/token",service="svc"` });
      round++;
      if (round === 1) return json(res, 401, {}, { 'www-authenticate': `Bearer realm="http://${s.host}/token",service="svc",scope="repository:a:pull repository:shared:pull",error="insufficient_scope"` });
      return json(res, 200, { tags: ['ok'], auth: req.headers.authorization });
    });
    const c = client(s.host);
    expect(await c.listTags('a')).toEqual(['ok']);
    const tokenQueries = s.seen.filter((r) => r.url.startsWith('/token')).map((r) => new URL(r.url, 'http://x').searchParams.getAll('scope'));
    expect(tokenQueries).toEqual([['repository:a:pull'], ['repository:a:pull', 'repository:shared:pull']]);
  });

  it('uses OAuth2 POST with the identity token (grant_type=refresh_token)', async () => {
    const { s } = await tokenRegistry({ post: 'ok' });
    const c = client(s.host, { credentials: { identityToken: 'idtok' } });
    await c.listTags('a');
    const post = s.seen.find((r) => r.method === 'POST' && r.url === '/token');
    const form = new URLSearchParams(post?.body.toString() ?? '');
    expect(form.get('grant_type')).toBe('refresh_token');
    expect(form.get('refresh_token')).toBe('idtok');
    expect(form.get('service')).toBe('svc');
    expect(form.get('client_id')).toBe('imgtool');
    expect(form.get('scope')).toBe('repository:a:pull');
  });

  it('falls back to GET when the token endpoint answers POST with 405 (Harbor) or 404', async () => {
    for (const post of [405, 404] as const) {
      const { s } = await tokenRegistry({ post });
      const c = client(s.host, { credentials: { identityToken: 'idtok', username: 'u', password: 'p' } });
      expect(await c.listTags('a')).toEqual(['t']);
      const methods = s.seen.filter((r) => r.url.startsWith('/token')).map((r) => r.method);
      expect(methods).toEqual(['POST', 'GET']);
    }
  });

  it('refuses an http realm on a non-loopback host and sends it nothing', async () => {
    const s = await standIn((_req, res) => json(res, 401, {}, { 'www-authenticate': 'Bearer realm="http://auth.example.invalid/token",service="svc"' }));
    const c = client(s.host, { credentials: { username: 'u', password: 'secret' } });
    const err = await c.listTags('a').catch((e: ImgtoolError) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_INSECURE');
    expect((err as ImgtoolError).message).not.toContain('secret');
  });

  it('reports bad token-service credentials as REGISTRY_UNAUTHORIZED naming the user, not the password', async () => {
    const s: StandIn = await standIn((req, res) => {
      if (req.url.startsWith('/token')) return void res.writeHead(401).end();
      return json(res, 401, {}, { 'www-authenticate': `Bearer realm="http://${s.host}/token",service="svc"` });
    });
    const err = await client(s.host, { credentials: { username: 'robot$team+ci', password: 'pw-123' } }).listTags('a').catch((e: ImgtoolError) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_UNAUTHORIZED');
    expect((err as ImgtoolError).message).toContain('robot$team+ci');
    expect(JSON.stringify((err as ImgtoolError).toJSON())).not.toContain('pw-123');
  });
});

describe('verifyLogin (stand-in token services)', () => {
  it('returns the refresh token as identity token when the service speaks OAuth2', async () => {
    const { s } = await tokenRegistry({ post: 'ok' });
    const r = await verifyLogin(s.host, { username: 'u', password: 'p' }, { retry: { baseDelayMs: 5 } });
    expect(r).toEqual({ authRequired: true, identityToken: 'refresh-xyz' });
    const form = new URLSearchParams(s.seen.find((x) => x.method === 'POST')?.body.toString() ?? '');
    expect(form.get('grant_type')).toBe('password');
    expect(form.get('access_type')).toBe('offline');
  });

  it('falls back to GET with offline_token=true on Harbor-style 405', async () => {
    const { s } = await tokenRegistry({ post: 405 });
    const r = await verifyLogin(s.host, { username: 'u', password: 'p' }, { retry: { baseDelayMs: 5 } });
    expect(r).toEqual({ authRequired: true });
    const get = s.seen.find((x) => x.method === 'GET' && x.url.startsWith('/token'));
    expect(new URL(get?.url ?? '', 'http://x').searchParams.get('offline_token')).toBe('true');
  });

  it('explains a robot name whose $... the shell expanded (Harbor stand-in)', async () => {
    const s: StandIn = await standIn((req, res) => {
      if (req.url.startsWith('/service/token')) return void res.writeHead(401).end();
      return json(res, 401, {}, { 'www-authenticate': `Bearer realm="http://${s.host}/service/token",service="harbor-registry"` });
    });
    const err = await verifyLogin(s.host, { username: 'robot+ci', password: 'x' }, { retry: { baseDelayMs: 5 } }).catch((e: ImgtoolError) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_UNAUTHORIZED');
    expect((err as ImgtoolError).message).toMatch(/shell expanded/);
    expect((err as ImgtoolError).hint).toMatch(/single quotes/);
  });
});

describe('retries (stand-in registry)', () => {
  it('honours 429 Retry-After and succeeds on the next attempt', async () => {
    let n = 0;
    const s = await standIn((_req, res) => {
      if (_req.url === '/v2/') return json(res, 200, {});
      n++;
      if (n === 1) return json(res, 429, { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }, { 'retry-after': '1' });
      return json(res, 200, { tags: ['x'] });
    });
    const logs: string[] = [];
    const c = client(s.host, { log: (l) => logs.push(l) });
    expect(await c.listTags('a')).toEqual(['x']);
    expect(n).toBe(2);
    expect(logs.some((l) => /retrying GET .* in 1000 ms after HTTP 429 \(Retry-After\)/.test(l))).toBe(true);
  });

  it('does not wait a Retry-After beyond the time budget: fails with REGISTRY_RATE_LIMITED and the headers', async () => {
    const s = await standIn((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      return json(res, 429, { errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }] }, { 'retry-after': '3600', 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' });
    });
    const err = await client(s.host).listTags('a').catch((e: ImgtoolError) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_RATE_LIMITED');
    expect((err as ImgtoolError).details['rateLimitRemaining']).toBe('0;w=21600');
    expect(s.seen.filter((r) => r.url.includes('tags')).length).toBe(1);
  });

  it('retries 5xx with backoff, bounded in attempts', async () => {
    const s = await standIn((req, res) => (req.url === '/v2/' ? json(res, 200, {}) : void res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>503 Service Unavailable</h1>')));
    const err = await client(s.host, { retry: { attempts: 3, baseDelayMs: 1 } }).listTags('a').catch((e: ImgtoolError) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_ERROR');
    expect((err as ImgtoolError).message).toContain('503 Service Unavailable');
    expect(s.seen.filter((r) => r.url.includes('tags')).length).toBe(3);
  });

  it('does not retry other 4xx', async () => {
    for (const status of [400, 403, 404, 405]) {
      const s = await standIn((req, res) => (req.url === '/v2/' ? json(res, 200, {}) : json(res, status, { errors: [{ code: 'X', message: 'no' }] })));
      await client(s.host).listTags('a').catch(() => undefined);
      expect(s.seen.filter((r) => r.url.includes('tags')).length).toBe(1);
    }
  });

  it('retries a connection cut before the answer', async () => {
    let n = 0;
    const s = await standIn((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      n++;
      if (n === 1) return void res.socket?.destroy();
      return json(res, 200, { tags: ['after-cut'] });
    });
    expect(await client(s.host).listTags('a')).toEqual(['after-cut']);
  });
});

describe('redirects (two stand-in hosts)', () => {
  it('follows a blob redirect to another host without Authorization, and keeps it on the same host', async () => {
    const content = Buffer.from('blob content');
    const storage = await standIn((_req, res) => void res.writeHead(200, { 'content-length': String(content.length) }).end(content));
    const reg = await standIn((req, res) => {
      if (req.url === '/v2/') return json(res, 401, {}, { 'www-authenticate': 'Basic realm="r"' });
      if (req.url.startsWith('/v2/a/blobs/')) return void res.writeHead(307, { location: '/redirected/blob' }).end();
      if (req.url === '/redirected/blob') return void res.writeHead(307, { location: `${storage.url}/s3/blob?X-Amz-Signature=abc` }).end();
      return json(res, 404, {});
    });
    const c = client(reg.host, { credentials: { username: 'u', password: 'p' } });
    const stream = await c.getBlob('a', sha(content), { size: content.length });
    expect(await readAll(stream)).toBe('blob content');
    expect(reg.seen.find((r) => r.url === '/redirected/blob')?.headers.authorization).toBe(basic('u', 'p'));
    expect(storage.seen[0]?.url).toBe('/s3/blob?X-Amz-Signature=abc');
    expect(storage.seen[0]?.headers.authorization).toBeUndefined();
  });

  it('verifies blob digest and size at the end of the stream', async () => {
    const s = await standIn((req, res) => (req.url === '/v2/' ? json(res, 200, {}) : void res.writeHead(200).end('tampered')));
    const stream = await client(s.host).getBlob('a', sha('original'));
    const err = await readAll(stream).catch((e: ImgtoolError) => e);
    expect((err as ImgtoolError).code).toBe('DIGEST_MISMATCH');
  });
});

describe('Warning headers and debug logs (stand-in registry)', () => {
  it('surfaces Warning: 299 texts once through warn', async () => {
    const s = await standIn((_req, res) => json(res, 200, { tags: [] }, { warning: '299 - "this registry is deprecated, move to r2"' }));
    const warnings: string[] = [];
    const c = client(s.host, { warn: (w) => warnings.push(w) });
    await c.listTags('a');
    await c.listTags('a');
    expect(warnings).toEqual([`registry ${s.host} warns: this registry is deprecated, move to r2`]);
  });

  it('never logs Authorization values or passwords', async () => {
    const { s } = await tokenRegistry({ post: 'ok' });
    const logs: string[] = [];
    const c = client(s.host, { credentials: { username: 'u', password: 'hunter2-secret' }, log: (l) => logs.push(l) });
    await c.listTags('a');
    const all = logs.join('\n');
    expect(all).toContain('authorization: Bearer <redacted>');
    expect(all).not.toContain('hunter2-secret');
    expect(all).not.toMatch(/tok\d+\|/);
    expect(all).not.toContain(Buffer.from('u:hunter2-secret').toString('base64'));
  });
});

/**
 * A stand-in upload endpoint (distribution semantics: Location with _state, Range, digest
 * check) with switches for behaviour the real registry does not show on demand.
 */
async function uploadStandIn(opts: { maxBody?: number; minChunk?: number; lose416?: boolean; absoluteLocation?: boolean }) {
  const uploads = new Map<string, Buffer>();
  const stored = new Map<string, Buffer>();
  let n = 0;
  let lost = false;
  const s: StandIn = await standIn((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (opts.maxBody !== undefined && req.body.length > opts.maxBody) {
      // nginx's client_max_body_size answer.
      return void res.writeHead(413, { 'content-type': 'text/html' }).end('<html><head><title>413 Request Entity Too Large</title></head><body><center><h1>413 Request Entity Too Large</h1></center><hr><center>nginx</center></body></html>');
    }
    if (url.pathname === '/v2/') return json(res, 200, {});
    const loc = (id: string): string => `${opts.absoluteLocation ? s.url : ''}/v2/a/blobs/uploads/${id}?_state=st%2B${(uploads.get(id) ?? Buffer.alloc(0)).length}`;
    if (req.method === 'POST' && url.pathname === '/v2/a/blobs/uploads/') {
      const id = `u${++n}`;
      uploads.set(id, Buffer.alloc(0));
      return void res.writeHead(202, { location: loc(id), 'docker-upload-uuid': id, range: '0-0', 'content-length': '0', ...(opts.minChunk ? { 'oci-chunk-min-length': String(opts.minChunk) } : {}) }).end();
    }
    const m = /^\/v2\/a\/blobs\/uploads\/(u\d+)$/.exec(url.pathname);
    const id = m?.[1];
    if (id !== undefined && uploads.has(id)) {
      if (!url.searchParams.get('_state')?.startsWith('st+')) return json(res, 400, { errors: [{ code: 'BLOB_UPLOAD_INVALID', message: 'lost _state' }] });
      const have = uploads.get(id) as Buffer;
      if (req.method === 'GET') return void res.writeHead(204, { location: loc(id), range: `0-${have.length - 1}` }).end();
      if (req.method === 'DELETE') return void (uploads.delete(id), res.writeHead(204).end());
      if (req.method === 'PATCH') {
        const range = req.headers['content-range'];
        if (range !== undefined) {
          const [start] = String(range).split('-').map(Number);
          if (start !== have.length) return void res.writeHead(416, { location: loc(id), range: `0-${have.length - 1}` }).end();
        }
        if (opts.lose416 && !lost && have.length > 0) {
          // Simulate the registry having dropped the last chunk: it then answers 416 to the next one.
          lost = true;
          uploads.set(id, Buffer.alloc(0));
          return void res.writeHead(416, { range: '0--1' }).end();
        }
        uploads.set(id, Buffer.concat([have, req.body]));
        return void res.writeHead(202, { location: loc(id), range: `0-${have.length + req.body.length - 1}`, 'content-length': '0' }).end();
      }
      if (req.method === 'PUT') {
        const all = Buffer.concat([have, req.body]);
        const digest = url.searchParams.get('digest');
        if (digest !== sha(all)) return json(res, 400, { errors: [{ code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' }] });
        stored.set(digest, all);
        uploads.delete(id);
        return void res.writeHead(201, { location: `/v2/a/blobs/${digest}`, 'docker-content-digest': digest, 'content-length': '0' }).end();
      }
    }
    return json(res, 404, { errors: [{ code: 'NOT_FOUND', message: req.method + ' ' + req.url }] });
  });
  return { s, stored };
}

describe('blob uploads (stand-in upload endpoint)', () => {
  const blob = Buffer.alloc(300_000, 7);
  blob.write('head', 0);
  const digest = sha(blob);

  it('uploads monolithically, keeping the Location query and merging digest=', async () => {
    const { s, stored } = await uploadStandIn({ absoluteLocation: true });
    const c = client(s.host);
    await uploadBlob(c, 'a', bufferBlob(blob, digest));
    expect(stored.get(digest)?.equals(blob)).toBe(true);
    const put = s.seen.find((r) => r.method === 'PUT');
    expect(put?.url).toMatch(/\?_state=st%2B0&digest=sha256%3A[0-9a-f]{64}$/);
    expect(c.stats.blobUploads).toBe(1);
  });

  it('a 413 switches that blob to chunks instead of repeating the request', async () => {
    const big = Buffer.alloc(12 * 1024 * 1024, 1);
    const { s, stored } = await uploadStandIn({ maxBody: 6 * 1024 * 1024 });
    const logs: string[] = [];
    const c = client(s.host);
    await uploadBlob(c, 'a', bufferBlob(big, sha(big)), { log: (l) => logs.push(l) });
    expect(stored.get(sha(big))?.length).toBe(big.length);
    expect(s.seen.filter((r) => r.method === 'PUT' && r.body.length > 0).length).toBe(1);
    expect(s.seen.filter((r) => r.method === 'PATCH').length).toBe(3);
    expect(logs.some((l) => l.includes('413'))).toBe(true);
  });

  it('a 413 even for chunks tells the user to use a smaller --chunk-size', async () => {
    const big = Buffer.alloc(12 * 1024 * 1024, 2);
    const { s } = await uploadStandIn({ maxBody: 1024 * 1024 });
    const err = await uploadBlob(client(s.host), 'a', bufferBlob(big, sha(big))).catch((e: ImgtoolError) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_TOO_LARGE');
    expect((err as ImgtoolError).hint).toContain('--chunk-size');
  });

  it('uses chunks of the registry minimum (OCI-Chunk-Min-Length) with inclusive Content-Range', async () => {
    const { s, stored } = await uploadStandIn({ minChunk: 100_000 });
    await uploadBlob(client(s.host), 'a', bufferBlob(blob, digest));
    expect(stored.get(digest)?.equals(blob)).toBe(true);
    const ranges = s.seen.filter((r) => r.method === 'PATCH').map((r) => r.headers['content-range']);
    expect(ranges).toEqual(['0-99999', '100000-199999', '200000-299999']);
  });

  it('chunks with --chunk-size and resumes from the registry offset after a 416', async () => {
    const { s, stored } = await uploadStandIn({ lose416: true });
    const logs: string[] = [];
    await uploadBlob(client(s.host), 'a', bufferBlob(blob, digest), { chunkSize: 128 * 1024, log: (l) => logs.push(l) });
    expect(stored.get(digest)?.equals(blob)).toBe(true);
    expect(s.seen.some((r) => r.method === 'GET' && r.url.includes('/uploads/'))).toBe(true);
    expect(logs.some((l) => l.includes('resuming'))).toBe(true);
  });
});

describe('manifests and tags (stand-in registry)', () => {
  it('GETs a manifest with an Accept listing OCI and Docker types, and checks Docker-Content-Digest', async () => {
    const body = '{"schemaVersion":2}';
    const s = await standIn((req, res) =>
      req.url === '/v2/' ? json(res, 200, {}) : void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': sha(body) }).end(body),
    );
    const m = await client(s.host).getManifest('a', 'v1');
    expect(m.digest).toBe(sha(body));
    expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    const accept = String(s.seen.find((r) => r.url.includes('manifests'))?.headers.accept);
    for (const t of ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']) {
      expect(accept).toContain(t);
    }
  });

  it('refuses a manifest whose bytes do not match the digest asked for', async () => {
    const s = await standIn((req, res) => (req.url === '/v2/' ? json(res, 200, {}) : void res.writeHead(200, { 'content-type': 'x' }).end('{"evil":1}')));
    expect(await codeOf(client(s.host).getManifest('a', sha('{"good":1}')))).toBe('DIGEST_MISMATCH');
  });

  it('follows Link pagination for tags', async () => {
    const s = await standIn((req, res) => {
      if (req.url === '/v2/') return json(res, 200, {});
      const last = new URL(req.url, 'http://x').searchParams.get('last');
      if (last === null) return json(res, 200, { tags: ['a', 'b'] }, { link: '</v2/r/tags/list?n=2&last=b>; rel="next"' });
      if (last === 'b') return json(res, 200, { tags: ['c', 'd'] }, { link: '</v2/r/tags/list?n=2&last=d>; rel="next"' });
      return json(res, 200, { tags: ['e'] });
    });
    expect(await client(s.host).listTags('r', { pageSize: 2 })).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('mount: 202 means the registry started an upload instead', async () => {
    const s = await standIn((req, res) => (req.url === '/v2/' ? json(res, 200, {}) : void res.writeHead(202, { location: '/v2/a/blobs/uploads/x?_state=1', 'content-length': '0' }).end()));
    const r = await client(s.host).mountBlob('a', sha('x'), 'b');
    expect(r.mounted).toBe(false);
    expect(r.mounted === false && r.session?.location.href).toBe(`http://${s.host}/v2/a/blobs/uploads/x?_state=1`);
  });
});
