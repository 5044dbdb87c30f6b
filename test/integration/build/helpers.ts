/** Helpers for the build integration tests: imgtool in-process, fixtures, a stand-in engine. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { world } from '../../world/world.js';
import { runInProcess, type InProcessResult } from '../../world/in-process.js';

/** What one in-process run of imgtool printed. */
export type RunResult = InProcessResult;

/** Runs imgtool in-process with captured output (not a TTY), with a fresh HOME and DOCKER_CONFIG. */
export async function imgtool(
  argv: string[],
  opts: { env?: Record<string, string>; cwd?: string; stdin?: string; signal?: AbortSignal } = {},
): Promise<RunResult> {
  return runInProcess(argv, {
    label: 'build/helpers',
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: mkdtempSync(join(world().tmp, 'h-')),
      DOCKER_CONFIG: mkdtempSync(join(world().tmp, 'c-')),
      ...opts.env,
    },
    cwd: opts.cwd ?? world().tmp,
    ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
}

/** Writes `files` (path -> content) under a fresh directory in the world's tmp; returns it. */
export function fixture(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(world().tmp, 'ctx-'));
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
  return dir;
}

/** A request the stand-in engine received. */
export interface StandInRequest {
  readonly method: string;
  readonly url: string;
  readonly bodyBytes: number;
  readonly body?: Buffer;
}

/**
 * A stand-in for the Docker Engine on a unix socket (not a real daemon): it answers /_ping and
 * /version like dockerd 20.10, says no image exists, counts (and keeps) the body of
 * POST /build and answers with a classic-builder success. It exists to measure what a client
 * sends, which no real daemon reports.
 */
export interface StandInEngine {
  readonly host: string;
  readonly requests: StandInRequest[];
  close(): Promise<void>;
}

/** Starts a {@link StandInEngine} on a fresh socket under the world's tmp. */
export async function startStandInEngine(options: { keepBodies?: boolean } = {}): Promise<StandInEngine> {
  const dir = mkdtempSync(join(world().tmp, 'si-'));
  const socketPath = join(dir, 's.sock');
  const requests: StandInRequest[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const parts: Buffer[] = [];
    let bytes = 0;
    req.on('data', (d: Buffer) => {
      bytes += d.length;
      if (options.keepBodies) parts.push(d);
    });
    req.on('end', () => {
      const url = req.url ?? '';
      requests.push({ method: req.method ?? '', url, bodyBytes: bytes, ...(options.keepBodies ? { body: Buffer.concat(parts) } : {}) });
      const headers = { 'Api-Version': '1.41', 'Server': 'Docker/20.10.0 (linux)', 'Ostype': 'linux', 'Docker-Experimental': 'false' };
      if (url.endsWith('/_ping')) {
        res.writeHead(200, { ...headers, 'Content-Type': 'text/plain' });
        res.end(req.method === 'HEAD' ? undefined : 'OK');
      } else if (/\/version$/.test(url)) {
        res.writeHead(200, { ...headers, 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ Version: '20.10.0', ApiVersion: '1.41', MinAPIVersion: '1.12', Os: 'linux', Arch: 'amd64' }));
      } else if (/\/build(\?|$)/.test(url) && req.method === 'POST') {
        res.writeHead(200, { ...headers, 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify({ aux: { ID: `sha256:${'0'.repeat(64)}` } })}\r\n${JSON.stringify({ stream: 'Successfully built 000000000000\n' })}\r\n`);
      } else {
        res.writeHead(404, { ...headers, 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message: `stand-in engine: no such object: ${url}` }));
      }
    });
  };
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    host: `unix://${socketPath}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
