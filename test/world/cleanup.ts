/**
 * Teardown that happens even when the run is interrupted: a detached reaper process
 * (reaper.mjs) watches the vitest process and, when it disappears or when told to,
 * kills the world's servers (by the pids recorded in <tmp>/.pids), removes the certs.d entries
 * recorded in <tmp>/.cleanup, unmounts leftovers and deletes the world's tmp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { setPidFile } from './procs.js';

/** The reaper of one world. */
export interface Reaper {
  /** Notes a path the reaper must delete (only under /etc/docker/certs.d/). */
  removeLater(path: string): void;
  /**
   * Runs the reaper's cleanup now; resolves once every server is gone and the dir has moved
   * out of the way (its deletion may still be running in the reaper).
   */
  finish(): Promise<void>;
}

/** The reaper program: `node REAPER_SCRIPT /tmp/itw-XXXXXX <pid to watch>`. */
export const REAPER_SCRIPT = fileURLToPath(new URL('./reaper.mjs', import.meta.url));

/** Starts the reaper for `tmp` (a /tmp/itw-* dir) watching this process. */
export function startReaper(tmp: string): Reaper {
  setPidFile(`${tmp}/.pids`);
  const script = REAPER_SCRIPT;
  // detached: its own session, so the terminal's Ctrl-C reaches vitest but not the reaper.
  const child: ChildProcess = spawn(process.execPath, [script, tmp, String(process.pid)], { detached: true, stdio: 'ignore' });
  child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    removeLater: (path) => appendFileSync(`${tmp}/.cleanup`, `${path}\n`),
    finish: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGUSR2');
      // Polling keeps the event loop alive: vitest's own exit timer is unref'd.
      const deadline = Date.now() + 120_000;
      while (existsSync(tmp) && Date.now() < deadline) {
        if (await Promise.race([exited.then(() => true), sleep(200).then(() => false)])) return;
      }
    },
  };
}
