/** Makes the small local base image every build test starts FROM (no internet: no Docker Hub). */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireProgram } from './procs.js';

/**
 * The docker CLI the tests use as an independent peer: $IMGTOOL_TEST_DOCKER_CLI, else the
 * docker CLI 28 at /usr/local/bin/docker where installed, else Debian docker.io's /usr/bin/docker
 * (20.10; what a fresh CI machine gets from .ci/run, which has no other source for the CLI).
 */
export const DOCKER_CLI: string =
  process.env['IMGTOOL_TEST_DOCKER_CLI'] ?? ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p)) ?? '/usr/bin/docker';

/** Runs the docker CLI against `host`; returns stdout. */
export function dockerCli(host: string, args: string[], input?: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(DOCKER_CLI, ['-H', host, ...args], {
    encoding: 'utf8',
    input,
    env: { ...process.env, DOCKER_BUILDKIT: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Builds `tag` FROM scratch with Debian's busybox-static and its applet links. */
export function buildBaseImage(host: string, dir: string, tag: string): void {
  requireProgram('/bin/busybox', 'busybox-static');
  requireProgram(DOCKER_CLI, 'docker.io');
  mkdirSync(dir, { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'busybox'));
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'RUN ["/bin/busybox", "mkdir", "-p", "/usr/bin", "/sbin", "/usr/sbin", "/tmp", "/etc"]',
      'RUN ["/bin/busybox", "--install", "-s"]',
      'RUN echo "root:x:0:0:root:/root:/bin/sh" > /etc/passwd && echo "nobody:x:65534:65534:nobody:/:/bin/sh" >> /etc/passwd && echo "root:x:0:" > /etc/group && echo "nogroup:x:65534:" >> /etc/group',
      'CMD ["/bin/sh"]',
      '',
    ].join('\n'),
  );
  dockerCli(host, ['build', '-q', '-t', tag, dir]);
}

/** The docker CLI's failure: exit code and both streams (stderr says why). */
export interface DockerCliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Async form of {@link dockerCli} that never throws: use it when the CLI talks to a server in
 * the same process (a fault proxy in the test), which a synchronous call would starve.
 */
export function dockerCliAsync(host: string, args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<DockerCliResult> {
  return new Promise((resolve) => {
    const child = spawn(DOCKER_CLI, ['-H', host, ...args], { env: { ...process.env, DOCKER_BUILDKIT: '0', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: stderr + String(err) }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}
