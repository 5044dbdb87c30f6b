/**
 * EngineClient against node:http servers standing in for the daemon, only for behaviour a real
 * dockerd does not produce on demand: other API versions, HEAD /_ping failing, a response cut
 * in the middle, a daemon that never answers, a failing ssh. Everything a real dockerd can do
 * is tested in test/integration/engine against the private daemon.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectEngine, type EngineClient } from '../../../src/engine/client.js';
import { encodeRegistryHeader } from '../../../src/engine/headers.js';
import { ImgtoolError } from '../../../src/image/errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let dir: string;
let n = 0;
const servers: Server[] = [];
const clients: EngineClient[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgtool-client-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fake daemon on a unix socket; `handler` sees every request. */
async function fakeDaemon(handler: Handler): Promise<string> {
  const socketPath = join(dir, `d${++n}.sock`);
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(socketPath, r));
  return `unix://${socketPath}`;
}

/** A handler answering /_ping with `apiVersion` and delegating the rest. */
function daemon(apiVersion: string | undefined, rest: Handler = (_q, s) => s.writeHead(404).end('{"message":"page not found"}')): Handler {
  return (req, res) => {
    if (req.url === '/_ping' || /^\/v[\d.]+\/_ping$/.test(req.url ?? '')) {
      res.writeHead(200, { ...(apiVersion === undefined ? {} : { 'Api-Version': apiVersion }), 'Builder-Version': '2', 'Docker-Experimental': 'true', OSType: 'linux' });
      res.end(req.method === 'HEAD' ? undefined : 'OK');
      return;
    }
    rest(req, res);
  };
}

async function connect(host: string, env: Record<string, string> = {}, extra: { log?: (l: string) => void; timeoutMs?: number } = {}): Promise<EngineClient> {
  const c = await connectEngine({ host, env: { DOCKER_CONFIG: join(dir, 'no-config'), ...env }, ...extra });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<ImgtoolError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImgtoolError);
  return err as ImgtoolError;
}

async function drain(it: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const m of it) out.push(m);
  return out;
}

describe('version negotiation (fake daemons announcing other versions)', () => {
  for (const [daemonVersion, want] of [
    ['1.43', '1.43'],
    ['1.54', '1.47'],
    [undefined, '1.47'],
  ] as const) {
    it(`daemon ${daemonVersion ?? '(no Api-Version)'} -> ${want}, used as /v${want}/ on every request`, async () => {
      const paths: string[] = [];
      const host = await fakeDaemon(
        daemon(daemonVersion, (req, res) => {
          paths.push(req.url ?? '');
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"Version":"x","ApiVersion":"y","Os":"linux","Arch":"amd64"}');
        }),
      );
      const c = await connect(host);
      expect(await c.apiVersion()).toBe(want);
      await c.version();
      expect(paths).toEqual([`/v${want}/version`]);
    });
  }

  it('refuses a daemon older than 1.40', async () => {
    const c = await connect(await fakeDaemon(daemon('1.39')));
    const err = await failure(c.version());
    expect(err.code).toBe('ENGINE_VERSION_UNSUPPORTED');
    expect(err.message).toContain('1.39');
  });

  it('falls back to GET /_ping when HEAD is not answered 200', async () => {
    const methods: string[] = [];
    const host = await fakeDaemon((req, res) => {
      methods.push(`${req.method} ${req.url}`);
      if (req.method === 'HEAD') return void res.writeHead(405).end();
      res.writeHead(200, { 'Api-Version': '1.41', 'Builder-Version': '1' }).end('OK');
    });
    const c = await connect(host);
    const ping = await c.ping();
    expect(ping).toMatchObject({ apiVersion: '1.41', builderVersion: '1' });
    expect(methods).toEqual(['HEAD /_ping', 'GET /_ping']);
  });

  it('negotiates once for concurrent first calls', async () => {
    let pings = 0;
    const host = await fakeDaemon((req, res) => {
      if (req.url === '/_ping') {
        pings++;
        return void res.writeHead(200, { 'Api-Version': '1.41' }).end();
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
    const c = await connect(host);
    await Promise.all([c.imageHistory('a'), c.imageHistory('b'), c.imageHistory('c')]);
    expect(pings).toBe(1);
  });

  it('DOCKER_API_VERSION pins the version without pinging', async () => {
    const urls: string[] = [];
    const host = await fakeDaemon((req, res) => {
      urls.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
    const c = await connect(host, { DOCKER_API_VERSION: '1.40' });
    expect(c.versionPinned).toBe(true);
    await c.imageHistory('x');
    expect(urls).toEqual(['/v1.40/images/x/history']);
  });
});

describe('errors', () => {
  it('a non-JSON error body becomes the message, with the status', async () => {
    const c = await connect(await fakeDaemon(daemon('1.41', (_q, s) => s.writeHead(500, { 'content-type': 'text/plain' }).end('something broke\n'))));
    const err = await failure(c.imageInspect('x'));
    expect(err.code).toBe('ENGINE_API');
    expect(err.details.status).toBe(500);
    expect(err.message).toBe('image inspect failed: something broke');
  });

  it('a stream cut in the middle (connection reset) fails, it does not end quietly', async () => {
    const host = await fakeDaemon(
      daemon('1.41', (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"status":"Preparing","id":"a"}\r\n{"status":"Pus');
        setTimeout(() => res.socket?.destroy(), 20);
      }),
    );
    const c = await connect(host);
    const seen: unknown[] = [];
    const err = await failure(
      (async () => {
        for await (const m of c.imagePush('r/a', { registryAuth: encodeRegistryHeader({}) })) seen.push(m);
      })(),
    );
    expect(seen).toEqual([{ status: 'Preparing', id: 'a' }]);
    expect(err.code).toBe('ENGINE_STREAM');
  });

  it('a cut image save stream errors with ENGINE_STREAM when read', async () => {
    const host = await fakeDaemon(
      daemon('1.41', (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/x-tar', 'content-length': '10000' });
        res.write(Buffer.alloc(512));
        setTimeout(() => res.socket?.destroy(), 20);
      }),
    );
    const c = await connect(host);
    const tar = await c.imageSave(['a']);
    const err = await failure(drain(tar));
    expect(err.code).toBe('ENGINE_STREAM');
  });

  it('a daemon that never answers a short call hits the timeout (ENGINE_TIMEOUT)', async () => {
    const host = await fakeDaemon(daemon('1.41', () => undefined));
    const c = await connect(host, {}, { timeoutMs: 300 });
    const err = await failure(c.imageInspect('x'));
    expect(err.code).toBe('ENGINE_TIMEOUT');
    expect(err.message).toContain(host);
  });

  it('a dead tcp port is ENGINE_UNREACHABLE naming the endpoint, how it was chosen, and what to do', async () => {
    const srv = createNetServer();
    const port = await new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as { port: number }).port)));
    await new Promise((r) => srv.close(r));
    const c = await connectEngine({ env: { DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_CONFIG: join(dir, 'none') } });
    clients.push(c);
    const err = await failure(c.ping());
    expect(err.code).toBe('ENGINE_UNREACHABLE');
    expect(err.message).toBe(`cannot connect to the Docker Engine at tcp://127.0.0.1:${port} (chosen by DOCKER_HOST): connection refused`);
    expect(err.hint).toMatch(/-H\/--host, DOCKER_HOST or --context/);
  });

  it('the caller aborting a stream closes the connection (the daemon cancels the work)', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((r) => (closed = r));
    const host = await fakeDaemon(
      daemon('1.41', (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"stream":"Step 1/9\\n"}\r\n');
        res.on('close', () => closed());
      }),
    );
    const c = await connect(host);
    const ac = new AbortController();
    const err = await failure(
      (async () => {
        for await (const _m of c.build((async function* () {})(), {}, {}, ac.signal)) ac.abort();
      })(),
    );
    expect(err.code).toBe('ABORTED');
    await serverSawClose;
  });

  it('breaking out of a build loop closes the connection too', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((r) => (closed = r));
    const host = await fakeDaemon(
      daemon('1.41', (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"stream":"Step 1/9\\n"}\r\n');
        res.on('close', () => closed());
      }),
    );
    const c = await connect(host);
    for await (const m of c.build((async function* () {})(), {})) {
      expect(m).toEqual({ stream: 'Step 1/9\n' });
      break;
    }
    await serverSawClose;
  });
});

describe('requests', () => {
  it('build streams the body as application/x-tar with the query, and the debug log redacts secrets', async () => {
    let seen: { url: string; headers: IncomingMessage['headers']; body: string } | undefined;
    const host = await fakeDaemon(
      daemon('1.41', (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          seen = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"aux":{"ID":"sha256:abc"}}\r\n{"stream":"Successfully built abc\\n"}\r\n');
        });
      }),
    );
    const lines: string[] = [];
    const c = await connect(host, {}, { log: (l) => lines.push(l) });
    const registryConfig = encodeRegistryHeader({ 'r.example.com': { username: 'u', password: 'hunter2-registry' } });
    async function* context(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('part1-');
      yield Buffer.from('part2');
    }
    const msgs = await drain(c.build(context(), { tags: ['app:1'], buildArgs: { TOKEN: 'hunter2-arg' }, version: '1' }, { headers: { 'X-Registry-Config': registryConfig } }));
    expect(msgs).toEqual([{ aux: { ID: 'sha256:abc' } }, { stream: 'Successfully built abc\n' }]);
    expect(seen?.body).toBe('part1-part2');
    expect(seen?.headers['content-type']).toBe('application/x-tar');
    expect(seen?.headers['x-registry-config']).toBe(registryConfig);
    expect(seen?.headers.host).toBe('api.moby.localhost');
    const q = new URL(`http://x${seen?.url ?? ''}`).searchParams;
    expect(new URL(`http://x${seen?.url ?? ''}`).pathname).toBe('/v1.41/build');
    expect(q.get('t')).toBe('app:1');
    expect(JSON.parse(q.get('buildargs') ?? '')).toEqual({ TOKEN: 'hunter2-arg' });
    const log = lines.join('\n');
    expect(log).toMatch(/POST \/v1\.41\/build\?.* -> 200/);
    expect(log).toContain('X-Registry-Config: <redacted>');
    expect(log).not.toContain('hunter2');
    expect(log).not.toContain(registryConfig);
  });

  it('an error thrown by the request body (an unreadable build context) reaches the caller unchanged', async () => {
    const host = await fakeDaemon(
      daemon('1.41', (req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(200).end());
      }),
    );
    const c = await connect(host);
    const unreadable = new ImgtoolError('CONTEXT_UNREADABLE', 'cannot read src/secret.txt: permission denied');
    async function* context(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(1024);
      throw unreadable;
    }
    const err = await failure(drain(c.build(context(), {})));
    expect(err).toBe(unreadable);
  });

  it('push always sends X-Registry-Auth (anonymous {} when empty) and never logs it', async () => {
    const auths: Array<string | undefined> = [];
    const host = await fakeDaemon(
      daemon('1.41', (req, res) => {
        auths.push(req.headers['x-registry-auth'] as string | undefined);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"latest: digest: sha256:aa size: 1"}\r\n');
      }),
    );
    const lines: string[] = [];
    const c = await connect(host, {}, { log: (l) => lines.push(l) });
    const secret = encodeRegistryHeader({ username: 'u', password: 'hunter2', serveraddress: 'r' });
    await drain(c.imagePush('r/app', { tag: '1', registryAuth: secret }));
    await drain(c.imagePush('r/app', { registryAuth: '' }));
    await drain(c.imageCreate({ fromImage: 'r/app', tag: '1' }));
    expect(auths).toEqual([secret, 'e30=', 'e30=']);
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines.join('\n')).toContain('x-registry-auth: <redacted>');
  });

  it('auth: 200 with an identity token, 204 without', async () => {
    const bodies: string[] = [];
    let status = 200;
    const host = await fakeDaemon(
      daemon('1.41', (req, res) => {
        let b = '';
        req.on('data', (c: Buffer) => (b += c.toString()));
        req.on('end', () => {
          bodies.push(b);
          if (status === 204) return void res.writeHead(204).end();
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"Status":"Login Succeeded","IdentityToken":"tok"}');
        });
      }),
    );
    const c = await connect(host);
    expect(await c.auth({ username: 'u', password: 'p', serveraddress: 'r' })).toEqual({ status: 'Login Succeeded', identityToken: 'tok' });
    status = 204;
    expect(await c.auth({ username: 'u', password: 'p', serveraddress: 'r' })).toEqual({ status: 'Login Succeeded' });
    expect(JSON.parse(bodies[0] ?? '')).toEqual({ username: 'u', password: 'p', serveraddress: 'r' });
  });

  it('image names keep / : @ readable in the path', async () => {
    const urls: string[] = [];
    const host = await fakeDaemon(
      daemon('1.41', (req, res) => {
        urls.push(req.url ?? '');
        res.writeHead(201).end();
      }),
    );
    const c = await connect(host);
    await c.imageTag('localhost:5000/team/app@sha256:abc', 'localhost:5000/team/app', 'v1');
    expect(urls).toEqual(['/v1.41/images/localhost:5000/team/app@sha256:abc/tag?repo=localhost%3A5000%2Fteam%2Fapp&tag=v1']);
  });
});

describe('ssh transport failures (a fake ssh program: no sshd here)', () => {
  it('a failing ssh is ENGINE_UNREACHABLE carrying ssh\'s stderr', async () => {
    const bin = join(dir, 'bin-fail');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'ssh'), '#!/bin/sh\necho "deploy@h: Permission denied (publickey)." >&2\nexit 255\n');
    chmodSync(join(bin, 'ssh'), 0o755);
    const c = await connectEngine({ host: 'ssh://deploy@h', env: { PATH: `${bin}:/usr/bin:/bin`, DOCKER_CONFIG: join(dir, 'none') } });
    clients.push(c);
    const err = await failure(c.ping());
    expect(err.code).toBe('ENGINE_UNREACHABLE');
    expect(err.message).toContain('ssh://deploy@h');
    expect(err.message).toContain('Permission denied (publickey)');
  });

  it('a missing ssh program is ENGINE_UNREACHABLE saying so', async () => {
    const c = await connectEngine({ host: 'ssh://h', env: { PATH: join(dir, 'empty-bin'), DOCKER_CONFIG: join(dir, 'none') } });
    clients.push(c);
    const err = await failure(c.ping());
    expect(err.code).toBe('ENGINE_UNREACHABLE');
    expect(err.message).toMatch(/ssh program was not found/);
  });
});
