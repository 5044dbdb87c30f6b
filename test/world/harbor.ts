/**
 * A Harbor stand-in: one host that, like a real Harbor, serves the token service at
 * `/service/token`, a tiny slice of the project API at `/api/v2.0/...`, and forwards
 * everything else (`/v2/...`) to a real distribution registry. Only the project API is fake
 * (canned answers for the projects named in the options); registry traffic is the real thing.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { closeServer } from './token-service.js';

/** Options for {@link startHarborFront}. */
export interface HarborFrontOptions {
  /** Port to listen on (127.0.0.1); chosen before the registry starts because its realm names it. */
  readonly port: number;
  /** host:port of the real registry behind. */
  readonly registryHost: string;
  /** Handles `/service/token`. */
  readonly token: (req: IncomingMessage, res: ServerResponse) => void;
  /** Projects that exist. */
  readonly projects: readonly string[];
}

/** A running Harbor front. */
export interface RunningHarborFront {
  readonly host: string;
  stop(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(head ? undefined : text);
}

/** Canned Harbor project API answers (HEAD/GET projects?project_name=, GET projects?name=, GET projects/{name}). */
function projectApi(req: IncomingMessage, res: ServerResponse, url: URL, projects: readonly string[]): void {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) return json(res, 405, { errors: [{ code: 'METHOD_NOT_ALLOWED', message: 'method not allowed' }] }, false);
  const project = (name: string): object => ({ project_id: projects.indexOf(name) + 1, name, metadata: { public: 'false' }, repo_count: 0 });
  const notFound = (name: string): void => json(res, 404, { errors: [{ code: 'NOT_FOUND', message: `project ${name} not found` }] }, head);
  if (url.pathname === '/api/v2.0/projects') {
    const exact = url.searchParams.get('project_name');
    if (exact !== null) return projects.includes(exact) ? json(res, 200, [project(exact)], head) : notFound(exact);
    const name = url.searchParams.get('name');
    return json(res, 200, projects.filter((p) => name === null || p.includes(name)).map(project), head);
  }
  const m = /^\/api\/v2\.0\/projects\/([^/]+)$/.exec(url.pathname);
  if (m?.[1]) {
    const name = decodeURIComponent(m[1]);
    return projects.includes(name) ? json(res, 200, project(name), head) : notFound(name);
  }
  if (url.pathname === '/api/v2.0/systeminfo') return json(res, 200, { harbor_version: 'v2.x-imgtool-test-standin', auth_mode: 'db_auth' }, head);
  return json(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] }, head);
}

/** Forwards one request to the registry, streaming both bodies and keeping the Host header (so Location URLs name the front). */
function forward(req: IncomingMessage, res: ServerResponse, registryHost: string): void {
  const [hostname, port] = registryHost.split(':');
  const upstream = request({ hostname, port: Number(port), method: req.method, path: req.url, headers: req.headers });
  upstream.on('response', (up) => {
    res.writeHead(up.statusCode ?? 502, up.statusMessage, up.rawHeaders);
    res.flushHeaders();
    pipeline(up, res).catch(() => res.destroy());
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  pipeline(req, upstream).catch(() => upstream.destroy());
}

/** Starts the front on 127.0.0.1:`options.port`. */
export async function startHarborFront(options: HarborFrontOptions): Promise<RunningHarborFront> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://harbor.invalid');
    if (url.pathname === '/service/token') return options.token(req, res);
    if (url.pathname.startsWith('/api/')) return projectApi(req, res, url, options.projects);
    forward(req, res, options.registryHost);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  return { host: `127.0.0.1:${options.port}`, stop: () => closeServer(server) };
}
