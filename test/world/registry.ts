/** Starts CNCF distribution registries (Debian `docker-registry`) on loopback ports. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort, requireProgram, startProcess, stopProcess, waitFor } from './procs.js';

/** A running registry. */
export interface RunningRegistry {
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  /** Filesystem storage root (docker/registry/v2/... lives below it). */
  readonly dataDir: string;
  readonly logFile: string;
  /** Process id of the registry. */
  readonly pid: number;
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
  /** CA that signed the registry's certificate (readiness probe over https). */
  readonly caFile?: string;
  /** Port to listen on (default: a free one). */
  readonly port?: number;
}

/** Writes an htpasswd file with one bcrypt entry (`htpasswd -B`; the password goes via stdin, not argv). */
export function writeHtpasswd(file: string, username: string, password: string): void {
  requireProgram('/usr/bin/htpasswd', 'apache2-utils');
  const line = execFileSync('htpasswd', ['-niB', username], { input: `${password}\n`, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  writeFileSync(file, line.trim() + '\n', { mode: 0o600 });
}

/** GET /v2/ status (undefined when not answering). */
function probe(scheme: 'http' | 'https', port: number, ca: string | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    const opts = { hostname: '127.0.0.1', port, path: '/v2/', method: 'GET', timeout: 2000, ...(ca ? { ca, servername: 'localhost' } : {}) };
    const req = (scheme === 'https' ? httpsRequest : httpRequest)(opts, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Starts one registry with its storage under `dir`. */
export async function startRegistry(dir: string, options: RegistryOptions = {}): Promise<RunningRegistry> {
  requireProgram('/usr/bin/docker-registry', 'docker-registry');
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort());
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
    // A fixed secret per instance: without one each start makes a random one and logs a warning.
    `  secret: ${randomBytes(16).toString('hex')}`,
    ...(options.tlsYaml ? [options.tlsYaml] : []),
    ...(options.authYaml ? [options.authYaml] : []),
    '',
  ].join('\n');
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, config);
  const logFile = join(dir, 'registry.log');
  const child = startProcess('/usr/bin/docker-registry', ['serve', configFile], logFile);
  const scheme = options.scheme ?? 'http';
  const ca = options.caFile ? readFileSync(options.caFile, 'utf8') : undefined;
  await waitFor(
    `registry on port ${port}`,
    async () => {
      const status = await probe(scheme, port, ca);
      return status === 200 || status === 401;
    },
    30_000,
    logFile,
  );
  return { host: `127.0.0.1:${port}`, port, dir, dataDir: join(dir, 'data'), logFile, pid: child.pid ?? -1, stop: () => stopProcess(child) };
}
