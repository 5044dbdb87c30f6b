/**
 * `imgtool push`, `pull` and `tag` through the private dockerd: digest on stdout only,
 * per-layer progress on stderr, in-stream errors as exit 1 with the registry's message, and
 * images the docker CLI pulls back and runs.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { world } from '../../world/world.js';
import { cliEnv, docker, freshDockerConfig, imgtool, leakedInTranscript, ok, registryDigest, transcript, uniq } from './credentials-harness.js';
import { installTestHelper } from '../../unit/registry/credentials-helper-script.js';

const DIGEST_ONLY = /^sha256:[0-9a-f]{64}\n$/;

afterAll(() => {
  if (process.env['SHOW_TRANSCRIPT']) console.log(transcript.join('\n---\n'));
  expect(leakedInTranscript()).toEqual([]);
});

/** Removes the local copy and pulls + runs it back with the docker CLI. */
async function dockerPullAndRun(target: string, env: Record<string, string>): Promise<string> {
  ok(await docker(['rmi', target], env), 'docker rmi');
  ok(await docker(['pull', '-q', target], env), 'docker pull');
  const run = await docker(['run', '--rm', '--network', 'none', target, 'sh', '-c', 'echo ran-$((6*7))'], env);
  ok(run, 'docker run');
  return run.stdout.trim();
}

describe('imgtool push through the engine', () => {
  it('open registry: digest on stdout and in --digest-file, progress lines on stderr; docker pulls and runs it', async () => {
    const { open } = world();
    const cfg = freshDockerConfig('open');
    const env = cliEnv(cfg);
    const repo = `engine/app-${uniq()}`;
    const target = `${open.host}/${repo}:1`;
    const tag = await imgtool(['tag', world().baseImage, target], env);
    expect(tag).toMatchObject({ code: 0, stdout: '' });
    const digestFile = join(cfg, 'digest.txt');
    const push = await imgtool(['push', target, '--digest-file', digestFile], env);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toMatch(DIGEST_ONLY);
    const digest = push.stdout.trim();
    expect(await readFile(digestFile, 'utf8')).toBe(digest);
    expect(await registryDigest(open.url, repo, '1')).toBe(digest);
    // The base image's layers may already be in the shared registry from another test, in
    // which case the daemon mounts them instead of uploading.
    expect(push.stderr).toMatch(/^[0-9a-f]{12}: (Pushed|Mounted from \S+)$/m);
    expect(push.stderr).toContain(`Pushed ${target} ${digest}`);
    expect(await dockerPullAndRun(target, env)).toBe('ran-42');

    // A re-push uploads nothing: every layer already exists.
    const again = await imgtool(['push', target], env);
    expect(again.stdout).toBe(push.stdout);
    expect(again.stderr).toMatch(/Layer already exists/);
    expect(again.stderr).not.toMatch(/: Pushed$/m);
  });

  it('--all-tags pushes every tag; --json gives the structured result', async () => {
    const { open } = world();
    const env = cliEnv(freshDockerConfig('alltags'));
    const name = `${open.host}/engine/all-${uniq()}`;
    for (const t of ['a', 'b']) ok(await imgtool(['tag', world().baseImage, `${name}:${t}`], env), 'imgtool tag');
    const all = await imgtool(['push', '--all-tags', name], env);
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trim().split('\n').sort();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${name.replace(/[.]/g, '\\.')}:a@sha256:[0-9a-f]{64}$`));
    expect(lines[1]).toMatch(/:b@sha256:/);
    const json = await imgtool(['push', `${name}:a`, '--json', '--quiet'], env);
    expect(json.stderr).toBe('');
    const parsed = JSON.parse(json.stdout) as { reference: string; digest: string; pushed: Array<{ tag: string }> };
    expect(parsed.reference).toBe(`${name}:a`);
    expect(parsed.pushed.map((p) => p.tag)).toEqual(['a']);
    const tagged = await imgtool(['push', '--all-tags', `${name}:a`], env);
    expect(tagged.code).toBe(2);
  });

  it('Basic registry without credentials: exit 1 with the registry message and a login hint', async () => {
    const { basic } = world();
    const env = cliEnv(freshDockerConfig('noauth'));
    const target = `${basic.host}/engine/app:${uniq()}`;
    ok(await imgtool(['tag', world().baseImage, target], env), 'imgtool tag');
    const push = await imgtool(['push', target], env);
    expect(push.code).toBe(1);
    expect(push.stdout).toBe('');
    expect(push.stderr).toMatch(/failed: .*(no basic auth credentials|authentication required|unauthorized)/);
    expect(push.stderr).toContain(`imgtool login ${basic.host}`);
  });

  it('Harbor-like robot$team+ci: login, push, docker pulls and runs it (--debug shows no secret)', async () => {
    const { harbor } = world();
    const env = cliEnv(freshDockerConfig('harbor-push'));
    ok(await imgtool(['login', harbor.host, '-u', harbor.username, '--password-stdin'], env, harbor.password), 'imgtool login');
    const target = `${harbor.host}/team/engine-${uniq()}:1.0`;
    ok(await imgtool(['tag', world().baseImage, target], env), 'imgtool tag');
    const push = await imgtool(['--debug', 'push', target], env);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toMatch(DIGEST_ONLY);
    expect(push.stderr).toMatch(/credentials for .*: .*config\.json auths/);
    expect(await dockerPullAndRun(target, env)).toBe('ran-42');
  });

  it('Hub-like registry and TLS registry: login, push, docker pull + run', async () => {
    const { hub, tls } = world();
    for (const [reg, repo] of [
      [hub, `${hub.namespace}engine-${uniq()}`],
      [tls, `engine/tls-${uniq()}`],
    ] as const) {
      const env = cliEnv(freshDockerConfig('hub-tls'));
      ok(await imgtool(['login', reg.host, '-u', reg.username, '--password-stdin'], env, reg.password), `imgtool login ${reg.host}`);
      const target = `${reg.host}/${repo}:v1`;
      ok(await imgtool(['tag', world().baseImage, target], env), 'imgtool tag');
      const push = await imgtool(['push', target], env);
      expect(push.code, push.stderr).toBe(0);
      expect(push.stdout).toMatch(DIGEST_ONLY);
      expect(await dockerPullAndRun(target, env)).toBe('ran-42');
    }
  });

  it('a credential helper on PATH supplies push credentials; docker uses the same helper', async () => {
    const { basic } = world();
    const cfg = freshDockerConfig('helper-push');
    const bin = join(cfg, 'bin');
    const helperDir = join(cfg, 'helper');
    await mkdir(helperDir);
    await installTestHelper(bin, 'imgtooltest');
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ credsStore: 'imgtooltest' }));
    const env = cliEnv(cfg, { TEST_HELPER_DIR: helperDir }, bin);
    const login = await imgtool(['login', basic.host, '-u', basic.username, '--password-stdin'], env, basic.password);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).not.toContain('unencrypted');
    const stored = await readFile(join(cfg, 'config.json'), 'utf8');
    expect(JSON.parse(stored)).toEqual({ credsStore: 'imgtooltest', auths: { [basic.host]: {} } });
    expect(stored).not.toContain(basic.password);

    const target = `${basic.host}/engine/helper-${uniq()}:1`;
    ok(await docker(['tag', world().baseImage, target], env), 'docker tag');
    const push = await imgtool(['push', target], env);
    expect(push.code, push.stderr).toBe(0);
    // docker CLI 28 reads the same helper (get) for its own push.
    ok(await docker(['push', target], env), 'docker push with helper credentials');
    const calls = (await readFile(join(helperDir, 'calls.log'), 'utf8')).trim().split('\n');
    expect(calls.filter((c) => c === `get ${basic.host}`).length).toBeGreaterThanOrEqual(2);

    const logout = await imgtool(['logout', basic.host], env);
    expect(logout.stdout).toBe(`Removing login credentials for ${basic.host}\n`);
    expect(JSON.parse(await readFile(join(helperDir, 'store.json'), 'utf8'))).toEqual({});
    expect((await readFile(join(helperDir, 'calls.log'), 'utf8')).trim().split('\n').at(-1)).toBe(`erase ${basic.host}`);
  });
});

describe('Harbor-aware failures of an engine push', () => {
  it('a push to a project that does not exist says so (not just "unauthorized")', async () => {
    const { harbor } = world();
    const env = cliEnv(freshDockerConfig('harbor-noproject'));
    ok(await imgtool(['login', harbor.host, '-u', harbor.username, '--password-stdin'], env, harbor.password), 'imgtool login');
    const target = `${harbor.host}/nosuchproject/app:${uniq()}`;
    ok(await imgtool(['tag', world().baseImage, target], env), 'imgtool tag');
    const push = await imgtool(['push', target], env);
    expect(push.code).toBe(1);
    expect(push.stderr).toMatch(/project "nosuchproject" does not exist on /);
    expect(push.stderr).toMatch(/the engine reported: /);
  });

  it('a pull-only robot is told it lacks push permission on the project', async () => {
    const { harbor } = world();
    const env = cliEnv(freshDockerConfig('harbor-reader-push'));
    ok(await imgtool(['login', harbor.host, '-u', harbor.reader.username, '--password-stdin'], env, harbor.reader.password), 'imgtool login');
    const target = `${harbor.host}/team/reader-${uniq()}:1`;
    ok(await imgtool(['tag', world().baseImage, target], env), 'imgtool tag');
    const push = await imgtool(['push', target], env);
    expect(push.code).toBe(1);
    expect(push.stderr).toMatch(/robot account "robot\$team\+reader" may not push to team\/reader-.* project "team" exists/);
  });
});

describe('imgtool tag --remote and push --direct', () => {
  it('tag --remote promotes a tag in the registry with the same digest; docker pulls the new tag', async () => {
    const { harbor } = world();
    const env = cliEnv(freshDockerConfig('remote-tag'));
    ok(await imgtool(['login', harbor.host, '-u', harbor.username, '--password-stdin'], env, harbor.password), 'imgtool login');
    const name = `${harbor.host}/team/promote-${uniq()}`;
    ok(await imgtool(['tag', world().baseImage, `${name}:rc`], env), 'imgtool tag');
    const digest = (await imgtool(['push', '-q', `${name}:rc`], env)).stdout.trim();
    const promoted = await imgtool(['tag', '--remote', `${name}:rc`, 'prod'], env);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toBe(`${digest}\n`);
    ok(await docker(['pull', '-q', `${name}:prod`], env), 'docker pull of the promoted tag');
    const bad = await imgtool(['tag', '--remote', `${name}:rc`, '-bad'], env);
    expect(bad.code).not.toBe(0);
  });

  it('push --direct to the Basic registry with imgtool login credentials; docker pulls and runs it; a re-push uploads nothing', async () => {
    const { basic } = world();
    const env = cliEnv(freshDockerConfig('direct'));
    ok(await imgtool(['login', basic.host, '-u', basic.username, '--password-stdin'], env, basic.password), 'imgtool login');
    const target = `${basic.host}/engine/direct-${uniq()}:1`;
    ok(await imgtool(['tag', world().baseImage, target], env), 'imgtool tag');
    const push = await imgtool(['push', '--direct', target], env);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toMatch(DIGEST_ONLY);
    expect(push.stderr).toMatch(/: uploaded/);
    const again = await imgtool(['push', '--direct', target], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(push.stdout);
    expect(again.stderr).toMatch(/\(0 uploaded, 0 mounted, \d+ already there\)/);
    expect(await dockerPullAndRun(target, env)).toBe('ran-42');
    const misuse = await imgtool(['push', '--chunk-size', '5MB', target], env);
    expect(misuse.code).toBe(2);
    expect(misuse.stderr).toMatch(/--chunk-size needs --direct/);
  });
});

describe('imgtool pull through the engine', () => {
  it('pulls completely before returning: the image exists at exit; prints name@digest', async () => {
    const { open } = world();
    const env = cliEnv(freshDockerConfig('pull'));
    const repo = `engine/pull-${uniq()}`;
    const target = `${open.host}/${repo}:1`;
    // An image with a layer of its own, so the pull really downloads something.
    const ctx = join(world().tmp, `pull-ctx-${uniq()}`);
    await mkdir(ctx);
    await writeFile(join(ctx, 'Dockerfile'), `FROM ${world().baseImage}\nRUN echo ${uniq()} > /unique\n`);
    ok(await docker(['build', '-q', '-t', target, ctx], env), 'docker build');
    const pushed = (await imgtool(['push', '-q', target], env)).stdout.trim();
    ok(await docker(['rmi', target], env), 'docker rmi');
    const pull = await imgtool(['pull', target], env);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toBe(`${open.host}/${repo}@${pushed}\n`);
    expect(pull.stderr).toMatch(/^[0-9a-f]{12}: Pull complete$/m);
    expect(pull.stderr).toMatch(/^[0-9a-f]{12}: Already exists$/m);
    expect(pull.stderr).toMatch(/^1: Pulling from engine\/pull-/m);
    // Immediately usable: the pull was not reported before the engine finished.
    ok(await docker(['image', 'inspect', target], env), 'docker image inspect right after imgtool pull');
  });

  it('a missing tag is exit 1 with the registry message', async () => {
    const { open } = world();
    const env = cliEnv(freshDockerConfig('pull-missing'));
    const pull = await imgtool(['pull', `${open.host}/engine/does-not-exist:nope`], env);
    expect(pull.code).toBe(1);
    expect(pull.stderr).toMatch(/pull of .* failed: .*(manifest unknown|not found)/i);
  });

  it('a missing credential helper does not stop an anonymous pull of a public image (warning only)', async () => {
    const { open } = world();
    const cfg = freshDockerConfig('pull-nohelper');
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ credsStore: 'desktop' }));
    const env = cliEnv(cfg);
    const target = `${open.host}/engine/public-${uniq()}:1`;
    ok(await imgtool(['tag', world().baseImage, target], cliEnv(freshDockerConfig('x'))), 'imgtool tag');
    ok(await imgtool(['push', '-q', target], cliEnv(freshDockerConfig('y'))), 'imgtool push');
    ok(await docker(['rmi', target], env), 'docker rmi');
    const pull = await imgtool(['pull', target], env);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stderr).toMatch(/warning: credential helper docker-credential-desktop .*not found.*continuing without credentials/);
    // A push needs the credentials, so there the missing helper is an error naming it.
    const push = await imgtool(['push', target], env);
    expect(push.code).toBe(1);
    expect(push.stderr).toMatch(/credential helper docker-credential-desktop \(configured as credsStore in .*config\.json\) was not found on PATH/);
  });
});

describe('imgtool tag', () => {
  it('invalid targets are usage errors saying what is wrong; a missing source is exit 1', async () => {
    const env = cliEnv(freshDockerConfig('tag'));
    const upper = await imgtool(['tag', world().baseImage, 'registry.example.com/Team/app:1'], env);
    expect(upper.code).toBe(2);
    expect(upper.stderr).toMatch(/repository name must be lowercase/);
    const missing = await imgtool(['tag', `imgtool-test/missing-${uniq()}:1`, 'x/y:1'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no local image/);
  });

  it('tags by image ID and by name; docker sees the new tag', async () => {
    const env = cliEnv(freshDockerConfig('tag2'));
    const id = (await docker(['image', 'inspect', '-f', '{{.Id}}', world().baseImage], env)).stdout.trim();
    const a = `imgtool-test/tagged-${uniq()}`;
    ok(await imgtool(['tag', id, `${a}:by-id`], env), 'tag by id');
    ok(await imgtool(['tag', world().baseImage, a], env), 'tag by name (default :latest)');
    expect((await docker(['image', 'inspect', '-f', '{{.Id}}', `${a}:by-id`], env)).stdout.trim()).toBe(id);
    expect((await docker(['image', 'inspect', '-f', '{{.Id}}', `${a}:latest`], env)).stdout.trim()).toBe(id);
  });
});
