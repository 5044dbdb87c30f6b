/** Helpers shared by the benchmarks (plain JS: they run without a build step of their own). */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Runs the docker CLI 28 against the daemon at `host` (classic builder, as the tests do). */
export function dockerOn(host, args, opts = {}) {
  return execFileSync('/usr/local/bin/docker', ['-H', host, ...args], { encoding: 'utf8', env: { ...process.env, DOCKER_BUILDKIT: '0' }, maxBuffer: 1 << 26, ...opts });
}

/** The median of a list of numbers (upper median for even counts). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
