/**
 * vitest globalSetup for the integration project: starts the test world once per run and
 * tears it down afterwards, even when tests fail. Missing prerequisites fail the run with
 * the Debian package to install; integration tests are never skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { startDockerd, type RunningDaemon } from './dockerd.js';
import { startRegistry, type RunningRegistry } from './registry.js';
import { buildBaseImage } from './base-image.js';
import type { World } from './world.js';

const BASE_IMAGE = 'imgtool-test/busybox:1.0';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) throw new Error('test world: the integration tests start a private dockerd and must run as root');
  // Short prefix: the dockerd socket path must stay under 107 bytes.
  const tmp = mkdtempSync('/tmp/itw-');
  const stops: Array<() => Promise<void>> = [];
  const teardown = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    const docker: RunningDaemon = await startDockerd(`${tmp}/d`);
    stops.push(docker.stop);
    const open: RunningRegistry = await startRegistry(`${tmp}/r-open`);
    stops.push(open.stop);
    buildBaseImage(docker.host, `${tmp}/base`, BASE_IMAGE);
    const world: Partial<World> = {
      docker: { host: docker.host, socketPath: docker.socketPath, dir: docker.dir },
      open: { host: open.host, url: `http://${open.host}` },
      baseImage: BASE_IMAGE,
      secrets: [],
      tmp,
    };
    project.provide('world', world as World);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
