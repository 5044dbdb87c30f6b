/** Small helpers for starting and stopping the world's real server processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { appendFileSync, openSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free TCP port on 127.0.0.1 (bound and released; fine for a test run). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('no port'));
      srv.close(() => resolve(addr.port));
    });
  });
}

let pidFile: string | undefined;

/** Where {@link recordPid} notes the world's server pids for the reaper (set once per run). */
export function setPidFile(file: string): void {
  pidFile = file;
}

/** Notes a server's pid so the reaper can kill it if the run dies without tearing down. */
export function recordPid(child: ChildProcess): void {
  if (pidFile !== undefined && child.pid !== undefined) appendFileSync(pidFile, `${child.pid}\n`);
}

/** Starts a long-running process with stdout/stderr going to `logFile`. */
export function startProcess(cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env, detached: false });
  child.on('error', () => {
    /* reported by waitFor's timeout with the log file named */
  });
  recordPid(child);
  return child;
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not ready yet */
    }
    if (Date.now() > deadline) {
      throw new Error(`test world: ${what} did not become ready within ${timeoutMs} ms${logFile ? ` (log: ${logFile})` : ''}`);
    }
    await sleep(100);
  }
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Fails with the Debian package to install when a program is missing. */
export function requireProgram(path: string, debianPackage: string): void {
  if (!existsSync(path)) {
    throw new Error(`test world: ${path} is missing: install it with \`apt-get install -y ${debianPackage}\` (see .ci/run)`);
  }
}
