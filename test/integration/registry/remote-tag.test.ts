/**
 * `remoteTag` on the real registries: the manifest is copied byte for byte under a new tag
 * (no pull), and the docker CLI on the other daemon pulls and runs the image by that tag.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { world } from '../../world/world.js';
import { dockerCliAsync } from '../../world/base-image.js';
import { connectEngine, type EngineClient } from '../../../src/engine/client.js';
import { parseReference } from '../../../src/image/reference.js';
import { ImgtoolError } from '../../../src/image/errors.js';
import { engineSource, pushDirect } from '../../../src/registry/push-direct/push.js';
import { remoteTag } from '../../../src/registry/remote-tag.js';
import { RegistryClient } from '../../../src/registry/client/client.js';

const uniq = (): string => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
let engine: EngineClient;
beforeAll(async () => {
  engine = await connectEngine({ host: world().docker.host, env: {} });
});
afterAll(async () => {
  await engine?.close();
});

describe('remoteTag', () => {
  it('re-tags in the Basic-auth registry without pulling; docker pulls and runs the new tag', async () => {
    const { basic, dockerTls, tmp } = world();
    const creds = { username: basic.username, password: basic.password };
    const src = parseReference(`${basic.host}/promote/app:rc-${uniq()}`);
    const pushed = await pushDirect(engineSource(engine, world().baseImage), src, { credentials: creds });
    const client = new RegistryClient(basic.host, { credentials: creds });
    const tagged = await remoteTag(src, 'prod', { client });
    await client.close();
    expect(tagged).toEqual({ reference: `${basic.host}/${src.repository}:prod`, digest: pushed.digest, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' });
    // No blob was read or written: only the manifest GET and PUT went to the registry (plus ping).
    expect(client.stats.blobUploads).toBe(0);
    expect(client.stats.manifestPuts).toBe(1);
    expect(client.stats.requests).toBeLessThanOrEqual(4);

    const cfg = join(tmp, `rt-${uniq()}`);
    mkdirSync(cfg);
    const env = { DOCKER_CERT_PATH: dockerTls.certPath, DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: cfg };
    expect((await dockerCliAsync(dockerTls.host, ['login', basic.host, '-u', basic.username, '--password-stdin'], basic.password, env)).code).toBe(0);
    const pull = await dockerCliAsync(dockerTls.host, ['pull', tagged.reference], undefined, env);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toContain(pushed.digest);
    const run = await dockerCliAsync(dockerTls.host, ['run', '--rm', '--network', 'none', tagged.reference, 'echo', 'promoted'], undefined, env);
    expect(run.stdout.trim()).toBe('promoted');
  });

  it('re-tags by digest', async () => {
    const { open } = world();
    const src = parseReference(`${open.host}/promote/by-digest:${uniq()}`);
    const pushed = await pushDirect(engineSource(engine, world().baseImage), src);
    const byDigest = parseReference(`${open.host}/${src.repository}@${pushed.digest}`);
    const r = await remoteTag(byDigest, 'stable');
    expect(r.digest).toBe(pushed.digest);
    const c = new RegistryClient(open.host);
    expect((await c.headManifest(src.repository, 'stable'))?.digest).toBe(pushed.digest);
    await c.close();
  });

  it('refuses an invalid tag before any request, and explains a Harbor robot without push permission', async () => {
    const { harbor } = world();
    const src = parseReference(`${harbor.host}/${harbor.project}/promote:${uniq()}`);
    await pushDirect(engineSource(engine, world().baseImage), src, { credentials: { username: harbor.username, password: harbor.password } });
    const bad = await remoteTag(src, '-bad').catch((e: ImgtoolError) => e);
    expect((bad as ImgtoolError).code).toBe('REFERENCE_INVALID');
    const err = await remoteTag(src, 'prod', { credentials: harbor.reader }).catch((e: ImgtoolError) => e);
    expect((err as ImgtoolError).code).toBe('REGISTRY_DENIED');
    expect((err as ImgtoolError).message).toMatch(/lacks push permission/);
  });
});
