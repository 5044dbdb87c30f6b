/**
 * Helpers for the reliability tests (issue 7): a private dockerd of the test's own that can be
 * killed, imgtool run as a real process (so it can be interrupted or orphaned
 * by its daemon), and waiting for something to show up in its output or in the daemon.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildBaseImage, dockerCliAsync } from '../../world/base-image.js';
import { startDockerd, type RunningDaemon } from '../../world/dockerd.js';
import { recordImgtoolRun } from '../../world/transcript.js';

/**
 * A private daemon that tests may kill. A killed daemon is never restarted: bringing dockerd
 * back over a crashed containerd can take minutes on a loaded machine, so each kill test gets
 * a daemon of its own.
 */
export interface KillableDaemon {
  readonly host: string;
  readonly dir: string;
  /** SIGKILLs dockerd (a crash, not a shutdown). */
  kill(): void;
  /** Stops it (cleanly if still alive), kills what a crash left behind, releases mounts, removes its files. */
  dispose(): Promise<void>;
}

/**
 * Starts a dockerd under `parent` (the world's tmp dir, so the world's reaper finds anything
 * left over; keep it short: unix socket paths are limited to 107 bytes) and builds the world's
 * busybox base image into it as `baseTag`.
 */
export async function startKillableDaemon(parent: string, baseTag: string): Promise<KillableDaemon> {
  const dir = mkdtempSync(join(parent, 'k-'));
  const running: RunningDaemon = await startDockerd(dir);
  buildBaseImage(running.host, join(dir, 'base'), baseTag);
  let alive = true;
  return {
    host: running.host,
    dir,
    kill() {
      const pid = Number(readFileSync(join(dir, 'pid'), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      alive = false;
    },
    async dispose() {
      if (alive) await running.stop();
      // A crash leaves containerd and its shims (the RUN's `sleep`) running: they all name `dir`.
      await killProcessesNaming(dir);
      // A killed dockerd leaves its mounts (data-root bind, overlays) behind: release them first.
      for (const m of mountsBelow(dir)) {
        try {
          execFileSync('umount', ['-l', m], { stdio: 'ignore' });
        } catch {
          /* already gone */
        }
      }
      // Anything still busy is left to the world's teardown, which removes its whole tmp dir.
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        /* see above */
      }
    },
  };
}

/** Mount points at or below `dir`, deepest first (field 5 of /proc/self/mountinfo). */
function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** SIGKILLs every process whose command line mentions `dir` and waits for them to go. */
async function killProcessesNaming(dir: string): Promise<void> {
  const naming = (): number[] =>
    readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .filter((pid) => pid !== process.pid && commandLineOf(pid).includes(dir));
  for (const pid of naming()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  for (let i = 0; i < 50 && naming().length > 0; i++) await sleep(100);
}

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** A running imgtool process with its output so far. */
export interface ImgtoolRun {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process exits: the exit code, or 128+n for a signal. */
  readonly exited: Promise<number>;
}

/** Starts `node <main> ...argv` with its own environment (no inherited DOCKER_HOST or config). */
export function startImgtool(main: string, argv: string[], env: Record<string, string>, stdin = ''): ImgtoolRun {
  const child = spawn(process.execPath, [main, ...argv], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdin?.end(stdin);
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => {
      recordImgtoolRun('reliability/helpers (process)', argv, { stdout: out, stderr: err });
      resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 0));
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/**
 * Waits until `check` is true, polling; fails after `limitMs` naming `what`. The limit only
 * turns a hang into a readable failure; nothing here measures speed.
 */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, limitMs = 120_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${limitMs} ms`);
    await sleep(100);
  }
}

/** Waits for the process to exit; a process still running after `limitMs` is a hang. */
export async function exitOf(run: ImgtoolRun, what: string, limitMs = 90_000): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      reject(new Error(`imgtool hung: ${what} did not exit within ${limitMs} ms\nstdout: ${run.stdout()}\nstderr: ${run.stderr()}`));
    }, limitMs);
  });
  try {
    return await Promise.race([run.exited, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** IDs of the daemon's containers (all states) whose command line contains `needle`. */
export async function containersRunning(host: string, needle: string, all = false): Promise<string[]> {
  const r = await dockerCliAsync(host, ['ps', '--no-trunc', ...(all ? ['-a'] : []), '--format', '{{.ID}} {{.Command}}']);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .filter((l) => l.includes(needle))
    .map((l) => l.split(' ')[0] ?? '');
}

/** A unique lowercase suffix. */
export function uniq(): string {
  return Math.random().toString(36).slice(2, 8);
}
