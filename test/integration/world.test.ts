/**
 * The test world itself, checked with independent peers (docker CLI 28, Node's TLS stack):
 * each registry accepts `docker login` + push + pull with its accounts and refuses what it
 * should; the token services issue JWTs the real registry accepts.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { describe, expect, it } from 'vitest';
import { leakedSecrets, world, worldSecrets, type World } from '../world/world.js';
import { dockerCli, dockerCliAsync } from '../world/base-image.js';

/** A fresh docker CLI config dir, so logins never touch ~/.docker. */
const configDir = (w: World): string => mkdtempSync(join(w.tmp, 'cfg-'));

const tag = (): string => randomBytes(4).toString('hex');

/** Output lines of everything the CLI printed in these tests (for the leak check at the end). */
const printed: string[] = [];

async function cli(host: string, args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  const r = await dockerCliAsync(host, args, input, env);
  printed.push(r.stdout, r.stderr);
  return { code: r.code, out: r.stdout + r.stderr };
}

/** docker login, tag+push the base image as `repo`, then pull it into the other daemon and compare digests. */
async function loginPushPull(w: World, registry: { host: string; username: string; password: string }, repo: string): Promise<void> {
  const cfg = configDir(w);
  const login = await cli(w.docker.host, ['--config', cfg, 'login', '-u', registry.username, '--password-stdin', registry.host], registry.password);
  expect(login.out).toContain('Login Succeeded');
  expect(login.code).toBe(0);
  // The CLI stored the credentials in its config (a docker-compatible auth entry for the host).
  const stored = JSON.parse(readFileSync(join(cfg, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
  expect(Buffer.from(stored.auths[registry.host]?.auth ?? '', 'base64').toString()).toBe(`${registry.username}:${registry.password}`);

  const ref = `${registry.host}/${repo}:${tag()}`;
  expect((await cli(w.docker.host, ['tag', w.baseImage, ref])).code).toBe(0);
  const push = await cli(w.docker.host, ['--config', cfg, 'push', ref]);
  expect(push.out).toMatch(/digest: sha256:[0-9a-f]{64}/);
  expect(push.code).toBe(0);
  const pushed = /digest: (sha256:[0-9a-f]{64})/.exec(push.out)?.[1];

  // Pull into the *other* daemon so every blob really crosses the wire.
  const tlsEnv = { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: w.dockerTls.certPath };
  const pull = await cli(w.dockerTls.host, ['--config', cfg, 'pull', ref], undefined, tlsEnv);
  expect(pull.code).toBe(0);
  expect(pull.out).toContain(`Digest: ${pushed}`);
  const run = await cli(w.dockerTls.host, ['run', '--rm', '--network', 'none', ref, 'echo', 'pulled ok'], undefined, tlsEnv);
  expect(run.out.trim()).toBe('pulled ok');
}

describe('test world', () => {
  it('has a private dockerd with the local base image', () => {
    const w = world();
    const out = dockerCli(w.docker.host, ['run', '--rm', '--network', 'none', w.baseImage, 'echo', 'hello from busybox']);
    expect(out.trim()).toBe('hello from busybox');
  });

  it('has an open registry answering /v2/', async () => {
    const res = await fetch(`${world().open.url}/v2/`);
    expect(res.status).toBe(200);
  });
});

describe('basic: htpasswd (bcrypt) registry', () => {
  it('challenges with Basic and rejects a wrong password', async () => {
    const w = world();
    const anon = await fetch(`${w.basic.url}/v2/`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toBe('Basic realm="basic-realm"');
    const wrong = await fetch(`${w.basic.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${w.basic.username}:nope`).toString('base64')}` } });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${w.basic.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${w.basic.username}:${w.basic.password}`).toString('base64')}` } });
    expect(right.status).toBe(200);
    expect(readFileSync(join(w.tmp, 'r-basic', 'htpasswd'), 'utf8')).toMatch(/^ci-user:\$2y\$/);
  });

  it('docker login + push + pull', async () => {
    const w = world();
    await loginPushPull(w, w.basic, 'ci-user/busybox');
  });
});

/** GET over https trusting only `ca` (Node's TLS stack as a peer). */
function httpsGet(url: string, ca: string | undefined): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ...(ca ? { ca } : {}), timeout: 10_000 }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe('tls: registry with a test CA', () => {
  it('verifies with the CA for localhost and 127.0.0.1, and fails without it', async () => {
    const w = world();
    const ca = readFileSync(w.tls.caFile, 'utf8');
    expect(await httpsGet(`${w.tls.url}/v2/`, ca)).toEqual({ status: 401 });
    expect(await httpsGet(`https://${w.tls.ipHost}/v2/`, ca)).toEqual({ status: 401 });
    expect(await httpsGet(`${w.tls.url}/v2/`, undefined)).toEqual({ error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(readFileSync(`/etc/docker/certs.d/${w.tls.host}/ca.crt`, 'utf8')).toBe(ca);
  });

  it('docker login + push + pull', async () => {
    const w = world();
    await loginPushPull(w, w.tls, 'tls-user/busybox');
  });
});

describe('dockerTls: a second dockerd with --tlsverify', () => {
  it('answers a client holding the test client certificate and refuses one without', async () => {
    const w = world();
    const env = { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: w.dockerTls.certPath };
    const ok = await cli(w.dockerTls.host, ['version', '--format', '{{.Server.APIVersion}}'], undefined, env);
    expect(ok.out.trim()).toBe('1.41');
    const images = await cli(w.dockerTls.host, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], undefined, env);
    expect(images.out).toContain(w.baseImage);
    // TLS with the CA but no client certificate: the daemon demands one.
    const noCert = await cli(w.dockerTls.host, ['--tls', '--tlscacert', join(w.dockerTls.certPath, 'ca.pem'), 'version', '--format', '{{.Server.APIVersion}}']);
    expect(noCert.code).not.toBe(0);
    expect(noCert.out).toMatch(/certificate|tls/i);
  });
});

/** Decodes a JWT without verifying (the registry verifies; this checks what we hand out). */
function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, c] = token.split('.');
  return { header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString()), claims: JSON.parse(Buffer.from(c ?? '', 'base64url').toString()) };
}

const basicAuth = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('harbor: token auth like Harbor', () => {
  it('challenges with a Bearer realm on the same host, service harbor-registry', async () => {
    const w = world();
    const res = await fetch(`${w.harbor.url}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${w.harbor.realm}",service="harbor-registry"`);
    expect(new URL(w.harbor.realm).host).toBe(w.harbor.host);
  });

  it('issues an RS256 JWT with x5c and scoped access per robot account; POST is 405', async () => {
    const w = world();
    const url = `${w.harbor.realm}?service=harbor-registry&scope=repository:team/app:pull,push&scope=repository:other/app:pull`;
    const res = await fetch(url, { headers: { authorization: basicAuth(w.harbor.username, w.harbor.password) } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(1800);
    const { header, claims } = decodeJwt(body.token);
    expect(header['alg']).toBe('RS256');
    expect(Array.isArray(header['x5c'])).toBe(true);
    expect(claims).toMatchObject({ iss: 'harbor-token-issuer', sub: 'robot$team+ci', aud: 'harbor-registry' });
    expect(claims['access']).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'other/app', actions: [] },
    ]);
    expect(worldSecrets(w)).toContain(body.token);

    const reader = await fetch(url, { headers: { authorization: basicAuth(w.harbor.reader.username, w.harbor.reader.password) } });
    expect(decodeJwt(((await reader.json()) as { token: string }).token).claims['access']).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull'] },
      { type: 'repository', name: 'other/app', actions: [] },
    ]);
    expect((await fetch(url, { headers: { authorization: basicAuth(w.harbor.username, 'wrong') } })).status).toBe(401);
    const post = await fetch(w.harbor.realm, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', service: 'harbor-registry', username: w.harbor.username, password: w.harbor.password }) });
    expect(post.status).toBe(405);
  });

  it('serves the project API (HEAD/GET projects?project_name=) on the same host', async () => {
    const w = world();
    expect((await fetch(`${w.harbor.url}/api/v2.0/projects?project_name=team`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${w.harbor.url}/api/v2.0/projects?project_name=nope`, { method: 'HEAD' })).status).toBe(404);
    const list = await fetch(`${w.harbor.url}/api/v2.0/projects?project_name=team`);
    expect(((await list.json()) as Array<{ name: string }>)[0]?.name).toBe('team');
  });

  it('docker login + push + pull as robot$team+ci', async () => {
    const w = world();
    await loginPushPull(w, w.harbor, 'team/busybox');
  });

  it('refuses a push outside the project and a push by the pull-only robot', async () => {
    const w = world();
    const cfg = configDir(w);
    await cli(w.docker.host, ['--config', cfg, 'login', '-u', w.harbor.username, '--password-stdin', w.harbor.host], w.harbor.password);
    const outside = `${w.harbor.host}/other/busybox:${tag()}`;
    await cli(w.docker.host, ['tag', w.baseImage, outside]);
    const denied = await cli(w.docker.host, ['--config', cfg, 'push', outside]);
    expect(denied.code).not.toBe(0);
    expect(denied.out).toMatch(/denied|unauthorized|authentication required/i);

    const cfg2 = configDir(w);
    const login = await cli(w.docker.host, ['--config', cfg2, 'login', '-u', w.harbor.reader.username, '--password-stdin', w.harbor.host], w.harbor.reader.password);
    expect(login.code).toBe(0);
    const mine = `${w.harbor.host}/team/readonly:${tag()}`;
    await cli(w.docker.host, ['tag', w.baseImage, mine]);
    const readerPush = await cli(w.docker.host, ['--config', cfg2, 'push', mine]);
    expect(readerPush.code).not.toBe(0);
    expect(readerPush.out).toMatch(/denied|unauthorized|authentication required/i);
  });
});

describe('hub: token auth like Docker Hub (separate auth host)', () => {
  it('challenges with a realm on another port, service registry.docker.io', async () => {
    const w = world();
    const res = await fetch(`${w.hub.url}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${w.hub.realm}",service="registry.docker.io"`);
    expect(new URL(w.hub.realm).host).not.toBe(w.hub.host);
  });

  it('supports the OAuth2 password and refresh_token grants, and rejects a wrong password', async () => {
    const w = world();
    const form = (f: Record<string, string>): RequestInit => ({ method: 'POST', body: new URLSearchParams({ service: 'registry.docker.io', client_id: 'imgtool-test', ...f }) });
    const res = await fetch(w.hub.realm, form({ grant_type: 'password', username: w.hub.username, password: w.hub.password, scope: 'repository:imgtooltest/app:pull,push', access_type: 'offline' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; refresh_token: string; expires_in: number };
    expect(decodeJwt(body.access_token).claims['access']).toEqual([{ type: 'repository', name: 'imgtooltest/app', actions: ['pull', 'push'] }]);
    expect(worldSecrets(w)).toEqual(expect.arrayContaining([body.access_token, body.refresh_token]));
    const refreshed = await fetch(w.hub.realm, form({ grant_type: 'refresh_token', refresh_token: body.refresh_token, scope: 'repository:library/busybox:pull' }));
    expect(decodeJwt(((await refreshed.json()) as { access_token: string }).access_token).claims['access']).toEqual([
      { type: 'repository', name: 'library/busybox', actions: ['pull'] },
    ]);
    expect((await fetch(w.hub.realm, form({ grant_type: 'password', username: w.hub.username, password: 'wrong' }))).status).toBe(401);
    // Anonymous GET: pull only, like public images on Docker Hub.
    const anon = await fetch(`${w.hub.realm}?service=registry.docker.io&scope=repository:imgtooltest/app:pull,push`);
    expect(decodeJwt(((await anon.json()) as { token: string }).token).claims['access']).toEqual([{ type: 'repository', name: 'imgtooltest/app', actions: ['pull'] }]);
  });

  it('a token from the service is accepted by the real registry; a forged one is not', async () => {
    const w = world();
    const res = await fetch(`${w.hub.realm}?service=registry.docker.io&scope=repository:imgtooltest/none:pull`, { headers: { authorization: basicAuth(w.hub.username, w.hub.password) } });
    const { token } = (await res.json()) as { token: string };
    const tagsList = await fetch(`${w.hub.url}/v2/imgtooltest/none/tags/list`, { headers: { authorization: `Bearer ${token}` } });
    expect(tagsList.status).toBe(404); // authorized, the repository just does not exist
    const [h, c] = token.split('.');
    const claims = JSON.parse(Buffer.from(c ?? '', 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${token.split('.')[2]}`;
    expect((await fetch(`${w.hub.url}/v2/imgtooltest/none/tags/list`, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
  });

  it('docker login + push + pull', async () => {
    const w = world();
    await loginPushPull(w, w.hub, 'imgtooltest/busybox');
  });
});

describe('secrets', () => {
  it('lists every password, and the docker CLI printed none of them nor any token', () => {
    const w = world();
    expect(w.secrets).toEqual(expect.arrayContaining([w.basic.password, w.tls.password, w.harbor.password, w.harbor.reader.password, w.hub.password]));
    expect(new Set(w.secrets).size).toBe(w.secrets.length);
    expect(worldSecrets(w).length).toBeGreaterThan(w.secrets.length);
    expect(leakedSecrets(printed.join('\n'), w)).toEqual([]);
    // The checker itself finds a planted secret.
    expect(leakedSecrets(`log line ${w.hub.password} end`, w)).toEqual([w.hub.password]);
  });
});
