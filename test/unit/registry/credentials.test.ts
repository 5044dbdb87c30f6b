/**
 * config.json and credential helpers, checked against what the docker CLI reads and writes
 * (cli/config/configfile, cli/config/credentials, docker-credential-helpers client).
 */
import { mkdtemp, mkdir, readFile, readdir, rm, stat, symlink, writeFile, chmod, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImgtoolError } from '../../../src/image/errors.js';
import {
  allCredentialsForBuild,
  configPath,
  DOCKER_HUB_CONFIG_KEY,
  eraseCredentials,
  resolveCredentials,
  resolveCredentialsWithSource,
  storeCredentials,
  type CredentialOptions,
} from '../../../src/registry/credentials/index.js';
import { installTestHelper } from './credentials-helper-script.js';

let dir: string;
let cfgDir: string;
let binDir: string;
let helperDir: string;
let env: Record<string, string | undefined>;

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function writeConfig(content: unknown): Promise<void> {
  await mkdir(cfgDir, { recursive: true });
  await writeFile(join(cfgDir, 'config.json'), typeof content === 'string' ? content : JSON.stringify(content, null, '\t'));
}
async function readConfig(): Promise<Record<string, any>> {
  return JSON.parse(await readFile(join(cfgDir, 'config.json'), 'utf8')) as Record<string, any>;
}
function opts(extra: Partial<CredentialOptions> = {}): CredentialOptions {
  return { env, ...extra };
}
async function helperCalls(): Promise<string[]> {
  try {
    return (await readFile(join(helperDir, 'calls.log'), 'utf8')).trim().split('\n');
  } catch {
    return [];
  }
}
async function helperStoreContent(): Promise<Record<string, { Username: string; Secret: string }>> {
  try {
    return JSON.parse(await readFile(join(helperDir, 'store.json'), 'utf8')) as Record<string, { Username: string; Secret: string }>;
  } catch {
    return {};
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgtool-cred-'));
  cfgDir = join(dir, 'docker-config');
  binDir = join(dir, 'bin');
  helperDir = join(dir, 'helper');
  await mkdir(helperDir);
  env = { DOCKER_CONFIG: cfgDir, PATH: `${binDir}${delimiter}/usr/bin${delimiter}/bin`, TEST_HELPER_DIR: helperDir };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('config location', () => {
  it('uses DOCKER_CONFIG, else ~/.docker from the homedir option or HOME', () => {
    expect(configPath({ env: { DOCKER_CONFIG: '/x/y' } })).toBe('/x/y/config.json');
    expect(configPath({ env: {}, homedir: '/home/u' })).toBe('/home/u/.docker/config.json');
    expect(configPath({ env: { HOME: '/home/h' } })).toBe('/home/h/.docker/config.json');
  });
});

describe('reading config.json auths', () => {
  it('decodes auth as base64 user:pass split at the first colon', async () => {
    await writeConfig({ auths: { 'localhost:5000': { auth: b64('robot$team+ci:pa:ss:word') } } });
    expect(await resolveCredentials('localhost:5000', opts())).toEqual({ username: 'robot$team+ci', password: 'pa:ss:word' });
  });

  it('is anonymous without a file, with an empty file, or without an entry', async () => {
    expect(await resolveCredentials('localhost:5000', opts())).toBeUndefined();
    await writeConfig('');
    expect(await resolveCredentials('localhost:5000', opts())).toBeUndefined();
    await writeConfig({ auths: { 'other:5000': { auth: b64('u:p') } } });
    expect(await resolveCredentials('localhost:5000', opts())).toBeUndefined();
  });

  it.each(['docker.io', 'index.docker.io', 'registry-1.docker.io', DOCKER_HUB_CONFIG_KEY])('finds the Docker Hub key https://index.docker.io/v1/ for %s', async (name) => {
    await writeConfig({ auths: { [DOCKER_HUB_CONFIG_KEY]: { auth: b64('hubuser:hubpass') } } });
    expect(await resolveCredentials(name, opts())).toEqual({ username: 'hubuser', password: 'hubpass' });
  });

  it('matches keys after stripping scheme and path (legacy URL keys)', async () => {
    await writeConfig({ auths: { 'https://registry.example.com:5000/v2/': { auth: b64('u:p') } } });
    const got = await resolveCredentialsWithSource('registry.example.com:5000', opts());
    expect(got?.credentials).toEqual({ username: 'u', password: 'p' });
    expect(got?.source).toEqual({ kind: 'file', key: 'https://registry.example.com:5000/v2/', path: join(cfgDir, 'config.json') });
  });

  it('prefers the exact key over a stripped match', async () => {
    await writeConfig({ auths: { 'http://h:1/': { auth: b64('old:x') }, 'h:1': { auth: b64('new:y') } } });
    expect(await resolveCredentials('h:1', opts())).toEqual({ username: 'new', password: 'y' });
  });

  it('reads identitytoken, registrytoken and legacy username/password fields', async () => {
    await writeConfig({
      auths: {
        'a:1': { auth: b64('u:'), identitytoken: 'refresh-tok' },
        'b:1': { registrytoken: 'bearer-tok' },
        'c:1': { username: 'lu', password: 'lp' },
      },
    });
    expect(await resolveCredentials('a:1', opts())).toEqual({ username: 'u', identityToken: 'refresh-tok' });
    expect(await resolveCredentials('b:1', opts())).toEqual({ registryToken: 'bearer-tok' });
    expect(await resolveCredentials('c:1', opts())).toEqual({ username: 'lu', password: 'lp' });
  });

  it('a corrupt config.json is an error naming its path', async () => {
    await writeConfig('{"auths": {');
    const err = await resolveCredentials('h:1', opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImgtoolError);
    expect((err as ImgtoolError).code).toBe('CREDENTIALS_CONFIG_INVALID');
    expect((err as ImgtoolError).message).toContain(join(cfgDir, 'config.json'));
  });

  it('a wrongly typed field is an error naming the key', async () => {
    await writeConfig({ auths: { 'h:1': { auth: 42 } } });
    await expect(resolveCredentials('h:1', opts())).rejects.toMatchObject({ code: 'CREDENTIALS_CONFIG_INVALID', message: expect.stringContaining('"h:1"') });
    await writeConfig({ auths: { 'h:1': { auth: b64('nocolon') } } });
    await expect(resolveCredentials('h:1', opts())).rejects.toMatchObject({ code: 'CREDENTIALS_CONFIG_INVALID' });
  });

  it('bug: a config.json that is not JSON had its auth value quoted in the error by the JSON parser', async () => {
    const secret = b64('user:hunter2-secret');
    await writeConfig(`{"auths":{"h:1":{"auth":${secret}}}}`);
    const err = (await resolveCredentials('h:1', opts()).catch((e: unknown) => e)) as ImgtoolError;
    expect(err.code).toBe('CREDENTIALS_CONFIG_INVALID');
    expect(err.message).toMatch(/it is not JSON/);
    // Neither the message nor a cause (printed by --debug) may carry any part of the value.
    const everything = `${err.message} ${String(err.hint)} ${err.cause instanceof Error ? err.cause.message : String(err.cause)}`;
    expect(everything).not.toContain(secret.slice(0, 6));
  });

  it('bug: a helper answering "get" with a bare token had it quoted through the parse error cause', async () => {
    await mkdir(binDir, { recursive: true });
    const helper = join(binDir, 'docker-credential-bare');
    await writeFile(helper, '#!/bin/sh\necho tok-s3cret-bare-123\n');
    await chmod(helper, 0o755);
    await writeConfig({ auths: {}, credsStore: 'bare' });
    const err = (await resolveCredentials('h:1', opts()).catch((e: unknown) => e)) as ImgtoolError;
    expect(err.code).toBe('CREDENTIALS_HELPER_FAILED');
    expect(`${err.message} ${String(err.cause)} ${JSON.stringify(err.toJSON())}`).not.toContain('s3cret');
  });

  it('the error for a bad auth field never contains the secret', async () => {
    await writeConfig({ auths: { 'h:1': { auth: b64('s3cretwithoutcolon') } } });
    const err = (await resolveCredentials('h:1', opts()).catch((e: unknown) => e)) as ImgtoolError;
    expect(JSON.stringify(err.toJSON())).not.toContain('s3cret');
    expect(err.message).not.toContain(b64('s3cretwithoutcolon'));
  });
});

describe('DOCKER_AUTH_CONFIG', () => {
  it('takes priority over config.json and helpers', async () => {
    await writeConfig({ credsStore: 'missing', auths: { 'h:1': { auth: b64('file:f') } } });
    env['DOCKER_AUTH_CONFIG'] = JSON.stringify({ auths: { 'h:1': { auth: b64('env:e') } } });
    expect(await resolveCredentialsWithSource('h:1', opts())).toEqual({ credentials: { username: 'env', password: 'e' }, source: { kind: 'env', key: 'h:1' } });
  });

  it('falls back to the file for registries it does not list; Hub key works', async () => {
    await writeConfig({ auths: { 'h:1': { auth: b64('file:f') } } });
    env['DOCKER_AUTH_CONFIG'] = JSON.stringify({ auths: { [DOCKER_HUB_CONFIG_KEY]: { auth: b64('hub:e') } } });
    expect(await resolveCredentials('h:1', opts())).toEqual({ username: 'file', password: 'f' });
    expect(await resolveCredentials('docker.io', opts())).toEqual({ username: 'hub', password: 'e' });
  });

  it('an invalid value is warned about and ignored', async () => {
    await writeConfig({ auths: { 'h:1': { auth: b64('file:f') } } });
    env['DOCKER_AUTH_CONFIG'] = '{not json';
    const warnings: string[] = [];
    expect(await resolveCredentials('h:1', opts({ warn: (m) => warnings.push(m) }))).toEqual({ username: 'file', password: 'f' });
    expect(warnings.join('\n')).toMatch(/DOCKER_AUTH_CONFIG is not valid JSON/);
  });
});

describe('writing config.json', () => {
  it('creates the dir 0700 and the file 0600, tab-indented, with an auth field', async () => {
    const r = await storeCredentials('h:5000', { username: 'u', password: 'p' }, opts());
    expect(r).toEqual({ key: 'h:5000', path: join(cfgDir, 'config.json') });
    expect((await stat(cfgDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(cfgDir, 'config.json'))).mode & 0o777).toBe(0o600);
    const text = await readFile(join(cfgDir, 'config.json'), 'utf8');
    expect(text).toContain('\n\t"auths"');
    expect(JSON.parse(text)).toEqual({ auths: { 'h:5000': { auth: b64('u:p') } } });
    expect(await readdir(cfgDir)).toEqual(['config.json']);
  });

  it('stores Docker Hub under https://index.docker.io/v1/', async () => {
    await storeCredentials('docker.io', { username: 'u', password: 'p' }, opts());
    expect(Object.keys((await readConfig())['auths'] as object)).toEqual([DOCKER_HUB_CONFIG_KEY]);
  });

  it('keeps every key it does not know, at top level and inside entries, and the old mode', async () => {
    const original = {
      auths: { 'h:5000': { auth: b64('old:o'), email: 'me@example.com' }, 'other:1': { auth: b64('x:y') } },
      psFormat: 'table {{.ID}}',
      proxies: { default: { httpProxy: 'http://proxy:3128' } },
      currentContext: 'ctx',
      plugins: { buildx: { foo: 'bar' } },
      'x-unknown': [1, 2, { deep: true }],
    };
    await writeConfig(original);
    await chmod(join(cfgDir, 'config.json'), 0o640);
    await storeCredentials('h:5000', { username: 'new', password: 'n' }, opts());
    const after = await readConfig();
    expect(after).toEqual({ ...original, auths: { 'h:5000': { auth: b64('new:n'), email: 'me@example.com' }, 'other:1': { auth: b64('x:y') } } });
    expect((await stat(join(cfgDir, 'config.json'))).mode & 0o777).toBe(0o640);
  });

  it('follows a symlinked config.json and keeps the link', async () => {
    const real = join(dir, 'dotfiles', 'docker.json');
    await mkdir(join(dir, 'dotfiles'));
    await writeFile(real, JSON.stringify({ auths: {}, psFormat: 'x' }));
    await mkdir(cfgDir);
    await symlink(real, join(cfgDir, 'config.json'));
    await storeCredentials('h:1', { username: 'u', password: 'p' }, opts());
    expect((await lstat(join(cfgDir, 'config.json'))).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(real, 'utf8'))).toEqual({ auths: { 'h:1': { auth: b64('u:p') } }, psFormat: 'x' });
  });

  it('never overwrites a corrupt config.json', async () => {
    await writeConfig('{"auths": {"h:1": {"auth": "');
    await expect(storeCredentials('h:1', { username: 'u', password: 'p' }, opts())).rejects.toMatchObject({ code: 'CREDENTIALS_CONFIG_INVALID' });
    expect(await readFile(join(cfgDir, 'config.json'), 'utf8')).toBe('{"auths": {"h:1": {"auth": "');
  });

  it('stores an identity token next to auth "user:" like the docker CLI', async () => {
    await storeCredentials('h:1', { username: 'u', identityToken: 'idt' }, opts());
    expect((await readConfig())['auths']['h:1']).toEqual({ auth: b64('u:'), identitytoken: 'idt' });
    expect(await resolveCredentials('h:1', opts())).toEqual({ username: 'u', identityToken: 'idt' });
  });

  it('20 concurrent stores in one process lose no entry (lock file)', async () => {
    await writeConfig({ auths: {}, psFormat: 'keep' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => storeCredentials(`reg${i}.example.com`, { username: `u${i}`, password: `p${i}` }, opts())));
    const after = await readConfig();
    expect(Object.keys(after['auths'] as object).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `reg${i}.example.com`).sort());
    expect(after['psFormat']).toBe('keep');
    expect(await readdir(cfgDir)).toEqual(['config.json']);
  });

  it('takes over a stale lock left by a killed process', async () => {
    await mkdir(cfgDir, { recursive: true });
    const lock = join(cfgDir, 'config.json.lock');
    await writeFile(lock, 'imgtool dead\n');
    const old = new Date(Date.now() - 60_000);
    const { utimes } = await import('node:fs/promises');
    await utimes(lock, old, old);
    await storeCredentials('h:1', { username: 'u', password: 'p' }, opts());
    expect(await readdir(cfgDir)).toEqual(['config.json']);
  });

  it('erase removes every key naming the host and keeps the rest', async () => {
    await writeConfig({ auths: { 'h:1': { auth: b64('u:p') }, 'https://h:1/v2/': { auth: b64('u:p') }, 'k:2': { auth: b64('a:b') } }, psFormat: 'x' });
    expect(await eraseCredentials('h:1', opts())).toEqual({ key: 'h:1', erased: true });
    expect(await readConfig()).toEqual({ auths: { 'k:2': { auth: b64('a:b') } }, psFormat: 'x' });
    expect(await eraseCredentials('h:1', opts())).toEqual({ key: 'h:1', erased: false });
  });
});

describe('credential helpers', () => {
  beforeEach(async () => {
    await installTestHelper(binDir, 'imgtooltest');
  });

  it('credsStore: store goes to the helper, config.json keeps an empty auths entry', async () => {
    await writeConfig({ credsStore: 'imgtooltest', psFormat: 'x' });
    const r = await storeCredentials('h:5000', { username: 'robot$team+ci', password: 'hp' }, opts());
    expect(r.helper).toBe('docker-credential-imgtooltest');
    expect(await readConfig()).toEqual({ credsStore: 'imgtooltest', psFormat: 'x', auths: { 'h:5000': {} } });
    expect(await helperStoreContent()).toEqual({ 'h:5000': { Username: 'robot$team+ci', Secret: 'hp' } });
    expect(await resolveCredentialsWithSource('h:5000', opts())).toEqual({
      credentials: { username: 'robot$team+ci', password: 'hp' },
      source: { kind: 'helper', key: 'h:5000', helper: 'docker-credential-imgtooltest' },
    });
    expect(await helperCalls()).toEqual(['store h:5000', 'get h:5000']);
  });

  it('"credentials not found in native keychain" means anonymous', async () => {
    await writeConfig({ credsStore: 'imgtooltest' });
    expect(await resolveCredentials('nothing:1', opts())).toBeUndefined();
  });

  it('an identity token is stored in the helper as username <token>', async () => {
    await writeConfig({ credsStore: 'imgtooltest' });
    await storeCredentials('docker.io', { username: 'u', identityToken: 'idt' }, opts());
    expect(await helperStoreContent()).toEqual({ [DOCKER_HUB_CONFIG_KEY]: { Username: '<token>', Secret: 'idt' } });
    expect(await resolveCredentials('docker.io', opts())).toEqual({ identityToken: 'idt' });
  });

  it('credHelpers for a host wins over credsStore and over auths', async () => {
    await installTestHelper(binDir, 'other');
    await writeConfig({ credsStore: 'other', credHelpers: { 'h:5000': 'imgtooltest' }, auths: { 'h:5000': { auth: b64('file:f') } } });
    await writeFile(join(helperDir, 'store.json'), JSON.stringify({ 'h:5000': { Username: 'hu', Secret: 'hs' } }));
    expect(await resolveCredentials('h:5000', opts())).toEqual({ username: 'hu', password: 'hs' });
  });

  it('erase removes from the helper and the file', async () => {
    await writeConfig({ credsStore: 'imgtooltest' });
    await storeCredentials('h:5000', { username: 'u', password: 'p' }, opts());
    expect(await eraseCredentials('h:5000', opts())).toEqual({ key: 'h:5000', erased: true, helper: 'docker-credential-imgtooltest' });
    expect(await helperStoreContent()).toEqual({});
    expect((await readConfig())['auths']).toEqual({});
    expect(await eraseCredentials('h:5000', opts())).toMatchObject({ erased: false });
  });

  it('a missing helper is CREDENTIALS_HELPER_MISSING naming it; for a pull it warns and goes anonymous', async () => {
    await writeConfig({ credsStore: 'desktop' });
    const err = (await resolveCredentials('h:1', opts()).catch((e: unknown) => e)) as ImgtoolError;
    expect(err.code).toBe('CREDENTIALS_HELPER_MISSING');
    expect(err.message).toContain('docker-credential-desktop');
    expect(err.message).toContain('credsStore');
    const warnings: string[] = [];
    expect(await resolveCredentials('h:1', opts({ forPull: true, warn: (m) => warnings.push(m) }))).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('docker-credential-desktop');
  });

  it('a failing helper is CREDENTIALS_HELPER_FAILED with its stdout; for a pull it warns', async () => {
    await writeConfig({ credsStore: 'imgtooltest' });
    env['TEST_HELPER_FAIL'] = 'error getting credentials - keychain is locked';
    const err = (await resolveCredentials('h:1', opts()).catch((e: unknown) => e)) as ImgtoolError;
    expect(err.code).toBe('CREDENTIALS_HELPER_FAILED');
    expect(err.message).toContain('docker-credential-imgtooltest');
    expect(err.message).toContain('keychain is locked');
    expect(err.message).toContain('helper stderr detail');
    const warnings: string[] = [];
    expect(await resolveCredentials('h:1', opts({ forPull: true, warn: (m) => warnings.push(m) }))).toBeUndefined();
    expect(warnings[0]).toContain('keychain is locked');
  });

  it('a store failure is an error and leaves config.json untouched; the secret is not in the message', async () => {
    await writeConfig({ credsStore: 'imgtooltest', psFormat: 'x' });
    env['TEST_HELPER_FAIL'] = 'cannot store hs3cr3t';
    const err = (await storeCredentials('h:1', { username: 'u', password: 'hs3cr3t' }, opts()).catch((e: unknown) => e)) as ImgtoolError;
    expect(err.code).toBe('CREDENTIALS_HELPER_FAILED');
    expect(err.message).not.toContain('hs3cr3t');
    expect(await readConfig()).toEqual({ credsStore: 'imgtooltest', psFormat: 'x' });
  });

  it('allCredentialsForBuild: credsStore list, credHelpers hosts, then DOCKER_AUTH_CONFIG', async () => {
    await installTestHelper(binDir, 'other');
    await writeConfig({ credsStore: 'imgtooltest', credHelpers: { 'ch:1': 'imgtooltest' }, auths: { 'file-only:1': { auth: b64('ignored:x') } } });
    await writeFile(
      join(helperDir, 'store.json'),
      JSON.stringify({ [DOCKER_HUB_CONFIG_KEY]: { Username: 'hub', Secret: 'hs' }, 'a:1': { Username: '<token>', Secret: 'it' }, 'ch:1': { Username: 'c', Secret: 'cs' } }),
    );
    env['DOCKER_AUTH_CONFIG'] = JSON.stringify({ auths: { 'a:1': { auth: b64('envu:envp') } } });
    expect(await allCredentialsForBuild(opts())).toEqual({
      [DOCKER_HUB_CONFIG_KEY]: { username: 'hub', password: 'hs' },
      'a:1': { username: 'envu', password: 'envp' },
      'ch:1': { username: 'c', password: 'cs' },
    });
  });

  it('allCredentialsForBuild without a helper reads every auths entry; a broken helper is a warning', async () => {
    await writeConfig({ credHelpers: { 'gone:1': 'nonexistent' }, auths: { 'a:1': { auth: b64('u:p') }, 'empty:1': {} } });
    const warnings: string[] = [];
    expect(await allCredentialsForBuild(opts({ warn: (m) => warnings.push(m) }))).toEqual({ 'a:1': { username: 'u', password: 'p' } });
    expect(warnings[0]).toContain('docker-credential-nonexistent');
  });
});
