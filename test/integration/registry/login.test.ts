/**
 * `imgtool login` / `logout` against the real registries of the test world, and the
 * credentials they write used by the docker CLI 28 (same DOCKER_CONFIG), and vice versa.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { world } from '../../world/world.js';
import { cliEnv, docker, freshDockerConfig, imgtool, leakedInTranscript, ok, transcript, uniq } from './credentials-harness.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function config(dir: string): Promise<Record<string, any>> {
  return JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, any>;
}

/** Tags the world's base image as `target` and pushes it with the docker CLI using `env`'s config. */
async function dockerPush(target: string, env: Record<string, string>) {
  ok(await docker(['tag', world().baseImage, target], env), 'docker tag');
  return docker(['push', target], env);
}

afterAll(() => {
  // Every password and token of the world, against everything imgtool and docker printed.
  if (process.env['SHOW_TRANSCRIPT']) console.log(transcript.join('\n---\n'));
  expect(leakedInTranscript()).toEqual([]);
});

describe('imgtool login (Basic auth registry)', () => {
  it('verifies, stores auth in config.json, and docker push uses it', async () => {
    const { basic } = world();
    const cfg = freshDockerConfig('basic');
    const env = cliEnv(cfg);
    const r = await imgtool(['login', basic.host, '-u', basic.username, '--password-stdin'], env, `${basic.password}\n`);
    expect(r.stderr).toContain('unencrypted');
    expect(r).toMatchObject({ code: 0, stdout: 'Login Succeeded\n' });
    expect((await config(cfg))['auths']).toEqual({ [basic.host]: { auth: b64(`${basic.username}:${basic.password}`) } });
    const push = await dockerPush(`${basic.host}/login/app:${uniq()}`, env);
    ok(push, 'docker push with imgtool credentials');
  });

  it('a wrong password is refused by the registry and nothing is stored', async () => {
    const { basic } = world();
    const cfg = freshDockerConfig('basic-bad');
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ psFormat: 'keep' }));
    const wrong = `wrong-${uniq()}-password`;
    const r = await imgtool(['login', basic.host, '-u', basic.username], cliEnv(cfg, { IMGTOOL_PASSWORD: wrong }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/login to .* failed/);
    expect(r.stderr + r.stdout).not.toContain(wrong);
    expect(await config(cfg)).toEqual({ psFormat: 'keep' });
  });

  it('--password works but warns; missing username or password is a usage error', async () => {
    const { basic } = world();
    const cfg = freshDockerConfig('basic-pw');
    const r = await imgtool(['login', basic.host, '-u', basic.username, '--password', basic.password], cliEnv(cfg));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/--password is visible/);
    expect((await imgtool(['login', basic.host, '--password-stdin'], cliEnv(cfg), 'x')).code).toBe(2);
    const noPw = await imgtool(['login', basic.host, '-u', 'someone'], cliEnv(cfg));
    expect(noPw.code).toBe(2);
    expect(noPw.stderr).toMatch(/needs a password/);
  });

  it('docker login credentials are used by imgtool push, and imgtool logout removes them', async () => {
    const { basic } = world();
    const cfg = freshDockerConfig('docker-login');
    const env = cliEnv(cfg);
    ok(await docker(['login', basic.host, '-u', basic.username, '--password-stdin'], env, basic.password), 'docker login');
    const target = `${basic.host}/login/from-docker:${uniq()}`;
    ok(await docker(['tag', world().baseImage, target], env), 'docker tag');
    const push = await imgtool(['push', target], env);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);

    const out = await imgtool(['logout', basic.host], env);
    expect(out).toMatchObject({ code: 0, stdout: `Removing login credentials for ${basic.host}\n` });
    expect((await config(cfg))['auths']).toEqual({});
    expect((await imgtool(['logout', basic.host], env)).stdout).toBe(`Not logged in to ${basic.host}\n`);
    const denied = await imgtool(['push', target], env);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/imgtool login/);
  });
});

describe('imgtool login (Harbor-like token registry)', () => {
  it('robot$team+ci from IMGTOOL_USERNAME/IMGTOOL_PASSWORD, no shell quoting; docker pushes with it', async () => {
    const { harbor } = world();
    expect(harbor.username).toBe('robot$team+ci');
    const cfg = freshDockerConfig('harbor');
    const env = cliEnv(cfg, { IMGTOOL_USERNAME: harbor.username, IMGTOOL_PASSWORD: harbor.password });
    const r = await imgtool(['login', harbor.host], env);
    expect(r.code, r.stderr).toBe(0);
    const entry = (await config(cfg))['auths'][harbor.host] as { auth: string };
    expect(Buffer.from(entry.auth, 'base64').toString()).toBe(`${harbor.username}:${harbor.password}`);
    ok(await dockerPush(`${harbor.host}/team/login-app:${uniq()}`, cliEnv(cfg)), 'docker push to harbor with imgtool credentials');
  });

  it('the pull-only robot logs in, and its push is refused with the registry message', async () => {
    const { harbor } = world();
    const cfg = freshDockerConfig('harbor-reader');
    const env = cliEnv(cfg);
    const r = await imgtool(['login', harbor.host, '-u', harbor.reader.username, '--password-stdin'], env, harbor.reader.password);
    expect(r.code, r.stderr).toBe(0);
    const target = `${harbor.host}/team/reader-app:${uniq()}`;
    ok(await docker(['tag', world().baseImage, target], env), 'docker tag');
    const push = await imgtool(['push', target], env);
    expect(push.code).toBe(1);
    expect(push.stderr).toMatch(/may not push to team\/reader-app/);
    expect(push.stderr).toMatch(/hint: /);
  });
});

describe('imgtool login (Hub-like token registry with a separate auth host)', () => {
  it('logs in and docker push uses the stored credentials', async () => {
    const { hub } = world();
    const cfg = freshDockerConfig('hub');
    const r = await imgtool(['login', hub.host, '-u', hub.username, '--password-stdin', '--json'], cliEnv(cfg), hub.password);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { registry: string; key: string };
    expect(result).toMatchObject({ registry: hub.host, key: hub.host });
    const entry = (await config(cfg))['auths'][hub.host] as { auth?: string; identitytoken?: string };
    // With an OAuth2 token service the login may store an identity token instead of the password.
    expect(entry.auth ?? entry.identitytoken).toBeTruthy();
    ok(await dockerPush(`${hub.host}/${hub.namespace}login-app:${uniq()}`, cliEnv(cfg)), 'docker push to hub-like with imgtool credentials');
  });
});

describe('imgtool login (TLS registry)', () => {
  it('verifies over TLS with the CA from certs.d; docker push uses the credentials', async () => {
    const { tls } = world();
    const cfg = freshDockerConfig('tls');
    const r = await imgtool(['login', tls.host, '-u', tls.username, '--password-stdin'], cliEnv(cfg), tls.password);
    expect(r.code, r.stderr).toBe(0);
    ok(await dockerPush(`${tls.host}/login/app:${uniq()}`, cliEnv(cfg)), 'docker push to TLS registry');
  });

  it('an untrusted certificate fails the login; --ca-cert fixes it', async () => {
    const { tls } = world();
    const cfg = freshDockerConfig('tls-ip');
    const bad = await imgtool(['login', tls.ipHost, '-u', tls.username, '--password-stdin'], cliEnv(cfg), tls.password);
    expect(bad.code).toBe(1);
    const good = await imgtool(['login', tls.ipHost, '-u', tls.username, '--password-stdin', '--ca-cert', tls.caFile], cliEnv(cfg), tls.password);
    expect(good.code, good.stderr).toBe(0);
  });
});
