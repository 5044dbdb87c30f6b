/** `imgtool info` in-process against the private dockerd, and against a dead socket. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDockerd, type RunningDaemon } from '../../world/dockerd.js';
import { world } from '../../world/world.js';
import { runInProcess, type InProcessResult } from '../../world/in-process.js';

/** Runs imgtool in-process with captured output, a fresh HOME and DOCKER_CONFIG. */
function imgtool(argv: string[], env: Record<string, string>): Promise<InProcessResult> {
  return runInProcess(argv, {
    label: 'info-cli',
    env: { PATH: process.env['PATH'] ?? '', HOME: mkdtempSync(join(world().tmp, 'h-')), DOCKER_CONFIG: mkdtempSync(join(world().tmp, 'c-')), ...env },
    cwd: world().tmp,
  });
}

describe('imgtool info', () => {
  it('--json reports the endpoint, how it was chosen, API 1.41 negotiated and the builder version', async () => {
    const w = world();
    const r = await imgtool(['info', '--json'], { DOCKER_HOST: w.docker.host });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({
      endpoint: w.docker.host,
      chosenBy: 'DOCKER_HOST',
      source: 'DOCKER_HOST',
      context: 'default',
      tls: false,
      apiVersion: '1.41',
      apiVersionSource: 'negotiated',
      serverApiVersion: '1.41',
      os: 'linux',
    });
    expect(info['serverVersion']).toMatch(/^20\.10\./);
    // The world's dockerd has no `features.buildkit` in daemon.json, so /_ping announces no
    // Builder-Version and POST /build defaults to the classic builder ("1").
    expect(info).toMatchObject({ builderVersion: '1', builderVersionSource: 'api-default' });
    expect(typeof info['arch']).toBe('string');
    expect(typeof info['storageDriver']).toBe('string');
  });

  it('prints a readable table with -H, over TLS too', async () => {
    const t = world().dockerTls;
    const r = await imgtool(['-H', t.host, '--tlsverify', 'info'], { DOCKER_CERT_PATH: t.certPath });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Endpoint: +${t.host.replace(/\./g, '\\.')}$`, 'm'));
    expect(r.stdout).toMatch(/^Chosen by: +-H\/--host$/m);
    expect(r.stdout).toMatch(/^TLS: +yes$/m);
    expect(r.stdout).toMatch(/^API version: +1\.41 \(negotiated/m);
  });

  it('DOCKER_API_VERSION shows as pinned', async () => {
    const r = await imgtool(['info', '--json'], { DOCKER_HOST: world().docker.host, DOCKER_API_VERSION: '1.40' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ apiVersion: '1.40', apiVersionSource: 'DOCKER_API_VERSION' });
  });

  it('--debug logs the requests on stderr', async () => {
    const r = await imgtool(['--debug', 'info', '--json'], { DOCKER_HOST: world().docker.host });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/debug: engine: HEAD \/_ping -> 200/);
    expect(r.stderr).toMatch(/debug: engine: GET \/v1\.41\/version -> 200/);
  });

  it('a dead socket: exit 1, the endpoint and how it was chosen named, and how to choose another', async () => {
    const dead = `unix://${join(world().tmp, 'no-such-daemon.sock')}`;
    const r = await imgtool(['info'], { DOCKER_HOST: dead });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`cannot connect to the Docker Engine at ${dead} (chosen by DOCKER_HOST)`);
    expect(r.stderr).toMatch(/hint: .*-H\/--host, DOCKER_HOST or --context/);
  });

  it('an invalid DOCKER_HOST is a usage error (exit 2) naming the value', async () => {
    const r = await imgtool(['info'], { DOCKER_HOST: 'udp://x:1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DOCKER_HOST: "udp://x:1" is not a valid daemon address');
  });
});

describe('imgtool info with a daemon that announces its builder', () => {
  // The world's daemons announce no Builder-Version; dockerd does when daemon.json sets
  // features.buildkit, so this test starts one more private dockerd configured that way.
  let daemon: RunningDaemon | undefined;
  beforeAll(async () => {
    const dir = mkdtempSync(join(world().tmp, 'bk'));
    writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ features: { buildkit: true } }));
    daemon = await startDockerd(join(dir, 'd'), ['--config-file', join(dir, 'daemon.json')]);
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  it('reports Builder-Version 2 (BuildKit) from /_ping', async () => {
    const host = daemon?.host ?? '';
    const json = await imgtool(['-H', host, 'info', '--json'], {});
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ endpoint: host, apiVersion: '1.41', builderVersion: '2', builderVersionSource: 'daemon' });
    const table = await imgtool(['-H', host, 'info'], {});
    expect(table.stdout).toMatch(/^Builder version: +2 \(BuildKit\)$/m);
  });
});
