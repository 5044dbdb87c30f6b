/**
 * The Distribution API client against the real registries of the test world (distribution
 * 2.8 with htpasswd, token auth behind a Harbor-like front and a Hub-like auth host, TLS).
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leakedSecrets, world } from '../../world/world.js';
import { recordImgtoolOutput } from '../../world/transcript.js';
import { RegistryClient } from '../../../src/registry/client/client.js';
import { verifyLogin } from '../../../src/registry/client/login.js';
import { bufferBlob, uploadBlob } from '../../../src/registry/client/upload.js';
import { sha256 } from '../../../src/image/digest.js';
import { ImgtoolError } from '../../../src/image/errors.js';

async function failure(p: Promise<unknown>): Promise<ImgtoolError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ImgtoolError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

const uniq = (): string => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

describe('verifyLogin against every registry of the world', () => {
  it('open registry: no authentication required', async () => {
    const warnings: string[] = [];
    const r = await verifyLogin(world().open.host, { username: 'x', password: 'y' }, { warn: (w) => warnings.push(w) });
    expect(r).toEqual({ authRequired: false });
    expect(warnings.join()).toMatch(/does not require authentication/);
  });

  it('Basic (htpasswd): right password passes, wrong one is REGISTRY_UNAUTHORIZED', async () => {
    const { basic } = world();
    expect(await verifyLogin(basic.host, { username: basic.username, password: basic.password })).toEqual({ authRequired: true });
    const err = await failure(verifyLogin(basic.host, { username: basic.username, password: 'not-the-password' }));
    expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(err.message).toContain(`login to ${basic.host} as "${basic.username}" failed`);
  });

  it('Harbor-like token service (POST answers 405): robot$ account logs in through the GET fallback', async () => {
    const { harbor } = world();
    const logs: string[] = [];
    const r = await verifyLogin(harbor.host, { username: harbor.username, password: harbor.password }, { log: (l) => logs.push(l) });
    expect(r).toEqual({ authRequired: true });
    expect(logs.filter((l) => l.startsWith('→ POST')).length).toBe(1);
    expect(logs.some((l) => /^→ GET .*\/service\/token\?.*offline_token=true/.test(l))).toBe(true);
    recordImgtoolOutput('client: verifyLogin log lines', logs.join('\n'));
    expect(leakedSecrets(logs.join('\n'))).toEqual([]);
    const err = await failure(verifyLogin(harbor.host, { username: harbor.username, password: 'wrong' }));
    expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(err.hint).toMatch(/robot\$<project>\+<name>/);
  });

  it('Hub-like token service on a separate host: OAuth2 password grant returns an identity token that works', async () => {
    const { hub } = world();
    const r = await verifyLogin(hub.host, { username: hub.username, password: hub.password });
    expect(r.authRequired).toBe(true);
    expect(typeof r.identityToken).toBe('string');
    // The identity token alone (no password) authenticates later sessions (grant_type=refresh_token).
    const c = new RegistryClient(hub.host, { credentials: { identityToken: r.identityToken as string } });
    try {
      await c.checkLogin();
    } finally {
      await c.close();
    }
    const err = await failure(verifyLogin(hub.host, { username: hub.username, password: 'wrong' }));
    expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
  });

  it('TLS registry: trusted through --ca-cert or certs.d; untrusted otherwise with a hint how to trust it', async () => {
    const { tls } = world();
    const creds = { username: tls.username, password: tls.password };
    const empty = mkdtempSync(join(world().tmp, 'no-certs-'));
    // ipHost has no certs.d entry: only caFile makes it trusted.
    expect(await verifyLogin(tls.ipHost, creds, { caFile: tls.caFile, certsDir: empty })).toEqual({ authRequired: true });
    const err = await failure(verifyLogin(tls.ipHost, creds, { certsDir: empty }));
    expect(err.code).toBe('REGISTRY_TLS');
    expect(err.message).toContain(`cannot verify the TLS certificate of ${tls.ipHost}`);
    expect(err.hint).toContain('--ca-cert');
    expect(err.hint).toContain(`/etc/docker/certs.d/${tls.ipHost}/ca.crt`);
    // localhost:<port> has the CA in /etc/docker/certs.d/<host:port>/ca.crt, like dockerd would use it.
    expect(await verifyLogin(tls.host, creds)).toEqual({ authRequired: true });
    // --insecure-registry skips verification (docker's meaning).
    expect(await verifyLogin(tls.ipHost, creds, { certsDir: empty, insecure: true })).toEqual({ authRequired: true });
  });
});

describe('RegistryClient operations on the real registry', () => {
  it('uploads a blob monolithically and chunked, HEADs and GETs it verified, mounts it cross-repo (201)', async () => {
    const { basic } = world();
    const c = new RegistryClient(basic.host, { credentials: { username: basic.username, password: basic.password } });
    try {
      const repo = `client/${uniq()}`;
      const bytes = Buffer.alloc(200_000, 3);
      bytes.write(uniq());
      const digest = sha256(bytes);
      expect(await c.headBlob(repo, digest)).toBeUndefined();
      await uploadBlob(c, repo, bufferBlob(bytes, digest));
      expect(await c.headBlob(repo, digest)).toEqual({ size: bytes.length });
      const chunkedBytes = Buffer.alloc(150_000, 9);
      chunkedBytes.write(uniq());
      await uploadBlob(c, repo, bufferBlob(chunkedBytes, sha256(chunkedBytes)), { chunkSize: 64 * 1024 });
      const stream = await c.getBlob(repo, sha256(chunkedBytes), { size: chunkedBytes.length });
      const chunks: Buffer[] = [];
      for await (const ch of stream) chunks.push(ch as Buffer);
      expect(Buffer.concat(chunks).equals(chunkedBytes)).toBe(true);
      const other = `client/${uniq()}`;
      expect(await c.mountBlob(other, digest, repo)).toEqual({ mounted: true });
      expect(c.stats.mounts).toBe(1);
      expect(await c.headBlob(other, digest)).toEqual({ size: bytes.length });
    } finally {
      await c.close();
    }
  });

  it('PUTs and GETs a manifest with its exact bytes and digest, lists tags, and 404s are REGISTRY_NOT_FOUND', async () => {
    const { open } = world();
    const c = new RegistryClient(open.host);
    try {
      const repo = `client/${uniq()}`;
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: uniq() }));
      await uploadBlob(c, repo, bufferBlob(config, sha256(config)));
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [] }, null, 3));
      const digest = await c.putManifest(repo, 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
      expect(digest).toBe(sha256(manifest));
      const got = await c.getManifest(repo, 'v1');
      expect(got.bytes.equals(manifest)).toBe(true);
      expect(got.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(await c.headManifest(repo, 'v1')).toMatchObject({ digest, size: manifest.length });
      expect(await c.listTags(repo)).toEqual(['v1']);
      const err = await failure(c.getManifest(repo, 'nope'));
      expect(err.code).toBe('REGISTRY_NOT_FOUND');
      expect(err.message).toContain('MANIFEST_UNKNOWN');
      const missing = await failure(c.putManifest(repo, 'v2', Buffer.from(manifest.toString().replace(sha256(config), sha256('absent'))), 'application/vnd.oci.image.manifest.v1+json'));
      expect(missing.message).toContain('MANIFEST_BLOB_UNKNOWN');
    } finally {
      await c.close();
    }
  });

  it('token auth: one token per scope set is reused across requests', async () => {
    const { hub } = world();
    const c = new RegistryClient(hub.host, { credentials: { username: hub.username, password: hub.password } });
    try {
      const repo = `${hub.namespace}tok-${uniq()}`;
      for (let i = 0; i < 3; i++) expect(await c.headBlob(repo, sha256(`x${i}`))).toBeUndefined();
      expect(c.tokenRequests).toBe(1);
    } finally {
      await c.close();
    }
  });
});
