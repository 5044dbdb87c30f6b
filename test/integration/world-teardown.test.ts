/**
 * Teardown survives an interrupted run: a mini world (a real dockerd with a running
 * container, a real registry, a certs.d entry) whose owning process is SIGKILLed disappears
 * completely: no process naming its dir, no mounts, no dir, no certs.d entry.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { world } from '../world/world.js';
import { dockerCliAsync } from '../world/base-image.js';
import { startDockerd } from '../world/dockerd.js';
import { startRegistry } from '../world/registry.js';
import { REAPER_SCRIPT } from '../world/cleanup.js';

/** Pids of processes whose command line names `dir` (as the reaper decides what is ours). */
function processesNaming(dir: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const mountsBelow = (dir: string): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dir));

describe('world teardown', () => {
  it('removes servers, containers, mounts, dirs and certs.d entries when the owning process is killed', async () => {
    const w = world();
    const tmp = mkdtempSync('/tmp/itw-');
    // The process the reaper watches: stands in for vitest; SIGKILL gives it no chance to clean up.
    const owner = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const reaper = spawn(process.execPath, [REAPER_SCRIPT, tmp, String(owner.pid)], { detached: true, stdio: 'ignore' });
    const reaperExit = new Promise<number | null>((resolve) => reaper.once('exit', (code) => resolve(code)));
    try {
      const daemon = await startDockerd(join(tmp, 'd'), ['--shutdown-timeout', '2']);
      const registry = await startRegistry(join(tmp, 'r'));
      appendFileSync(join(tmp, '.pids'), `${daemon.pid}\n${registry.pid}\n`);
      const certsEntry = `/etc/docker/certs.d/itw-teardown-${randomBytes(4).toString('hex')}:1`;
      appendFileSync(join(tmp, '.cleanup'), `${certsEntry}\n`);
      mkdirSync(certsEntry, { recursive: true });
      writeFileSync(join(certsEntry, 'ca.crt'), readFileSync(w.pki.caCert));

      // A running container: containerd, a shim, an overlay rootfs and shm mounts under the dir.
      expect((await dockerCliAsync(daemon.host, ['load', '-q', '-i', w.baseImageTar])).code).toBe(0);
      const run = await dockerCliAsync(daemon.host, ['run', '-d', '--network', 'none', w.baseImage, 'sleep', '600']);
      expect(run.code).toBe(0);
      expect(processesNaming(tmp).length).toBeGreaterThanOrEqual(3); // dockerd, containerd, registry (+ shim)
      expect(mountsBelow(tmp).length).toBeGreaterThan(0);

      owner.kill('SIGKILL');
      expect(await reaperExit).toBe(0);
      expect(processesNaming(tmp)).toEqual([]);
      expect(mountsBelow(tmp)).toEqual([]);
      expect(existsSync(tmp)).toBe(false);
      expect(existsSync(`${tmp}.rm`)).toBe(false);
      expect(existsSync(certsEntry)).toBe(false);
      // The registry's port is free again: nothing answers.
      expect(await fetch(`http://${registry.host}/v2/`).then(() => 'answered', () => 'refused')).toBe('refused');
    } finally {
      owner.kill('SIGKILL');
      // If an assertion failed before the kill, the reaper still cleans up; give it time.
      await Promise.race([reaperExit, sleep(60_000)]);
    }
  });
});
