/** Starts and stops a private dockerd for the test run (root; its own data-root, exec-root, socket). */
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { requireProgram, startProcess, stopProcess, waitFor } from './procs.js';

/** A running private daemon. */
export interface RunningDaemon {
  readonly host: string;
  readonly socketPath: string;
  readonly dir: string;
  readonly logFile: string;
  /** Process id of dockerd. */
  readonly pid: number;
  stop(): Promise<void>;
}

/** GET /_ping over a unix socket; true on 200. */
export function pingSocket(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/**
 * Starts `dockerd` with everything under `dir` (keep it short: unix socket paths are limited
 * to 107 bytes). Extra args (e.g. a TLS tcp listener) are appended.
 */
export async function startDockerd(dir: string, extraArgs: string[] = []): Promise<RunningDaemon> {
  requireProgram('/usr/sbin/dockerd', 'docker.io');
  mkdirSync(dir, { recursive: true });
  const socketPath = join(dir, 'd.sock');
  const logFile = join(dir, 'dockerd.log');
  const child: ChildProcess = startProcess(
    '/usr/sbin/dockerd',
    [
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'pid'),
      '-H', `unix://${socketPath}`,
      '--iptables=false', '--ip-masq=false', '--bridge=none',
      ...extraArgs,
    ],
    logFile,
  );
  await waitFor('dockerd', () => pingSocket(socketPath), 60_000, logFile);
  return {
    host: `unix://${socketPath}`,
    socketPath,
    dir,
    logFile,
    pid: child.pid ?? -1,
    stop: () => stopProcess(child, 20_000),
  };
}
