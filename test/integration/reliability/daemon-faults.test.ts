/**
 * The daemon going away and Ctrl-C (issue 7), with imgtool as a real process against a private
 * dockerd of this file's own (so killing it disturbs no other test):
 * - dockerd SIGKILLed during `imgtool build` (a RUN that sleeps) and during `imgtool push`
 *   (a large layer): exit 1, a message that says the engine connection broke, no hang;
 * - SIGINT during `imgtool build`: exit 130 and the daemon cancels the build (the RUN's
 *   container goes away); SIGINT during `imgtool push`: exit 130, and no manifest is published.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCliAsync } from '../../world/base-image.js';
import { leakedSecrets, world } from '../../world/world.js';
import { buildCli, removeBuild } from '../registry/credentials-harness.js';
import { containersRunning, exitOf, startImgtool, startKillableDaemon, uniq, waitUntil, type ImgtoolRun, type KillableDaemon } from './helpers.js';

const BASE = 'imgtool-test/busybox:1.0';
/** Serves the Ctrl-C tests, then dies in the push-kill test. */
let daemon: KillableDaemon;
/** A second daemon, only for the build-kill test: a killed daemon is never reused. */
let buildDaemon: KillableDaemon;
let main: string;
let env: Record<string, string>;
/** A tagged image with one 150 MB layer of random bytes (slow to compress and upload). */
let bigImage: string;
const printed: string[] = [];

/** A context directory whose Dockerfile RUNs `sleep` with a unique marker in its command. */
function sleepContext(marker: string): string {
  const dir = join(world().tmp, `rel-ctx-${marker}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${BASE}\nRUN echo start-${marker} && sleep 300 && echo ${marker}\n`);
  return dir;
}

function record(run: ImgtoolRun): void {
  printed.push(run.stdout(), run.stderr());
  // The last lines are what a user sees; keep them in the test log.
  console.log(run.stderr().trim().split('\n').slice(-8).join('\n'));
}

beforeAll(async () => {
  [daemon, buildDaemon, main] = await Promise.all([startKillableDaemon(world().tmp, BASE), startKillableDaemon(world().tmp, BASE), buildCli()]);
  const cfg = join(world().tmp, `rel-cfg-${uniq()}`);
  mkdirSync(cfg, { recursive: true });
  env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cfg, DOCKER_CONFIG: cfg, NO_COLOR: '1' };
  // The big image is made once, before any kill, with the docker CLI as a neutral peer.
  const ctx = join(daemon.dir, 'big');
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), `FROM ${BASE}\nRUN head -c 150000000 /dev/urandom > /big.bin\n`);
  bigImage = `${world().open.host}/reliability/big-${uniq()}:1`;
  const built = await dockerCliAsync(daemon.host, ['build', '-q', '-t', bigImage, ctx]);
  if (built.code !== 0) throw new Error(`building the big image failed: ${built.stderr}`);
}, 600_000);

afterAll(async () => {
  try {
    await Promise.all([daemon?.dispose(), buildDaemon?.dispose()]);
  } finally {
    await removeBuild();
  }
  // Nothing these runs printed may hold a secret of the world (they use none, but errors quote requests).
  expect(leakedSecrets(printed.join('\n'))).toEqual([]);
}, 300_000);

describe('Ctrl-C (SIGINT)', () => {
  it('during a build RUN: exit 130, and the daemon cancels the build (its container goes away)', async () => {
    const marker = `i${uniq()}`;
    const run = startImgtool(main, ['-H', daemon.host, 'build', '--builder', 'classic', '--progress', 'plain', '-t', `rel/int-${marker}`, sleepContext(marker)], env);
    await waitUntil('the RUN container to start', async () => (await containersRunning(daemon.host, `start-${marker}`)).length > 0);
    run.child.kill('SIGINT');
    const code = await exitOf(run, 'build after SIGINT');
    record(run);
    expect(code, run.stderr()).toBe(130);
    // The engine saw the request go away and stopped the build: the container running the
    // `sleep 300` is stopped and removed (it would otherwise run for five minutes).
    await waitUntil('the build container to go away', async () => (await containersRunning(daemon.host, `start-${marker}`, true)).length === 0, 60_000);
    const images = await dockerCliAsync(daemon.host, ['images', '-q', `rel/int-${marker}`]);
    expect(images.stdout.trim()).toBe('');
  });

  it('during a push: exit 130, and the registry holds no manifest for the tag', async () => {
    const tag = `${world().open.host}/reliability/int-${uniq()}:1`;
    const tagged = await dockerCliAsync(daemon.host, ['tag', bigImage, tag]);
    expect(tagged.code, tagged.stderr).toBe(0);
    const run = startImgtool(main, ['-H', daemon.host, 'push', tag], env);
    await waitUntil('the push to start uploading', () => /^[0-9a-f]{12}: Pushing/m.test(run.stderr()));
    run.child.kill('SIGINT');
    const code = await exitOf(run, 'push after SIGINT');
    record(run);
    expect(code, run.stderr()).toBe(130);
    expect(run.stdout()).toBe('');
    // Nothing half-done is published: the manifest is pushed last and never was.
    const repo = tag.slice(world().open.host.length + 1, -2);
    const res = await fetch(`${world().open.url}/v2/${repo}/manifests/1`, { method: 'HEAD', headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    expect(res.status).toBe(404);
  });
});

// Runs after the Ctrl-C tests: each kill ends a daemon for good.
describe('the daemon goes away', () => {
  it('dockerd killed during a build RUN: exit 1 with a clear engine error, no hang', async () => {
    const marker = `k${uniq()}`;
    const run = startImgtool(main, ['-H', buildDaemon.host, 'build', '--builder', 'classic', '--progress', 'plain', '-t', `rel/killed-${marker}`, sleepContext(marker)], env);
    await waitUntil('the RUN container to start', async () => (await containersRunning(buildDaemon.host, `start-${marker}`)).length > 0);
    buildDaemon.kill();
    const code = await exitOf(run, 'build after dockerd was killed');
    record(run);
    expect(code, run.stderr()).toBe(1);
    // The message names the failure (the engine connection or stream broke), not a stack trace,
    // and does not blame the RUN instruction, which did nothing wrong.
    expect(run.stderr()).toMatch(/stream broke|connection|socket|daemon/i);
    expect(run.stderr()).not.toContain('fix the failing instruction');
    expect(run.stderr()).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(run.stdout()).toBe('');
  });

  it('dockerd killed during a push of a large layer: exit 1 with a clear engine error, no hang', async () => {
    const run = startImgtool(main, ['-H', daemon.host, 'push', bigImage], env);
    // The layer is being pushed once the progress names it; the kill lands mid-upload.
    await waitUntil('the push to start uploading', () => /^[0-9a-f]{12}: Pushing/m.test(run.stderr()));
    daemon.kill();
    const code = await exitOf(run, 'push after dockerd was killed');
    record(run);
    expect(code, run.stderr()).toBe(1);
    expect(run.stderr()).toMatch(/stream broke|connection|socket|daemon/i);
    expect(run.stderr()).toMatch(/hint: .*(daemon|connection)/);
    expect(run.stderr()).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    expect(run.stdout()).toBe('');
  });
});
