/**
 * Harbor and Docker Hub advice. The registries here are stand-ins (node:http) that answer the
 * challenge and the Harbor project API the way Harbor does; 412 (immutable tag), quota 403 and
 * Hub's 429 with rate-limit headers are answers the test world's registry cannot give.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../../src/registry/client/client.js';
import { registryError } from '../../../../src/registry/client/registry-errors.js';
import { explainHarborFailure, isRobotAccount, robotProject, looksShellMangledRobot } from '../../../../src/registry/harbor.js';
import { explainHubFailure, parseRateLimit } from '../../../../src/registry/hub.js';
import { json, startStandIn, type StandIn } from './stand-in.js';

const servers: StandIn[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function harborStandIn(projects: string[]): Promise<{ s: StandIn; c: RegistryClient }> {
  const s: StandIn = await startStandIn((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/v2/') return json(res, 401, {}, { 'www-authenticate': `Bearer realm="http://${s.host}/service/token",service="harbor-registry"` });
    if (url.pathname === '/api/v2.0/projects') {
      const p = url.searchParams.get('project_name') ?? '';
      return void res.writeHead(projects.includes(p) ? 200 : 404).end();
    }
    return json(res, 404, {});
  });
  servers.push(s);
  const c = new RegistryClient(s.host);
  clients.push(c);
  await c.ping();
  return { s, c };
}

describe('Harbor advice (stand-in Harbor)', () => {
  it('recognises robot names and shell-mangled ones', () => {
    expect(isRobotAccount('robot$team+ci')).toBe(true);
    expect(isRobotAccount('alice')).toBe(false);
    expect(robotProject('robot$team+ci')).toBe('team');
    expect(robotProject('robot$system')).toBeUndefined();
    expect(looksShellMangledRobot('robot+ci')).toBe(true);
    expect(looksShellMangledRobot('robot$team+ci')).toBe(false);
  });

  it('412 is an immutable tag', async () => {
    const { c } = await harborStandIn(['team']);
    const err = registryError(412, '{"errors":[{"code":"PRECONDITION","message":"Failed to process request due to \'app:1\' configured as immutable."}]}', { registry: c.registry, operation: 'PUT manifest 1', repository: 'team/app' });
    const better = await explainHarborFailure(err, { client: c, repository: 'team/app', tag: '1', operation: 'push' });
    expect(better?.code).toBe('REGISTRY_DENIED');
    expect(better?.message).toMatch(/tag "1" of team\/app: the tag is immutable \(HTTP 412\)/);
  });

  it('403 quota exceeded is explained as quota', async () => {
    const { c } = await harborStandIn(['team']);
    const err = registryError(403, '{"errors":[{"code":"DENIED","message":"adding 12.3 MiB of storage resource, which when updated to current usage of 1.0 GiB will exceed the configured upper limit of 1.0 GiB."}]}', { registry: c.registry, operation: 'complete upload', repository: 'team/app' });
    // Harbor 2.x says "exceed the configured upper limit"; other versions say "quota".
    const quotaErr = registryError(403, '{"errors":[{"code":"DENIED","message":"project quota exceeded"}]}', { registry: c.registry, operation: 'complete upload', repository: 'team/app' });
    for (const e of [err, quotaErr]) {
      const better = await explainHarborFailure(e, { client: c, repository: 'team/app', operation: 'push', credentials: { username: 'robot$team+ci', password: 'x' } });
      expect(better?.code).toBe('REGISTRY_DENIED');
      expect(better?.message).toMatch(/project "team" is over its storage quota/);
    }
  });

  it('asks the project API: missing project vs robot without permission vs ordinary member', async () => {
    const { s, c } = await harborStandIn(['team']);
    const unauthorized = (repo: string) => registryError(401, '{"errors":[{"code":"UNAUTHORIZED","message":"unauthorized to access repository: x, action: push: unauthorized to access repository"}]}', { registry: c.registry, operation: 'HEAD blob', repository: repo });
    const missing = await explainHarborFailure(unauthorized('nope/app'), { client: c, repository: 'nope/app', operation: 'push', credentials: { username: 'robot$nope+ci', password: 'pw' } });
    expect(missing?.code).toBe('REGISTRY_NOT_FOUND');
    expect(missing?.message).toBe(`project "nope" does not exist on ${c.registry}: create it, or push to an existing project`);
    // The project check carried the account's Basic credentials (Harbor's API accepts them).
    expect(s.seen.find((r) => r.url.startsWith('/api/v2.0/projects'))?.headers.authorization).toMatch(/^Basic /);
    const otherRobot = await explainHarborFailure(unauthorized('team/app'), { client: c, repository: 'team/app', operation: 'push', credentials: { username: 'robot$ops+ci', password: 'pw' } });
    expect(otherRobot?.message).toMatch(/robot of project "ops", and project robots can only access their own project/);
    const member = await explainHarborFailure(unauthorized('team/app'), { client: c, repository: 'team/app', operation: 'push', credentials: { username: 'alice', password: 'pw' } });
    expect(member?.hint).toMatch(/Developer role/);
  });

  it('stays silent for a registry that is not a Harbor', async () => {
    const s = await startStandIn((_req, res) => json(res, 401, {}, { 'www-authenticate': 'Basic realm="r"' }));
    servers.push(s);
    const c = new RegistryClient(s.host);
    clients.push(c);
    await c.ping();
    const err = registryError(401, '', { registry: c.registry, operation: 'x', repository: 'a/b' });
    expect(await explainHarborFailure(err, { client: c, repository: 'a/b', operation: 'push' })).toBeUndefined();
  });
});

describe('Docker Hub advice (stand-in Hub)', () => {
  async function hubClient(): Promise<RegistryClient> {
    const s: StandIn = await startStandIn((_req, res) => json(res, 401, {}, { 'www-authenticate': `Bearer realm="http://${s.host}/token",service="registry.docker.io"` }));
    servers.push(s);
    const c = new RegistryClient(s.host);
    clients.push(c);
    await c.ping();
    return c;
  }

  it('parses rate-limit headers', () => {
    expect(parseRateLimit('100;w=21600')).toEqual({ count: 100, windowSeconds: 21600 });
    expect(parseRateLimit('76')).toEqual({ count: 76 });
    expect(parseRateLimit(undefined)).toBeUndefined();
  });

  it('explains 429 with the limit, what remains and when to retry', async () => {
    const c = await hubClient();
    const err = registryError(429, '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your unauthenticated pull rate limit."}]}', {
      registry: c.registry,
      operation: 'GET manifest latest',
      repository: 'library/busybox',
      headers: { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600', 'retry-after': '120' },
    });
    const better = explainHubFailure(err, { client: c, repository: 'library/busybox', operation: 'pull' });
    expect(better?.code).toBe('REGISTRY_RATE_LIMITED');
    expect(better?.message).toBe('Docker Hub rate limit reached for anonymous requests (counted per IP address): the limit is 100 pulls per 6 h, 0 remaining');
    expect(better?.hint).toBe('retry after 120 s; log in (`imgtool login`) for a higher limit');
  });

  it('explains library/ pushes and pushes into another namespace', async () => {
    const c = await hubClient();
    const denied = (repo: string) => registryError(401, '', { registry: c.registry, operation: 'POST upload', repository: repo });
    const lib = explainHubFailure(denied('library/app'), { client: c, repository: 'library/app', operation: 'push', credentials: { username: 'me', password: 'x' } });
    expect(lib?.message).toMatch(/official images/);
    expect(lib?.hint).toContain('me/app');
    const other = explainHubFailure(denied('acme/app'), { client: c, repository: 'acme/app', operation: 'push', credentials: { username: 'me', password: 'x' } });
    expect(other?.message).toMatch(/namespace "acme" is not yours/);
    const anon = explainHubFailure(denied('me/app'), { client: c, repository: 'me/app', operation: 'push' });
    expect(anon?.message).toMatch(/needs a login/);
  });
});
