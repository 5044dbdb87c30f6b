/** Starts CNCF distribution registries (Debian `docker-registry`) on loopback ports. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, requireProgram, startProcess, stopProcess, waitFor } from './procs.js';

/** A running registry. */
export interface RunningRegistry {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** Options for {@link startRegistry}. */
export interface RegistryOptions {
  /** Extra top-level YAML (e.g. an `auth:` block), already indented. */
  readonly authYaml?: string;
  /** `tls:` lines under `http:` (certificate/key), already indented by 2. */
  readonly tlsYaml?: string;
  /** URL scheme used for the readiness probe. */
  readonly scheme?: 'http' | 'https';
}

/** Starts one registry with its storage under `dir`. */
export async function startRegistry(dir: string, options: RegistryOptions = {}): Promise<RunningRegistry> {
  requireProgram('/usr/bin/docker-registry', 'docker-registry');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(options.tlsYaml ? [options.tlsYaml] : []),
    ...(options.authYaml ? [options.authYaml] : []),
    '',
  ].join('\n');
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, config);
  const logFile = join(dir, 'registry.log');
  const child = startProcess('/usr/bin/docker-registry', ['serve', configFile], logFile);
  const scheme = options.scheme ?? 'http';
  await waitFor(
    `registry on port ${port}`,
    async () => {
      const res = await fetch(`${scheme}://127.0.0.1:${port}/v2/`).catch(() => undefined);
      return res !== undefined && (res.status === 200 || res.status === 401);
    },
    30_000,
    logFile,
  );
  return { host: `127.0.0.1:${port}`, port, dir, logFile, stop: () => stopProcess(child) };
}
