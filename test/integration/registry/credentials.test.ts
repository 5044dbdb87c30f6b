/**
 * Credentials end to end: ten `imgtool login` processes at once keep ten entries; a
 * credential helper on PATH written by `docker login` is read by imgtool; DOCKER_AUTH_CONFIG
 * takes priority. Logins here are real: each is verified by its registry.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { world } from '../../world/world.js';
import { installTestHelper } from '../../unit/registry/credentials-helper-script.js';
import {
  buildCli,
  cliEnv,
  docker,
  freshDockerConfig,
  imgtool,
  imgtoolProcess,
  leakedInTranscript,
  ok,
  removeBuild,
  transcript,
  uniq,
} from './credentials-harness.js';

let main: string;

beforeAll(async () => {
  main = await buildCli();
});

afterAll(async () => {
  if (process.env['SHOW_TRANSCRIPT']) console.log(transcript.join('\n---\n'));
  await removeBuild();
  expect(leakedInTranscript()).toEqual([]);
});

describe('concurrent logins', () => {
  it('10 imgtool login processes at once lose no entry and keep unknown keys', async () => {
    const { basic, harbor, hub, open, tls } = world();
    const port = (host: string): string => host.slice(host.lastIndexOf(':') + 1);
    const logins: Array<{ server: string; username: string; password: string; extra?: string[] }> = [];
    for (const reg of [basic, harbor, hub]) {
      logins.push({ server: reg.host, username: reg.username, password: reg.password });
      logins.push({ server: `localhost:${port(reg.host)}`, username: reg.username, password: reg.password });
    }
    // The open registry lets anyone in; the login still goes through the registry and is stored.
    logins.push({ server: open.host, username: 'anyone', password: 'open-registry-dummy' });
    logins.push({ server: `localhost:${port(open.host)}`, username: 'anyone', password: 'open-registry-dummy' });
    logins.push({ server: tls.host, username: tls.username, password: tls.password });
    logins.push({ server: tls.ipHost, username: tls.username, password: tls.password, extra: ['--ca-cert', tls.caFile] });
    expect(new Set(logins.map((l) => l.server)).size).toBe(10);

    const cfg = freshDockerConfig('concurrent');
    const original = { psFormat: 'table {{.ID}}', currentContext: 'default', plugins: { x: { y: 'z' } }, auths: { 'pre-existing.example.com': { auth: 'dTpw' } } };
    await writeFile(join(cfg, 'config.json'), JSON.stringify(original));
    const results = await Promise.all(
      logins.map((l) => imgtoolProcess(main, ['login', l.server, '--password-stdin', ...(l.extra ?? [])], cliEnv(cfg, { IMGTOOL_USERNAME: l.username }), l.password)),
    );
    results.forEach((r, i) => expect(r.code, `${logins[i]?.server}: ${r.stderr}`).toBe(0));
    const after = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string; identitytoken?: string }> } & Record<string, unknown>;
    expect(Object.keys(after.auths).sort()).toEqual([...logins.map((l) => l.server), 'pre-existing.example.com'].sort());
    for (const l of logins) {
      const entry = after.auths[l.server];
      const decoded = Buffer.from(entry?.auth ?? '', 'base64').toString();
      // The Hub-like OAuth2 service issues a refresh token: stored as identitytoken, like docker login.
      if (entry?.identitytoken) expect(decoded).toBe(`${l.username}:`);
      else expect(decoded).toBe(`${l.username}:${l.password}`);
    }
    expect(Object.values(after.auths).filter((e) => e.identitytoken).length).toBe(2);
    expect(after['psFormat']).toBe(original.psFormat);
    expect(after['plugins']).toEqual(original.plugins);
    expect(after['currentContext']).toBe('default');
  });
});

describe('credential helper written by docker login', () => {
  it('docker login stores in the helper; imgtool push reads it; imgtool logout erases it', async () => {
    const { harbor } = world();
    const cfg = freshDockerConfig('docker-helper');
    const bin = join(cfg, 'bin');
    const helperDir = join(cfg, 'helper');
    await mkdir(helperDir);
    await installTestHelper(bin, 'imgtooltest');
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ credHelpers: { [harbor.host]: 'imgtooltest' } }));
    const env = cliEnv(cfg, { TEST_HELPER_DIR: helperDir }, bin);
    ok(await docker(['login', harbor.host, '-u', harbor.username, '--password-stdin'], env, harbor.password), 'docker login');
    const store = JSON.parse(await readFile(join(helperDir, 'store.json'), 'utf8')) as Record<string, { Username: string }>;
    expect(store[harbor.host]?.Username).toBe(harbor.username);

    const target = `${harbor.host}/team/helper-${uniq()}:1`;
    ok(await docker(['tag', world().baseImage, target], env), 'docker tag');
    const push = await imgtool(['--debug', 'push', target], env);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stderr).toContain(`credentials for ${harbor.host}: docker-credential-imgtooltest`);
    const out = await imgtool(['logout', harbor.host], env);
    expect(out.code).toBe(0);
    expect(JSON.parse(await readFile(join(helperDir, 'store.json'), 'utf8'))).toEqual({});
  });

  it('a failing helper is an error naming the helper and showing its output', async () => {
    const { basic } = world();
    const cfg = freshDockerConfig('failing-helper');
    const bin = join(cfg, 'bin');
    const helperDir = join(cfg, 'helper');
    await mkdir(helperDir);
    await installTestHelper(bin, 'imgtooltest');
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ credsStore: 'imgtooltest' }));
    const env = cliEnv(cfg, { TEST_HELPER_DIR: helperDir, TEST_HELPER_FAIL: 'error getting credentials - err: exit status 1, out: `keychain locked`' }, bin);
    const target = `${basic.host}/creds/failing-${uniq()}:1`;
    ok(await docker(['tag', world().baseImage, target], env), 'docker tag');
    const push = await imgtool(['push', target], env);
    expect(push.code).toBe(1);
    expect(push.stderr).toMatch(/credential helper docker-credential-imgtooltest .* failed to get credentials for .*keychain locked/);
  });
});

describe('DOCKER_AUTH_CONFIG', () => {
  it('takes priority over config.json for imgtool push', async () => {
    const { basic } = world();
    const cfg = freshDockerConfig('env-auth');
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from('ci-user:wrong').toString('base64') } } }));
    const env = cliEnv(cfg, {
      DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [basic.host]: { auth: Buffer.from(`${basic.username}:${basic.password}`).toString('base64') } } }),
    });
    const target = `${basic.host}/creds/env-${uniq()}:1`;
    ok(await docker(['tag', world().baseImage, target], env), 'docker tag');
    const push = await imgtool(['push', '-q', target], env);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });
});
